"""Composing a node from :class:`~datagora.api.settings.Settings`: chain, recorded deployment, the operator's
keystore, index, and the platform role (local attestor) or a remote platform (``RemoteAttestor``)."""

from __future__ import annotations

from collections.abc import Callable

from datagora.api.client import NodeClient
from datagora.api.errors import NotConfigured
from datagora.api.remote_attestor import RemoteAttestor
from datagora.api.settings import Settings
from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from datagora.home import Home
from datagora.services.node import Node, open_node
from datagora.services.participant import Participant
from datagora.services.sample_search import SampleSearchRules
from datagora.services.shop import open_shop_service


def node_from_settings(settings: Settings, password: Callable[[], str]) -> Node:
    """The node ``settings`` describe, its keystore unlocked with ``password()`` (asked once the chain and the
    deployment check out). Layout under ``home`` is the
    CLI's: ``keystores/<account>.json``, ``deployments/<chain id>.json``, ``participants/<account>/``.
    Raises ``NotConfigured``, ``ChainError``, ``DeploymentError``, ``WrongKeyError``."""
    if not settings.rpc_url:
        raise NotConfigured("serve needs a running chain: pass --rpc-url or set DATAGORA_RPC_URL (or use --dev)")
    if not settings.account:
        raise NotConfigured("pass --account (or DATAGORA_ACCOUNT): the keystore name of the node's operator")
    chain = RpcChain(settings.rpc_url)
    home = Home(settings.home)
    contracts = Contracts.attach(chain, home.deployments)
    account = load_keystore(home.keystore(settings.account), password())
    participant = Participant(settings.account, account, home.participant(settings.account).root)
    index_url = settings.index_url
    if index_url is None:
        home.index_dir.mkdir(parents=True, exist_ok=True)
        index_url = home.index_url(chain.chain_id, participant.address)
    platform = (
        settings.platform if settings.platform is not None else contracts.catalog.is_attester(participant.address)
    )
    attestor = None
    if not platform and settings.platform_url is not None:
        attestor = RemoteAttestor(NodeClient(str(settings.platform_url), account, timeout=settings.peer_timeout))
    node = open_node(
        contracts,
        participant,
        index_url,
        platform=platform,
        attestor=attestor,
        confirmations=settings.confirmations,
        index_max_age=settings.index_max_age,
        sample_rules=SampleSearchRules(min_rows=settings.sample_min_rows, per_window=settings.sample_searches_per_hour),
    )
    if settings.shop is not None:
        node.shop = open_shop_service(node, settings.shop)
    return node
