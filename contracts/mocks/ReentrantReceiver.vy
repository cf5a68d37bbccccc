# pragma version ~=0.4.3
"""
@title Reentrant receiver (test double, never deployed for real)
@notice Whenever it receives ether from the Market, it calls straight back into the Market with a fixed
        calldata (withdraw, confirm, refund, release, bid, settle, cancel, resolve, ...) and, optionally,
        a value, before returning. The tests install its runtime code at a registered buyer's or seller's
        address, as an EIP-7702 delegation would, because the Registry only admits accounts whose address
        is derived from a public key; deployed as is, it is a contract fee recipient (the Market owner).
@dev Only immutables: the code is copied to another address, where storage would be empty.
"""


MARKET: public(immutable(address))
PAYLOAD: public(immutable(Bytes[324]))
CALL_VALUE: public(immutable(uint256))
STRICT: public(immutable(bool))


event ReentryAttempted:
    selector: bytes4
    success: bool


@deploy
def __init__(market: address, payload: Bytes[324], call_value: uint256, strict: bool):
    """
    @notice Fix the contract to re-enter, the call, its value, and whether a failed re-entry reverts the payment.
    @param market The Market to re-enter.
    @param payload ABI-encoded call (selector and arguments) sent back to the Market.
    @param call_value Wei sent along with the call back (e.g. a bid paid with the money just received).
    @param strict Revert the incoming payment when the re-entry fails.
    """
    MARKET = market
    PAYLOAD = payload
    CALL_VALUE = call_value
    STRICT = strict


@external
@payable
def __default__():
    """
    @notice Re-enter the Market on every payment it makes; accept anything else silently.
    """
    if msg.sender != MARKET:
        return
    success: bool = raw_call(MARKET, PAYLOAD, value=CALL_VALUE, revert_on_failure=False)
    assert success or not STRICT, "attacker: re-entry failed"
    log ReentryAttempted(selector=convert(slice(PAYLOAD, 0, 4), bytes4), success=success)
