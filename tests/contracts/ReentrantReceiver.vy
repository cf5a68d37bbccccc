# pragma version ~=0.4.3
"""
@title Reentrant receiver (test double, never deployed for real)
@notice Whenever it is paid, it calls straight back into the Market (withdraw, refund, confirm or
        release) before returning. The tests install its runtime code at a registered buyer's address,
        as an EIP-7702 delegation would, because the Registry only admits accounts whose address is
        derived from a public key.
@dev Only immutables: the code is copied to another address, where storage would be empty.
"""


TARGET_WITHDRAW: constant(uint8) = 0
TARGET_REFUND: constant(uint8) = 1
TARGET_CONFIRM: constant(uint8) = 2
TARGET_RELEASE: constant(uint8) = 3

MARKET: public(immutable(address))
TARGET: public(immutable(uint8))
ORDER_ID: public(immutable(uint256))
STRICT: public(immutable(bool))


event ReentryAttempted:
    target: uint8
    success: bool


@deploy
def __init__(market: address, target: uint8, order_id: uint256, strict: bool):
    """
    @param market The Market to re-enter.
    @param target Which function to call back (TARGET_* constants).
    @param order_id The order passed to refund / confirm / release.
    @param strict Revert the incoming payment when the re-entry fails.
    """
    MARKET = market
    TARGET = target
    ORDER_ID = order_id
    STRICT = strict


@external
@payable
def __default__():
    """
    @notice Re-enter the market on every payment received.
    """
    data: Bytes[36] = b""
    if TARGET == TARGET_WITHDRAW:
        data = concat(method_id("withdraw()"), b"")
    elif TARGET == TARGET_REFUND:
        data = concat(method_id("refund(uint256)"), convert(ORDER_ID, bytes32))
    elif TARGET == TARGET_CONFIRM:
        data = concat(method_id("confirm(uint256)"), convert(ORDER_ID, bytes32))
    else:
        data = concat(method_id("release(uint256)"), convert(ORDER_ID, bytes32))
    success: bool = raw_call(MARKET, data, revert_on_failure=False)
    assert success or not STRICT, "attacker: re-entry failed"
    log ReentryAttempted(target=TARGET, success=success)
