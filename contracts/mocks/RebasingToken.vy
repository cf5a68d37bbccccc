# pragma version ~=0.4.3
"""
@title Rebasing ERC-20 (test double)
@notice A minimal ERC-20 (EIP-20) whose balances are shares times a supply
        index that anyone may change (`rebase`), like stETH or AMPL: a
        holder's balance moves without any transfer. It shows what
        docs/market.md says of such tokens: a negative rebase leaves the
        Market holding less than it owes. Anyone may mint.
"""


ONE: constant(uint256) = 10**18


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


shares: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
index: public(uint256)


@deploy
def __init__():
    """
    @notice Start at an index of 1 (one share = one token unit).
    """
    self.index = ONE


@view
@external
def balanceOf(owner: address) -> uint256:
    """
    @notice The balance of `owner`: its shares at the current index.
    @param owner The account.
    @return Token units.
    """
    return self.shares[owner] * self.index // ONE


@external
def rebase(new_index: uint256):
    """
    @notice Change every balance at once (test double: anyone may).
    @param new_index Token units per share, times 10**18.
    """
    assert new_index > 0
    self.index = new_index


@external
def mint(owner: address, amount: uint256):
    """
    @notice Create `amount` tokens for `owner` (test double: anyone may mint).
    @param owner The receiver.
    @param amount Token units.
    """
    self.shares[owner] += amount * ONE // self.index
    log Transfer(sender=empty(address), receiver=owner, value=amount)


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Let `spender` move up to `amount` of the caller's tokens.
    @param spender The account allowed to transfer.
    @param amount Token units.
    @return True.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` to `to`.
    @param to The receiver.
    @param amount Token units.
    @return True (reverts when the balance is short).
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` from `owner` to `to` within the caller's allowance.
    @param owner The account the tokens come from.
    @param to The receiver.
    @param amount Token units.
    @return True (reverts when the balance or allowance is short).
    """
    self.allowance[owner][msg.sender] -= amount
    self._transfer(owner, to, amount)
    return True


@internal
def _transfer(owner: address, to: address, amount: uint256):
    """
    @notice Move the shares worth `amount` from `owner` to `to` and log Transfer.
    @param owner The account the tokens come from.
    @param to The receiver.
    @param amount Token units.
    """
    moved: uint256 = amount * ONE // self.index
    self.shares[owner] -= moved
    self.shares[to] += moved
    log Transfer(sender=owner, receiver=to, value=amount)
