# pragma version ~=0.4.3
"""
@title Escrow, collateral and pull payments
@notice The money side of every Datagora sale contract: payments and
        collateral deposits (ether or any ERC-20) are taken into escrow,
        released to what each party is owed when a sale settles, and paid
        out only when the party calls `withdraw` (pull payments).
@dev A deployable `initializes:` this module and exports `withdraw`,
     `escrowed` and `pending_withdrawals`. Invariant, per payment token
     (empty(address) = ether): the contract's balance equals `escrowed`
     plus the sum of `pending_withdrawals` over all accounts. Money only
     leaves through `withdraw`. The caller checks `msg.value` against
     `_ether_due` with its own error message before `_pull`, so each
     deployable keeps its "module: reason" message for a wrong value.
     ERC-20s whose transfer delivers less than asked (fee-on-transfer,
     rebasing) are refused: they would break the invariant.
"""

from ethereum.ercs import IERC20


event Withdrawn:
    account: indexed(address)
    payment_token: indexed(address)
    amount: uint256


# What every account is owed, per payment token (pull payments).
pending_withdrawals: public(HashMap[address, HashMap[address, uint256]])
# What is held for open listings, offers, bids and orders, per payment token.
escrowed: public(HashMap[address, uint256])


@external
@nonreentrant
def withdraw(payment_token: address):
    """
    @notice Pay out everything owed to the caller in `payment_token`
            (empty(address) = ether). Pull payment; all gas is forwarded so
            multisigs and smart wallets can receive.
    @dev Effects before the transfer, under the contract's reentrancy lock.
         Reverts "escrow: nothing to withdraw" when nothing is owed and
         "escrow: token transfer failed" when the token returns false.
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    """
    amount: uint256 = self.pending_withdrawals[msg.sender][payment_token]
    assert amount > 0, "escrow: nothing to withdraw"
    self.pending_withdrawals[msg.sender][payment_token] = 0
    log Withdrawn(account=msg.sender, payment_token=payment_token, amount=amount)
    if payment_token == empty(address):
        raw_call(msg.sender, b"", value=amount)
    else:
        assert extcall IERC20(payment_token).transfer(msg.sender, amount, default_return_value=True), "escrow: token transfer failed"


@internal
@view
def _check_token(payment_token: address):
    """
    @notice Refuse a payment token that is not a contract (ether is
            empty(address) and always accepted).
    @dev Reverts "escrow: token not a contract".
    @param payment_token The ERC-20 contract, or empty(address).
    """
    if payment_token != empty(address):
        assert payment_token.is_contract, "escrow: token not a contract"


@internal
@pure
def _ether_due(payment_token: address, amount: uint256) -> uint256:
    """
    @notice The `msg.value` that must come with a payment of `amount`:
            the amount itself in ether, nothing for an ERC-20 (pulled with
            transferFrom instead).
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    @param amount The payment, in the token's smallest unit (wei).
    @return The ether (wei) the caller must send.
    """
    if payment_token == empty(address):
        return amount
    return 0


@internal
def _pull(payment_token: address, payer: address, amount: uint256):
    """
    @notice Take `amount` (a payment or a collateral deposit) into escrow:
            ether has already arrived as msg.value (checked by the caller
            against `_ether_due`), an ERC-20 is pulled from `payer` with
            transferFrom after its approve.
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    @param payer The account the ERC-20 is pulled from.
    @param amount The amount, in the token's smallest unit (wei).
    """
    if payment_token == empty(address):
        self.escrowed[empty(address)] += amount
    else:
        self._pull_token(payment_token, payer, amount)


@internal
def _pull_token(payment_token: address, payer: address, amount: uint256):
    """
    @notice Pull `amount` of an ERC-20 from `payer` into escrow and check
            that all of it arrived.
    @dev Reverts "escrow: token transfer failed" when transferFrom returns
         false and "escrow: token transfer short" when the balance grew by
         less than `amount` (fee-on-transfer, rebasing). No call for 0.
    @param payment_token The ERC-20 contract.
    @param payer The account that approved this contract.
    @param amount The amount, in the token's smallest unit.
    """
    if amount == 0:
        return
    before: uint256 = staticcall IERC20(payment_token).balanceOf(self)
    assert extcall IERC20(payment_token).transferFrom(payer, self, amount, default_return_value=True), "escrow: token transfer failed"
    # Fee-on-transfer and rebasing tokens would break the escrow accounting: refuse them.
    assert staticcall IERC20(payment_token).balanceOf(self) == before + amount, "escrow: token transfer short"
    self.escrowed[payment_token] += amount


@internal
def _release(account: address, payment_token: address, amount: uint256):
    """
    @notice Move `amount` out of escrow into what `account` may withdraw.
    @param account The party owed the money.
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    @param amount The amount, in the token's smallest unit (wei); 0 is a
           no-op.
    """
    if amount == 0:
        return
    self.escrowed[payment_token] -= amount
    self.pending_withdrawals[account][payment_token] += amount


@internal
def _credit(account: address, payment_token: address, amount: uint256):
    """
    @notice Owe `account` money that arrived in this call and was never
            escrowed (the management fee, paid in ether when listing).
    @param account The party owed the money.
    @param payment_token The ERC-20 contract, or empty(address) for ether.
    @param amount The amount, in the token's smallest unit (wei).
    """
    self.pending_withdrawals[account][payment_token] += amount
