"""Who an account is on a node: the roles a person signed in to the web pages holds, read from the chain.

Roles (an account may hold several, ARCHITECTURE.md "Participants and nodes"):

- ``operator``: the account is the node's own, the only key the node signs transactions with;
- ``supervisor``: the Registry's owner (the regulator);
- ``platform``: the account holds the Catalog's attester role (the platform that attests datasets);
- ``member``: the account belongs to an organisation (``organisation`` names it, ``audited`` tells whether the
  supervisor audited it, ``suspended`` whether it is suspended).

Also the checks a password sign-in needs: the node's keystore, decrypted with the password, must hold the node's
own account (Web3 Secret Storage, scrypt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagora.crypto.keys import load_keystore
from datagora.domain.errors import AccessDenied, ValidationError, WrongKeyError
from datagora.domain.models import OrgStatus
from datagora.services.node import Node


@dataclass(frozen=True)
class Roles:
    """The roles of ``address`` (EIP-55) on one node; ``organisation`` is empty when it belongs to none."""

    address: str
    operator: bool = False
    supervisor: bool = False
    platform: bool = False
    organisation: str = ""
    organisation_id: int = 0
    audited: bool = False
    suspended: bool = False

    @property
    def member(self) -> bool:
        return bool(self.organisation)

    @property
    def names(self) -> list[str]:
        """The roles in words, for a page: e.g. ``["node operator", "organisation member"]``."""
        out = []
        if self.operator:
            out.append("node operator")
        if self.supervisor:
            out.append("supervisor")
        if self.platform:
            out.append("platform")
        if self.member:
            out.append("organisation member")
        return out


def roles_of(node: Node, address: str) -> Roles:
    """The roles ``address`` holds, read from the Registry and the Catalog of ``node``'s deployment.
    Raises ``ChainError`` when the chain is unreachable."""
    contracts = node.contracts
    organisation, organisation_id, audited, suspended = "", 0, False, False
    org_id = contracts.registry.organisation_of(address)
    if org_id:
        org = contracts.registry.organisation(org_id)
        organisation, organisation_id = org.name, org.id
        audited = org.status == OrgStatus.AUDITED
        suspended = org.status == OrgStatus.SUSPENDED
    return Roles(
        address=address,
        operator=node.is_operator(address),
        supervisor=node.is_supervisor(address),
        platform=contracts.catalog.is_attester(address),
        organisation=organisation,
        organisation_id=organisation_id,
        audited=audited,
        suspended=suspended,
    )


def check_operator_password(node: Node, keystore: Path | None, password: str) -> str:
    """Decrypt the node's keystore with ``password`` and return the node's address when it holds the node's own
    account. Raises ``AccessDenied`` when the node has no keystore (a demo network) or the password is wrong
    (the same words either way a keystore refuses it), ``ValidationError`` when the file is unreadable."""
    if keystore is None:
        raise AccessDenied("this node has no keystore to unlock: sign in with a browser wallet")
    if not password:
        raise ValidationError("enter the password of the node's keystore")
    try:
        account = load_keystore(keystore, password)
    except WrongKeyError:
        raise AccessDenied("wrong password for the node's keystore") from None
    if not node.is_operator(str(account.address)):
        raise AccessDenied("this keystore does not hold the node's account")
    return node.address
