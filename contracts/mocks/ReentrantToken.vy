# pragma version ~=0.4.3
"""
@title Re-entrant ERC-20 (test double)
@notice A minimal ERC-20 (EIP-20) with a transfer hook, like ERC-777 or a malicious token: once armed,
        every `transfer` and `transferFrom` calls back into a target (the Market) with a fixed calldata
        after moving the balances, and records whether the call back succeeded. Anyone may mint and arm.
"""


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


event ReentryAttempted:
    selector: bytes4
    success: bool


balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
target: public(address)
payload: public(Bytes[324])
armed: public(bool)
attempts: public(uint256)
successes: public(uint256)


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
def arm(target: address, payload: Bytes[324]):
    """
    @notice Call `target` with `payload` from every later transfer (until `disarm`).
    @param target The contract called back.
    @param payload ABI-encoded call (selector and arguments) sent to `target`.
    """
    self.target = target
    self.payload = payload
    self.armed = True


@external
def disarm():
    """
    @notice Stop calling back.
    """
    self.armed = False


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
    @notice Move `amount` to `to`, then call back into the target when armed.
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
    self._transfer(msg.sender, to, amount)
    self._hook()
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` from `owner` to `to` within the caller's allowance, then call back into the
            target when armed.
    @param owner The account the tokens come from (or are minted to).
    @param to The receiver.
    @param amount Token units.
    @return Whether the transfer happened.
    """
    self.allowance[owner][msg.sender] -= amount
    self._transfer(owner, to, amount)
    self._hook()
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


@internal
def _hook():
    """
    @notice When armed, call the target once with the payload (no recursion) and count the attempt and its
            success.
    """
    if not self.armed:
        return
    self.armed = False  # one call back per transfer, no recursion through nested transfers
    success: bool = raw_call(self.target, self.payload, revert_on_failure=False)
    self.armed = True
    self.attempts += 1
    if success:
        self.successes += 1
    log ReentryAttempted(selector=convert(slice(self.payload, 0, 4), bytes4), success=success)
