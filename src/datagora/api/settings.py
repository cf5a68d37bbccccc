"""Node settings, loaded once from the environment (prefix ``DATAGORA_``) and CLI options, then validated
(pydantic-settings). Names match the CLI's: ``DATAGORA_HOME``, ``DATAGORA_RPC_URL``, ``DATAGORA_PASSWORD``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from datagora.home import DEFAULT_HOME


class Settings(BaseSettings):
    """Everything ``datagora serve`` reads. Times in seconds, sizes in bytes.

    - ``home``: keystores (``home/keystores/<account>.json``), deployments, participants' stores.
    - ``rpc_url``: the chain's JSON-RPC endpoint (required outside ``--dev``).
    - ``account``: keystore name of the operator; ``password`` unlocks it (prompted when absent).
    - ``index_url``: SQLAlchemy URL of the event index (default ``home/index/<chain id>-<address>.db``).
    - ``platform_url``: base URL of the platform's node, which attests this node's datasets.
    - ``platform``: run the platform's attestor here (default: when the account holds ``ATTESTER_ROLE``).
    - ``siwe_domain``: the EIP-4361 ``domain`` a sign-in message must name (default ``host:port``); set it to
      the public ``host[:port]`` clients use when the node sits behind a proxy.
    - ``public_url``: the node's base URL as clients reach it, the EIP-4361 ``URI`` a sign-in message must name
      (default ``http://<siwe_domain>``); set it behind a proxy, above all when several nodes share one host.
    - ``nonce_ttl``, ``session_ttl``: lifetime of a sign-in nonce and of a session token.
    - ``sample_min_rows``: fewest distinct rows of a table sample the platform searches by (40: well above one
      person's rows); ``sample_searches_per_hour``: searches by sample one account may make per hour (0: no limit).
    - ``relay_sweep_interval``: how often the platform deletes relayed ciphertexts of orders settled more than the
      Market's dispute window ago (also once at start; 0 disables the periodic sweep).
    - ``shop``: a product catalogue CSV: the node is a shop selling it (``datagora serve --shop``);
      ``shop_points_brand``: the brand whose loyalty points its checkout takes (points the customer spent on the
      cart, at the brand's point value).
    - ``index_interval``: background index sync period (0 disables it; reads always sync when stale);
      ``index_max_age``: how stale the index may be before a read syncs it first.
    - ``mpc_timeout``: seconds this node's party of a tier computation may run; ``mpc_auto_accept``: the MPC
      platform's node accepts tier computations by itself (it has no input); ``mpc_host``: where the other
      parties reach this node's MPC party (it listens on every interface); ``mpc_test_pause``: tests only.
    - ``infra``: run the infrastructure duty of ``datagora infra watch`` in the background (start the collaboration
      workloads this node hosts, send their heartbeats); ``infra_dao``: collaborations whose silent members this
      node ends; ``infra_interval``: seconds between passes.
    """

    model_config = SettingsConfigDict(env_prefix="DATAGORA_", extra="ignore")

    home: Path = DEFAULT_HOME
    rpc_url: str | None = None
    account: str | None = None
    password: SecretStr | None = None
    index_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    platform_url: HttpUrl | None = None
    platform: bool | None = None
    siwe_domain: Annotated[str | None, Field(pattern=r"^[^/?#\s]+$")] = None
    public_url: HttpUrl | None = None
    nonce_ttl: Annotated[int, Field(ge=1, le=86_400)] = 300
    session_ttl: Annotated[int, Field(ge=1, le=30 * 86_400)] = 3_600
    index_interval: Annotated[float, Field(ge=0)] = 5.0
    index_max_age: Annotated[float, Field(ge=0)] = 0.0
    confirmations: Annotated[int, Field(ge=0, le=1_000)] = 0
    max_upload_bytes: Annotated[int, Field(ge=1)] = 1 << 30
    max_json_bytes: Annotated[int, Field(ge=1_024)] = 1 << 20
    peer_timeout: Annotated[float, Field(gt=0)] = 60.0
    sample_min_rows: Annotated[int, Field(ge=1, le=1_000_000)] = 40
    sample_searches_per_hour: Annotated[int, Field(ge=0, le=1_000_000)] = 30
    relay_sweep_interval: Annotated[float, Field(ge=0)] = 3_600.0
    mpc_timeout: Annotated[float, Field(gt=0, le=3_600)] = 60.0
    mpc_auto_accept: bool = True
    mpc_host: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\s/:?#]+$")] = "127.0.0.1"
    mpc_test_pause: Annotated[float, Field(ge=0, le=600)] = 0.0
    shop: Path | None = None
    shop_points_brand: Annotated[int | None, Field(ge=1, le=2**63 - 1)] = None
    infra: bool = False
    infra_dao: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list)
    infra_interval: Annotated[float, Field(gt=0, le=86_400)] = 5.0

    @field_validator("account")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value or value.startswith(".")):
            raise ValueError(f"invalid account name {value!r}")
        return value

    @property
    def domain(self) -> str:
        """The SIWE domain this node accepts."""
        return self.siwe_domain or f"{self.host}:{self.port}"

    @property
    def base_uri(self) -> str:
        """The EIP-4361 ``URI`` sign-ins must name: ``public_url`` without a trailing slash, else
        ``http://<domain>``."""
        return str(self.public_url).rstrip("/") if self.public_url is not None else f"http://{self.domain}"
