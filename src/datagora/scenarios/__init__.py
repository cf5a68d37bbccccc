"""The stories Datagora is built for, as plain functions without printing: :mod:`~datagora.scenarios.trade` (one
data trade end to end) and :mod:`~datagora.scenarios.market` (every market scenario: sales, resale, use-rights,
negotiation, auction, disputes, deadlines). Each returns typed records (:mod:`~datagora.scenarios.records`) that
the ``datagora demo`` commands render, the integration tests assert and the gas benchmarks measure. Scenarios
call services only."""
