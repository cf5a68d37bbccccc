"""Reward tokens earned for consented uses of a customer's data, and what a consumer has pre-funded (Shrestha,
Joshi, Vassileva: the customer is rewarded in tokens for each use; ``contracts/Consent.vy`` and
``contracts/RewardToken.vy``, an EIP-20 token).

Each recorded access moves the reward from the consumer's deposit in ``Consent`` to what the customer may
withdraw (a pull payment). :func:`withdraw_rewards` pays that out to the customer's own account, where the tokens
are an ordinary ERC-20 balance the customer may send on (:func:`send_tokens`). A consumer takes back unused
deposit with :func:`take_back_deposit`. Amounts are RewardToken units (18 decimals; ``consent.dgr`` writes them
as DGR).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import InsufficientFunds, ValidationError
from datagora.domain.models import TxResult
from datagora.services.consent import dgr


@dataclass(frozen=True)
class Rewards:
    """An account's reward tokens: ``balance`` held in its own account (ERC-20), ``pending`` owed by the Consent
    contract (rewards earned and deposit taken back, to withdraw), ``deposit`` pre-funded for paying customers
    (consumers). RewardToken units."""

    account: str
    balance: int
    pending: int
    deposit: int


def rewards_of(contracts: Contracts, account: str) -> Rewards:
    """What ``account`` holds, may withdraw and has deposited, read from the chain."""
    who = checksum_address(account)
    return Rewards(
        who,
        contracts.reward_token.balance(who),
        contracts.consent.pending(who),
        contracts.consent.deposit_of(who),
    )


def withdraw_rewards(contracts: Contracts, account: LocalAccount) -> tuple[int, TxResult]:
    """Pay out everything the Consent contract owes ``account`` to its own token balance. Returns the units paid
    and the transaction. ``ValidationError`` when nothing is owed (nothing is sent)."""
    owed = contracts.consent.pending(str(account.address))
    if owed == 0:
        raise ValidationError("there are no reward tokens to withdraw yet: nothing was sent")
    return owed, contracts.consent.withdraw(account)


def send_tokens(contracts: Contracts, sender: LocalAccount, to: str, amount: int) -> TxResult:
    """Send ``amount`` reward tokens from the sender's own balance to ``to`` (EIP-20 ``transfer``).

    Raises:
        ValidationError: a malformed address, sending to oneself, an amount of 0.
        InsufficientFunds: more than the sender's balance (nothing is sent).
    """
    try:
        recipient = checksum_address(to)
    except (ValueError, ValidationError):
        raise ValidationError(f"{to[:60]!r} is not an account address (0x followed by 40 hexadecimal digits)") from None
    if recipient.lower() == str(sender.address).lower():
        raise ValidationError("that is your own account: nothing was sent")
    if amount <= 0:
        raise ValidationError("send more than 0 DGR")
    held = contracts.reward_token.balance(str(sender.address))
    if amount > held:
        raise InsufficientFunds(
            f"your account holds {dgr(held)}, less than the {dgr(amount)} to send: nothing was sent"
        )
    return contracts.reward_token.transfer(sender, recipient, amount)


def take_back_deposit(contracts: Contracts, consumer: LocalAccount, amount: int) -> list[TxResult]:
    """A consumer takes back ``amount`` of its unused deposit to its own token balance (``withdraw_deposit`` then
    ``withdraw``).

    Raises:
        ValidationError: an amount of 0.
        InsufficientFunds: more than the unused deposit (nothing is sent).
    """
    if amount <= 0:
        raise ValidationError("take back more than 0 DGR")
    held = contracts.consent.deposit_of(str(consumer.address))
    if amount > held:
        raise InsufficientFunds(
            f"your unused deposit is {dgr(held)}, less than the {dgr(amount)} asked for: nothing was sent"
        )
    return [contracts.consent.withdraw_deposit(consumer, amount), contracts.consent.withdraw(consumer)]
