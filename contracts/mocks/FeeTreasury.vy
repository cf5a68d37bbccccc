# pragma version ~=0.4.3
"""
@title Fee treasury (test double)
@notice A contract account such as a multisig or a smart wallet: it books every payment it receives,
        which needs more than the 2,300 gas stipend of Vyper's `send`.
"""


interface IMarket:
    def withdraw(payment_token: address): nonpayable


received: public(uint256)


event Received:
    sender: indexed(address)
    amount: uint256


@external
@payable
def __default__():
    """
    @notice Book an incoming payment.
    """
    self.received += msg.value
    log Received(sender=msg.sender, amount=msg.value)


@external
def collect(market: address, payment_token: address):
    """
    @notice Pull what `market` owes this treasury in `payment_token` (empty(address) = ether).
    @param market The sale contract (Market or UseRights) that owes the treasury.
    @param payment_token The ERC-20, or empty(address) for ether.
    """
    extcall IMarket(market).withdraw(payment_token)
