"""The Datagora contract set on one chain behind one facade: ``contracts.market.buy(...)``,
``contracts.registry.organisation(...)``, ``contracts.tokens.balance(...)`` (in the spirit of web3.py's
modules). Each contract has one binding module under :mod:`datagora.chain.bindings`; :data:`MANIFEST` lists the
deployables in deployment order, one line each.

Every write takes the signing account, returns a :class:`~datagora.domain.models.TxResult` with the decoded
events, and raises :class:`~datagora.domain.errors.TransactionReverted` with the contract's message
(``"market: wrong price"``) when a guard fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from datagora.chain.artifacts import EVM_VERSIONS, load_artifact
from datagora.chain.bindings import (
    anchors,
    catalog,
    collaboration,
    compute_jobs,
    consent,
    market,
    points,
    registry,
    reputation,
    reward_token,
    shop,
    streams,
    use_rights,
)
from datagora.chain.bindings.anchors import AnchorsBinding
from datagora.chain.bindings.base import Binding, Deployable, DeployOptions
from datagora.chain.bindings.catalog import CatalogBinding
from datagora.chain.bindings.collaboration import CollaborationBinding
from datagora.chain.bindings.compute_jobs import ComputeJobsBinding
from datagora.chain.bindings.consent import ConsentBinding
from datagora.chain.bindings.market import MarketBinding
from datagora.chain.bindings.points import PointsBinding
from datagora.chain.bindings.registry import RegistryBinding
from datagora.chain.bindings.reputation import ReputationBinding
from datagora.chain.bindings.reward_token import RewardTokenBinding
from datagora.chain.bindings.shop import ShopBinding
from datagora.chain.bindings.streams import StreamsBinding
from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.bindings.use_rights import UseRightsBinding
from datagora.chain.client import Chain
from datagora.chain.deployment import Deployment
from datagora.domain.errors import DeploymentError, ValidationError
from datagora.domain.models import ChainEvent, TxResult

__all__ = ["DEFAULT_FEE_BPS", "LOG_PAGE_BLOCKS", "MANIFEST", "Contracts", "Deployment", "event_args_jsonable"]

DEFAULT_FEE_BPS = 250
LOG_PAGE_BLOCKS = 5_000
"""Blocks per ``eth_getLogs`` request: public RPC nodes refuse wider ranges (many cap at 10,000 or fewer)."""

MANIFEST: tuple[Deployable, ...] = (
    registry.DEPLOYABLE,
    catalog.DEPLOYABLE,
    market.DEPLOYABLE,
    use_rights.DEPLOYABLE,
    reputation.DEPLOYABLE,
    reward_token.DEPLOYABLE,
    streams.DEPLOYABLE,
    consent.DEPLOYABLE,
    shop.DEPLOYABLE,
    points.BLUEPRINT_DEPLOYABLE,
    points.DEPLOYABLE,
    compute_jobs.DEPLOYABLE,
    collaboration.DEPLOYABLE,
    anchors.DEPLOYABLE,
)
"""Every deployable of the set, in deployment order (a contract comes after those it ``needs``)."""

B = TypeVar("B", bound=Binding)

ERC5202_PREFIX = b"\xfe\x71\x00"
"""The EIP-5202 blueprint preamble: an invalid opcode (so the code cannot be called), magic byte 0x71, version 0."""


def blueprint_initcode(bytecode: bytes) -> bytes:
    """Creation code that stores ``bytecode`` (a contract's creation code) as an EIP-5202 blueprint: deployed
    code = preamble + ``bytecode``, which Vyper's ``create_from_blueprint`` copies from (skipping the 3-byte
    preamble) and runs with constructor arguments. The same layout Vyper's own ``blueprint_bytecode`` output has."""
    code = ERC5202_PREFIX + bytecode
    if len(code) > 0xFFFF:
        raise DeploymentError(f"a blueprint of {len(code):,} bytes is too large")
    return b"\x61" + len(code).to_bytes(2, "big") + b"\x3d\x81\x60\x0a\x3d\x39\xf3" + code


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


