"""Binding of ``Consent.vy``: consent per data category, consumer organisation and W3C DPV purpose, with a
reward per access paid in RewardToken from the consumer's pre-funded deposit (Shrestha et al.).

Categories and purposes are passed as text (``"purchase-history"``, ``"https://w3id.org/dpv#Marketing"``); the
contract stores and compares their keccak256 (:func:`term_hash`)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import NotFoundError
from datagora.domain.models import AccessRefusal, Consent, ConsentState, TxResult


def term_hash(term: str) -> bytes:
    """keccak256 of a data category or a DPV purpose IRI (UTF-8), as ``Consent`` stores it (32 bytes)."""
    return bytes(Web3.keccak(text=term))


class ConsentBinding(Binding):
    """Typed calls of the Consent contract. Amounts in RewardToken units (18 decimals), times in Unix seconds."""

    NAME = "Consent"

    def grant(
        self, sender: LocalAccount, category: str, organisation_id: int, purpose: str, expiry: int, reward: int
    ) -> tuple[int, TxResult]:
        """The sender (the data subject) consents; returns the consent id. Reverts (``TransactionReverted``)
        with "consent: already granted" while the same consent is live, and for an empty category or purpose,
        organisation 0, or an expiry not in the future."""
        res = self._send(sender, "grant", category, organisation_id, purpose, expiry, reward)
        return int(next(e for e in res.events if e.name == "ConsentGranted").args["consent_id"]), res

    def revoke(self, sender: LocalAccount, consent_id: int) -> TxResult:
        """The data subject withdraws a consent."""
        return self._send(sender, "revoke", consent_id)

    def deposit(self, sender: LocalAccount, amount: int) -> TxResult:
        """Pre-fund rewards: pull ``amount`` RewardToken from the sender (approve the Consent contract first)."""
        return self._send(sender, "deposit", amount)

    def withdraw_deposit(self, sender: LocalAccount, amount: int) -> TxResult:
        """Take back unused deposit; it becomes withdrawable with :meth:`withdraw`."""
        return self._send(sender, "withdraw_deposit", amount)

    def withdraw(self, sender: LocalAccount) -> TxResult:
        """Pay out the RewardTokens owed to the sender (rewards earned, deposit taken back)."""
        return self._send(sender, "withdraw", self.reward_token())

    def record_access(
        self, sender: LocalAccount, consent_id: int, category: str, purpose: str, item_id: int
    ) -> TxResult:
        """Record one access to stream item ``item_id`` and pay its reward; reverts without a valid consent
        ("consent: wrong purpose", "consent: expired", "consent: revoked", "consent: not the consumer", ...)."""
        return self._send(sender, "record_access", consent_id, term_hash(category), term_hash(purpose), item_id)

    def request_access(
        self, sender: LocalAccount, consent_id: int, category: str, purpose: str, item_id: int
    ) -> tuple[AccessRefusal | None, TxResult]:
        """Ask for an access: recorded and paid with a valid consent (returns ``None``), otherwise the refusal
        is recorded on chain and its reason returned."""
        res = self._send(sender, "request_access", consent_id, term_hash(category), term_hash(purpose), item_id)
        refused = [e for e in res.events if e.name == "AccessRefused"]
        return (AccessRefusal(int(refused[0].args["reason"])) if refused else None), res

    def check(self, consent_id: int, consumer: str, category: str, purpose: str, item_id: int) -> AccessRefusal | None:
        """Whether ``consumer`` may access ``item_id`` under the consent now: ``None`` or the refusal reason."""
        code = int(
            self._view(
                "check",
                consent_id,
                Web3.to_checksum_address(consumer),
                term_hash(category),
                term_hash(purpose),
                item_id,
            )
        )
        return AccessRefusal(code) if code else None

    def consent(self, consent_id: int) -> Consent:
        """The consent; :class:`NotFoundError` when there is none."""
        subject, organisation_id, category_hash, purpose_hash, expiry, reward, state = self._view("consent", consent_id)
        if int(state) == 0:
            raise NotFoundError(f"no consent {consent_id}")
        return Consent(
            int(consent_id),
            str(subject),
            int(organisation_id),
            bytes(category_hash),
            bytes(purpose_hash),
            int(expiry),
            int(reward),
            ConsentState(int(state)),
        )

    def latest_consent(self, subject: str, category: str, organisation_id: int, purpose: str) -> int:
        """The last consent ``subject`` granted for this category, organisation and purpose (0 when none)."""
        return int(
            self._view(
                "latest_consent",
                Web3.to_checksum_address(subject),
                term_hash(category),
                organisation_id,
                term_hash(purpose),
            )
        )

    def deposit_of(self, consumer: str) -> int:
        """The consumer's unused deposit."""
        return int(self._view("deposits", Web3.to_checksum_address(consumer)))

    def pending(self, account: str) -> int:
        """RewardTokens ``account`` may withdraw."""
        return int(self._view("pending_withdrawals", Web3.to_checksum_address(account), self.reward_token()))

    def reward_token(self) -> str:
        """The RewardToken's address."""
        return str(self._view("REWARD_TOKEN"))


DEPLOYABLE = Deployable(
    "Consent",
    deployer="platform",
    needs=("Registry", "Streams", "RewardToken"),
    args=lambda addresses, options: (addresses["Registry"], addresses["Streams"], addresses["RewardToken"]),
    binding=ConsentBinding,
)
