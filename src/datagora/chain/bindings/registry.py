"""Binding of ``Registry.vy``: organisations, their audit status, customers and encryption keys (EntDSM
Algorithms 1–2)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import NotFoundError
from datagora.domain.models import AccountKind, Organisation, OrgStatus, TxResult


class RegistryBinding(Binding):
    """Typed calls of the Registry."""

    NAME = "Registry"

    def register_organisation(self, sender: LocalAccount, name: str, public_key: bytes) -> tuple[int, TxResult]:
        """EntDSM Algorithm 1. Returns the organisation id; joining an existing organisation leaves the sender
        pending until a member approves it (:meth:`approve_member`)."""
        res = self._send(sender, "register_organisation", name, public_key)
        joined = [e for e in res.events if e.name in ("MemberJoined", "MembershipRequested")]
        return int(joined[0].args["organisation_id"]), res

    def approve_member(self, approver: LocalAccount, account: str) -> TxResult:
        """A member of the organisation (or the supervisor) accepts ``account``'s membership request."""
        return self._send(approver, "approve_member", Web3.to_checksum_address(account))

    def withdraw_request(self, sender: LocalAccount) -> TxResult:
        """The sender withdraws its pending membership request and is unregistered again."""
        return self._send(sender, "withdraw_request")

    def reject_member(self, rejecter: LocalAccount, account: str) -> TxResult:
        """A member of the organisation (or the supervisor) refuses ``account``'s membership request."""
        return self._send(rejecter, "reject_member", Web3.to_checksum_address(account))

    def register_customer(self, sender: LocalAccount, public_key: bytes) -> TxResult:
        """Register the sender as a customer (an individual) with its 64-byte encryption public key."""
        return self._send(sender, "register_customer", public_key)

    def set_status(self, supervisor: LocalAccount, organisation_id: int, status: OrgStatus) -> TxResult:
        """EntDSM Algorithm 2 (supervisor only)."""
        return self._send(supervisor, "set_status", organisation_id, int(status))

    def supervisor(self) -> str:
        """The supervisor's (regulator's) account: the Registry's owner."""
        return str(self._view("owner"))

    def organisation(self, organisation_id: int) -> Organisation:
        """The organisation ``organisation_id``; :class:`NotFoundError` when none exists."""
        name, status, members = self._view("organisations", organisation_id)
        if status == OrgStatus.NONE:
            raise NotFoundError(f"unknown organisation id {organisation_id}")
        return Organisation(organisation_id, name, OrgStatus(status), int(members))

    def organisation_count(self) -> int:
        """How many organisations were ever registered (their ids are 1 to this number)."""
        return int(self._view("organisation_count"))

    def organisation_id(self, name: str) -> int:
        """Id of the organisation called ``name``; :class:`NotFoundError` when none is."""
        org_id = int(self._view("organisation_id_of_name", name))
        if org_id == 0:
            raise NotFoundError(f"unknown organisation {name!r}")
        return org_id

    def organisation_of(self, account: str) -> int:
        """The organisation id of ``account`` (0 when it belongs to none)."""
        return int(self._view("organisation_of", Web3.to_checksum_address(account)))

    def account_kind(self, account: str) -> AccountKind:
        return AccountKind(self._view("account_kind", Web3.to_checksum_address(account)))

    def status_of(self, account: str) -> OrgStatus:
        """The audit status of ``account``'s organisation."""
        return OrgStatus(self._view("status_of", Web3.to_checksum_address(account)))

    def is_audited(self, account: str) -> bool:
        return bool(self._view("is_audited", Web3.to_checksum_address(account)))

    def public_key(self, account: str) -> bytes:
        """The 64-byte secp256k1 public key ``account`` published; :class:`NotFoundError` when none. A key found
        is kept: the Registry accepts only the key whose Keccak-256 ends in the account's address, so it can never
        change."""
        keys: dict[str, bytes] = self._chain.settled.setdefault("Registry.public_key", {})
        cached = keys.get(account.lower())
        if cached is not None:
            return cached
        key = bytes(self._view("public_key", Web3.to_checksum_address(account)))
        if len(key) != 64:
            raise NotFoundError(f"{account} has published no encryption key in the Registry")
        keys[account.lower()] = key
        return key


DEPLOYABLE = Deployable(
    "Registry",
    deployer="supervisor",
    needs=(),
    args=lambda addresses, options: (),
    binding=RegistryBinding,
)