class Contracts:
    """The deployed contract set on one :class:`Chain`: one typed binding per contract (``registry``,
    ``catalog``, ``market``, ``use_rights``, ``reputation``, ``reward_token``, ``streams``, ``consent``,
    ``shop``), ERC-20 calls (``tokens``) and the set's events."""

    def __init__(self, chain: Chain, deployment: Deployment, *, log_page_blocks: int = LOG_PAGE_BLOCKS) -> None:
        self.chain = chain
        self.deployment = deployment
        self.log_page_blocks = log_page_blocks
        self._known = {d.name: d for d in MANIFEST}
        self._c: dict[str, Contract] = {}
        self._bindings: dict[str, Binding] = {}
        self._topics: dict[tuple[str, bytes], tuple[str, str]] = {}
        self._instances: dict[str, str] = {}  # lower-case address → contract name (see watch())
        self._instance_topics: dict[tuple[str, bytes], tuple[str, str]] = {}
        # web3 contract objects and bindings are made on first use (building all of them cost about a tenth of a
        # routine command's time); the event topics of every contract are known at once, for decode().
        for name, address in deployment.addresses.items():
            if name not in self._known:
                raise DeploymentError(f"the deployment names an unknown contract {name!r}")
            self._learn_topics(name, address)
        self.tokens = TokensBinding(self)

    def _learn_topics(
        self, name: str, address: str, into: dict[tuple[str, bytes], tuple[str, str]] | None = None
    ) -> None:
        topics = self._topics if into is None else into
        for entry in load_artifact(name).abi:
            if entry.get("type") == "event":
                topic = bytes(event_abi_to_log_topic(entry))  # type: ignore[arg-type]
                topics[(address.lower(), topic)] = (name, str(entry["name"]))

    def watch(self, name: str, address: str) -> None:
        """Decode and fetch (:meth:`events`) the events of ``address`` as those of the contract ``name``: a
        contract the deployment created after it was deployed, such as a brand's points token made from the
        ``BrandPoints`` blueprint (EIP-5202). ``DeploymentError`` when ``name`` is not a contract of the
        manifest; watching an address twice changes nothing."""
        if name not in self._known:
            raise DeploymentError(f"no contract {name!r} in the manifest")
        key = address.lower()
        if key not in self._instances:
            self._learn_topics(name, key, self._instance_topics)
            self._instances[key] = name

    @property
    def instances(self) -> dict[str, str]:
        """The addresses :meth:`watch` added (lower-case) → their contract name."""
        return dict(self._instances)

    # -- the bindings --------------------------------------------------------------------------------------

    def _binding(self, cls: type[B]) -> B:
        found = self._bindings.get(cls.NAME)
        if found is None and cls.NAME in self.deployment.addresses:
            found = self._bindings[cls.NAME] = self._known[cls.NAME].binding(self, self.contract(cls.NAME))
        if found is None:
            raise DeploymentError(
                f"{cls.NAME} is not deployed on chain {self.chain.chain_id}: run `datagora deploy --add {cls.NAME}`"
            )
        assert isinstance(found, cls)
        return found

    @property
    def registry(self) -> RegistryBinding:
        return self._binding(RegistryBinding)

    @property
    def catalog(self) -> CatalogBinding:
        return self._binding(CatalogBinding)

    @property
    def market(self) -> MarketBinding:
        return self._binding(MarketBinding)

    @property
    def use_rights(self) -> UseRightsBinding:
        return self._binding(UseRightsBinding)

    @property
    def reputation(self) -> ReputationBinding:
        return self._binding(ReputationBinding)

    @property
    def reward_token(self) -> RewardTokenBinding:
        return self._binding(RewardTokenBinding)

    @property
    def streams(self) -> StreamsBinding:
        return self._binding(StreamsBinding)

    @property
    def consent(self) -> ConsentBinding:
        return self._binding(ConsentBinding)

    @property
    def shop(self) -> ShopBinding:
        return self._binding(ShopBinding)

    @property
    def points(self) -> PointsBinding:
        return self._binding(PointsBinding)

    @property
    def compute_jobs(self) -> ComputeJobsBinding:
        return self._binding(ComputeJobsBinding)

    @property
    def collaboration(self) -> CollaborationBinding:
        return self._binding(CollaborationBinding)

    @property
    def anchors(self) -> AnchorsBinding:
        return self._binding(AnchorsBinding)

    # -- deployment ----------------------------------------------------------------------------------------

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        supervisor: LocalAccount,
        platform: LocalAccount,
        *,
        fee_bps: int = DEFAULT_FEE_BPS,
        only: Iterable[str] | None = None,
    ) -> Contracts:
        """Deploy every contract of :data:`MANIFEST` (or those named in ``only``), each by its role's account:
        the supervisor deploys the Registry, the platform the others (it receives fees and holds
        ATTESTER_ROLE). Returns the bound set; ``.deployment`` can be saved."""
        names = [d.name for d in MANIFEST] if only is None else list(only)
        deployment = Deployment(chain.chain_id, {}, 0)
        return cls._deploy_into(chain, deployment, names, {"supervisor": supervisor, "platform": platform}, fee_bps)

    @classmethod
    def add(
        cls, chain: Chain, deployment: Deployment, name: str, signers: Mapping[str, LocalAccount], *, fee_bps: int
    ) -> Contracts:
        """Deploy one more contract ``name`` into an existing ``deployment`` (``datagora deploy --add``) with
        the accounts of ``signers`` (by role). The contracts already there keep their addresses.
        :class:`DeploymentError` when ``name`` is unknown, already deployed or needs a missing contract."""
        return cls._deploy_into(chain, deployment, [name], signers, fee_bps)

    @classmethod
    def _deploy_into(
        cls,
        chain: Chain,
        deployment: Deployment,
        names: list[str],
        signers: Mapping[str, LocalAccount],
        fee_bps: int,
    ) -> Contracts:
        known = {d.name: d for d in MANIFEST}
        for name in names:
            if name not in known:
                raise DeploymentError(f"unknown contract {name!r}; known: {', '.join(known)}")
        options = DeployOptions(fee_bps=fee_bps)
        for spec in MANIFEST:
            if spec.name not in names:
                continue
            missing = [n for n in spec.needs if n not in deployment.addresses]
            if missing:
                raise DeploymentError(f"{spec.name} needs {', '.join(missing)} deployed first")
            signer = signers.get(spec.deployer)
            if signer is None:
                raise DeploymentError(f"{spec.name} is deployed by the {spec.deployer}: pass its account")
            art = load_artifact(spec.name, chain.evm_version)
            if spec.blueprint:
                receipt = chain.deploy(signer, [], blueprint_initcode(art.bytecode))
            else:
                receipt = chain.deploy(signer, art.abi, art.bytecode, *spec.args(deployment.addresses, options))
            deployment = deployment.with_contract(
                spec.name, str(receipt["contractAddress"]), int(receipt["blockNumber"])
            )
        contracts = cls(chain, deployment)
        if "Catalog" in names and "platform" in signers:
            contracts.catalog.grant_attester(signers["platform"], signers["platform"].address)
        return contracts

    @classmethod
    def attach(cls, chain: Chain, deployments_dir: Path) -> Contracts:
        """Bind to the deployment recorded in ``deployments_dir`` for this chain, checking that each address
        holds the expected code of either build (Prague or London; a restarted development node loses it).
        Raises :class:`DeploymentError`."""
        deployment = Deployment.load(deployments_dir, chain.chain_id)
        blueprints = {d.name for d in MANIFEST if d.blueprint}
        for name, address in deployment.addresses.items():
            code = chain.code(address)
            if name in blueprints:
                expected = [ERC5202_PREFIX + load_artifact(name, evm).bytecode[:61] for evm in EVM_VERSIONS]
            else:
                expected = [load_artifact(name, evm).runtime[:64] for evm in EVM_VERSIONS]
            if not code or not any(code.startswith(prefix) for prefix in expected):
                raise DeploymentError(
                    f"{name} is not at {address} on chain {chain.chain_id} (node reset?): run `datagora deploy`"
                )
        return cls(chain, deployment)

    def contract(self, name: str) -> Contract:
        """The web3 contract object of ``name`` (``KeyError`` when it is not deployed)."""
        if name not in self._c:
            address = Web3.to_checksum_address(self.deployment.addresses[name])
            self._c[name] = self.chain.w3.eth.contract(address=address, abi=load_artifact(name).abi)
        return self._c[name]

    @property
    def addresses(self) -> dict[str, str]:
        """Contract name → address, for every deployed contract."""
        return dict(self.deployment.addresses)

    # -- events --------------------------------------------------------------------------------------------

    def decode(self, logs: Iterable[Any], *, instances: bool = False) -> Iterator[ChainEvent]:
        """The Datagora events among raw ``logs`` (others are skipped), without timestamps; with ``instances``
        also those of the addresses :meth:`watch` added (a transaction's result leaves them out)."""
        for log in logs:
            if not log["topics"]:
                continue
            key = (str(log["address"]).lower(), bytes(log["topics"][0]))
            hit = self._topics.get(key)
            if hit is None and instances:
                hit = self._instance_topics.get(key)
            if hit is None:
                continue
            name, event_name = hit
            decoded = getattr(self.contract(name).events, event_name)().process_log(log)
            yield ChainEvent(
                contract=name,
                name=decoded["event"],
                args={k: v for k, v in decoded["args"].items()},
                block_number=int(log["blockNumber"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                log_index=int(log["logIndex"]),
                block_hash="0x" + bytes(log["blockHash"]).hex(),
                address=str(log["address"]).lower(),
            )

    def result(self, receipt: TxReceipt) -> TxResult:
        """A mined transaction's hash, gas used, block and decoded Datagora events."""
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            gas_used=int(receipt["gasUsed"]),
            block_number=int(receipt["blockNumber"]),
            events=list(self.decode(receipt["logs"])),
        )

    def result_of_sent(self, sent: Any) -> TxResult:
        """:meth:`result` of a transaction mined through the fast path (a
        :class:`~datagora.chain.fastpath.Sent`, whose logs are in JSON-RPC form: hex strings, or the embedded
        chain's bytes and ints)."""
        return TxResult(
            tx_hash=sent.tx_hash,
            gas_used=sent.gas_used,
            block_number=sent.block_number,
            events=list(self.decode(_web3_log(log) for log in sent.logs)),
        )

    def get_logs(
        self,
        addresses: list[str],
        topics: list[Any] | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> list[Any]:
        """Raw logs of ``addresses`` (matching ``topics``) from ``from_block`` (default: the deployment block) to
        ``to_block`` (default: the current block), fetched in ranges of :attr:`log_page_blocks` blocks, in chain
        order. :class:`ValidationError` when the range is inverted."""
        start = self.deployment.block if from_block is None else from_block
        end = self.chain.block_number() if to_block is None else to_block
        if start < 0 or end < start - 1:
            raise ValidationError(f"invalid block range {start}..{end}")
        logs: list[Any] = []
        page = max(1, self.log_page_blocks)
        lo = start
        while lo <= end:
            hi = min(end, lo + page - 1)
            query: dict[str, Any] = {"address": addresses, "fromBlock": lo, "toBlock": hi}
            if topics:
                query["topics"] = topics
            logs.extend(self.chain._rpc(lambda q=query: self.chain.w3.eth.get_logs(q)))  # type: ignore[misc]
            lo = hi + 1
        return logs

    def events(
        self, from_block: int | None = None, to_block: int | None = None, *, addresses: Iterable[str] | None = None
    ) -> list[ChainEvent]:
        """Every Datagora event from ``from_block`` (default: the deployment block) to ``to_block`` (default:
        the current block), in chain order, with each block's timestamp; fetched in bounded block ranges. The
        events of the deployment's contracts and of the addresses :meth:`watch` added, or only of ``addresses``
        when given."""
        if addresses is None:
            addresses = [*self.deployment.addresses.values(), *self._instances]
        logs = self.get_logs([str(Web3.to_checksum_address(a)) for a in addresses], None, from_block, to_block)
        stamps: dict[int, int] = {}
        out = []
        for ev in self.decode(logs, instances=True):
            if ev.block_number not in stamps:
                stamps[ev.block_number] = self.chain.block_timestamp(ev.block_number)
            out.append(replace(ev, timestamp=stamps[ev.block_number]))
        return out

    def events_of_tx(self, tx_hash: str) -> list[ChainEvent] | None:
        """The Datagora events of a mined transaction, or None when the chain does not know it."""
        from web3.exceptions import TransactionNotFound

        try:
            receipt = self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        except Exception as exc:
            raise self.chain._wrap(exc) from exc
        return list(self.decode(receipt["logs"], instances=True))


def _web3_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """A log in JSON-RPC form as web3 formats it (bytes for hashes, topics and data; ints for numbers), which is
    what event decoding reads."""
    from hexbytes import HexBytes

    def num(value: Any) -> int:
        return int(value, 16) if isinstance(value, str) else int(value)

    def raw(value: Any) -> HexBytes:
        return HexBytes(value)

    return {
        "address": Web3.to_checksum_address(log["address"]),
        "topics": [raw(t) for t in log["topics"]],
        "data": raw(log["data"]),
        "blockNumber": num(log["blockNumber"]),
        "blockHash": raw(log["blockHash"]),
        "transactionHash": raw(log["transactionHash"]),
        "transactionIndex": num(log.get("transactionIndex", 0)),
        "logIndex": num(log["logIndex"]),
    }


def event_args_jsonable(args: dict[str, Any]) -> dict[str, Any]:
    """Event arguments with bytes as 0x-hex, for printing and export."""
    return {k: _hex(v) for k, v in args.items()}
