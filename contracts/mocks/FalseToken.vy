# pragma version ~=0.4.3
"""
@title ERC-20 that reports failure (test double)
@notice A minimal ERC-20 (EIP-20) whose `transfer` and `transferFrom` return false and move nothing while
        `refuse` is set, like the tokens that signal failure instead of reverting. Anyone may mint.
"""


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
refuse: public(bool)


@external
def mint(owner: address, amount: uint256):
    """
    @notice Create `amount` tokens for `owner` (test double: anyone may mint).
    @param owner The account the tokens come from (or are minted to).
    @param amount Token units.
    """
    self.balanceOf[owner] += amount
    self.totalSupply += amount
    log Transfer(sender=empty(address), receiver=owner, value=amount)


@external
def set_refuse(refuse: bool):
    """
    @notice From now on `transfer` and `transferFrom` return `not refuse`.
    @param refuse True to make transfers return false.
    """
    self.refuse = refuse


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
    @notice Move `amount` to `to`; returns false (moving nothing) while refusing.
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
    if self.refuse:
        return False
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` from `owner` to `to` within the caller's allowance; returns false (moving
            nothing) while refusing.
    @param owner The account the tokens come from (or are minted to).
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
    if self.refuse:
        return False
    self.allowance[owner][msg.sender] -= amount
    self._transfer(owner, to, amount)
    return True


@internal
def _transfer(owner: address, to: address, amount: uint256):
    """
    @notice Move `amount` from `owner` to `to` and log Transfer (less the fee, burnt, where the token takes one).
    @param owner The account the tokens come from.
    @param to The receiver.
    @param amount Token units.
    """
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)
