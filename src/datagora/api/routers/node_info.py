"""Public facts about the node: liveness and identity (no session needed)."""

from __future__ import annotations

from fastapi import APIRouter

from datagora.api.deps import NodeDep, SettingsDep
from datagora.api.schemas import NodeInfo, Roles

router = APIRouter(tags=["node"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers (does not touch the chain)."""
    return {"status": "ok"}


@router.get("/node", response_model=NodeInfo)
def node_info(node: NodeDep, settings: SettingsDep) -> NodeInfo:
    """The node's account, chain, contract addresses and roles; what a client needs to sign in."""
    return NodeInfo(
        address=node.address,
        chain_id=node.chain.chain_id,
        contracts=node.contracts.addresses,
        roles=Roles(platform=node.platform is not None, supervisor=node.is_supervisor()),
        siwe_domain=settings.domain,
    )
