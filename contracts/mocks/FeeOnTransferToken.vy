# pragma version ~=0.4.3
"""
@title Fee-on-transfer ERC-20 (test double)
@notice A minimal ERC-20 (EIP-20) that burns 1 % of every transfer, rounded up, so the receiver gets less
        than was sent, like the deflationary and "tax" tokens escrow contracts must refuse. Anyone may mint.
"""


FEE_BPS: public(constant(uint256)) = 100


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
    @notice Move `amount` to `to`, of which `to` receives `amount` less the 1 % fee.
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` from `owner` to `to` within the caller's allowance, less the 1 % fee.
    @param owner The account the tokens come from (or are minted to).
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
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
    fee: uint256 = (amount * FEE_BPS + 9_999) // 10_000
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    self.totalSupply -= fee
    log Transfer(sender=owner, receiver=to, value=amount - fee)
