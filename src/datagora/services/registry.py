"""Registration and audit of organisations and customers (EntDSM Algorithms 1-2, Wang & Liu section III.A)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import Organisation, OrgStatus, TxResult
from datagora.services.participant import Participant


def register_organisation(contracts: Contracts, member: Participant, name: str) -> tuple[Organisation, TxResult]:
    """Register ``member`` in organisation ``name`` (created with status ToAudit when new; joining an existing
    one is a request a member must approve) and publish its encryption public key. An account with a pending
    request may call it again: the request is withdrawn first. Raises ``ValidationError`` for a bad name,
    ``TransactionReverted`` for a guard (``registry: already registered`` …)."""
    name = name.strip()
    if not name or len(name.encode()) > 64:
        raise ValidationError("organisation name must be 1 to 64 bytes")
    org_id, tx = contracts.registry.register_organisation(member.account, name, member.public_key)
    return contracts.registry.organisation(org_id), tx


def approve_member(contracts: Contracts, approver: LocalAccount, account: str) -> tuple[Organisation, TxResult]:
    """An approved member of ``account``'s organisation (or the supervisor) accepts its request to join.
    Raises ``TransactionReverted`` (``registry: not a pending member`` …)."""
    tx = contracts.registry.approve_member(approver, account)
    return contracts.registry.organisation(contracts.registry.organisation_of(account)), tx


def withdraw_request(contracts: Contracts, member: Participant) -> TxResult:
    """``member`` withdraws its pending request to join an organisation and is unregistered again, free to found
    an organisation under another name or join another one. Raises ``TransactionReverted`` (``registry: no
    pending request``)."""
    return contracts.registry.withdraw_request(member.account)


def reject_member(contracts: Contracts, rejecter: LocalAccount, account: str) -> TxResult:
    """A member of ``account``'s organisation (or the supervisor) refuses its request to join; ``account`` is
    unregistered again. Raises ``TransactionReverted`` (``registry: not a pending member``, ``registry: not a
    member of that organisation``)."""
    return contracts.registry.reject_member(rejecter, account)


def register_customer(contracts: Contracts, customer: Participant) -> TxResult:
    """Register an individual (data subject); no audit needed."""
    return contracts.registry.register_customer(customer.account, customer.public_key)


def resolve_organisation(contracts: Contracts, organisation: str | int) -> int:
    """An organisation id from an id or a name. Raises ``NotFoundError``."""
    if isinstance(organisation, int) or str(organisation).isdigit():
        org_id = int(organisation)
        contracts.registry.organisation(org_id)
        return org_id
    return contracts.registry.organisation_id(str(organisation))


def set_status(
    contracts: Contracts, supervisor: LocalAccount, organisation: str | int, status: OrgStatus
) -> tuple[Organisation, TxResult]:
    """Supervisor sets an organisation's status (audit, suspend, back to audit)."""
    org_id = resolve_organisation(contracts, organisation)
    tx = contracts.registry.set_status(supervisor, org_id, status)
    return contracts.registry.organisation(org_id), tx
