"""One binding module per Datagora contract (typed calls of its functions, and how it is deployed), gathered
behind the :class:`datagora.chain.contracts.Contracts` facade."""
