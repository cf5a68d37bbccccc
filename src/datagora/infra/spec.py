"""The workload spec: the JSON document a DAO member puts on chain with ``Collaboration.request_infrastructure``
(event ``InfrastructureRequested``), from which the host member's node starts the collaboration's workload with
Ansible and renders Terraform and Kubernetes manifests (Mehdi et al., the infrastructure part of the
data-ownership-centric architecture: "a json file made by the users containing all the infrastructure details").

Example (every field but ``name``, ``data`` and ``task`` has a default)::

    {
      "name": "tumour-averages",
      "image": "python:3.11-slim",
      "command": ["python", "-m", "datagora.infra.workload"],
      "resources": {"cpu": "500m", "memory": "256Mi"},
      "data": {"owner": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
               "content_hash": "0x5c4d…(32 bytes)"},
      "task": {"select": ["diagnosis", {"aggregate": "count", "as": "patients"},
                          {"aggregate": "avg", "column": "radius_mean"}],
               "group_by": ["diagnosis"]},
      "min_group_size": 5,
      "heartbeat_interval": 10,
      "port": 8080,
      "replicas": 1
    }

``data.owner`` is the data service provider whose node hosts the workload: the data stays on that node, encrypted
at rest; the workload decrypts it there, computes ``task`` (an aggregate query, see :mod:`datagora.query.spec`) and
keeps only the aggregate result. The spec is at most :data:`MAX_SPEC_BYTES` bytes of UTF-8 (the contract's
``String[4096]``).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from datagora.domain.errors import ValidationError
from datagora.query.spec import QuerySpec

MAX_SPEC_BYTES: Final = 4096
"""The contract stores the spec as ``String[4096]``."""

DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""RFC 1123 label, as Kubernetes requires for object names (at most 63 characters)."""

_CPU: Final = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_MEMORY: Final = re.compile(r"^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_IMAGE: Final = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
_ADDRESS: Final = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH32: Final = re.compile(r"^0x[0-9a-fA-F]{64}$")

DEFAULT_COMMAND: Final = ("python", "-m", "datagora.infra.workload")


class Resources(BaseModel):
    """CPU (Kubernetes quantity: ``"500m"`` or ``"1"``) and memory (``"256Mi"``) the workload asks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu: str = "500m"
    memory: str = "256Mi"

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if not _CPU.match(value) or value in ("0", "0m"):
            raise ValueError("cpu must be a positive Kubernetes quantity such as '500m' or '2'")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not _MEMORY.match(value) or int(re.sub(r"\D", "", value)) == 0:
            raise ValueError("memory must be a positive Kubernetes quantity such as '256Mi' or '1Gi'")
        return value


class DataReference(BaseModel):
    """The data the workload computes on: a dataset of ``owner`` (its node hosts the workload), named by the
    Keccak-256 hash of its plaintext (``content_hash``, 0x + 64 hex digits, as in ``Catalog``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str
    content_hash: str

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("owner must be an account address (0x followed by 40 hex digits)")
        return value

    @field_validator("content_hash")
    @classmethod
    def _content_hash(cls, value: str) -> str:
        if not _HASH32.match(value):
            raise ValueError("content_hash must be 0x followed by 64 hex digits")
        return value.lower()


class WorkloadSpec(BaseModel):
    """A collaboration's workload. ``heartbeat_interval`` in seconds (1..3600): how often the running workload
    reports that it is alive; ``min_group_size``: aggregates over fewer rows are withheld (k-anonymity style
    suppression, at least 2); ``port``: the Service port in the rendered Kubernetes manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=63)]
    image: str = "python:3.11-slim"
    command: tuple[str, ...] = DEFAULT_COMMAND
    resources: Resources = Resources()
    data: DataReference
    task: dict[str, Any]
    min_group_size: Annotated[int, Field(ge=2, le=1_000_000)] = 5
    heartbeat_interval: Annotated[int, Field(ge=1, le=3600)] = 10
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    replicas: Annotated[int, Field(ge=1, le=16)] = 1

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not DNS_LABEL.match(value):
            raise ValueError(
                "name must be lower-case letters, digits and '-', and start and end with a letter or digit"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE.match(value):
            raise ValueError("image must be a container image reference such as 'python:3.11-slim'")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not part or "\x00" in part for part in value):
            raise ValueError("command must be a non-empty list of non-empty strings")
        return value

    @model_validator(mode="after")
    def _task(self) -> WorkloadSpec:
        query = QuerySpec.from_dict(self.task)  # raises datagora's ValidationError, re-raised by parse_spec
        if not query.is_aggregate:
            raise ValueError("task must be an aggregate query: the workload returns aggregates only, never rows")
        return self

    @property
    def query(self) -> QuerySpec:
        """``task`` as a :class:`~datagora.query.spec.QuerySpec`."""
        return QuerySpec.from_dict(self.task)

    def to_json(self) -> str:
        """Compact JSON, the form put on chain."""
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"), sort_keys=True)


def parse_spec(text: str | bytes | dict[str, Any]) -> WorkloadSpec:
    """Validate a workload spec given as JSON text (at most :data:`MAX_SPEC_BYTES` bytes) or as a parsed mapping.

    Raises :class:`~datagora.domain.errors.ValidationError` whose message names every faulty field in plain
    words, e.g. ``workload spec: data.owner: owner must be an account address (0x followed by 40 hex digits)``.
    """
    if isinstance(text, dict):
        doc: Any = text
    else:
        raw = text.encode() if isinstance(text, str) else text
        if len(raw) > MAX_SPEC_BYTES:
            raise ValidationError(f"workload spec: {len(raw):,} bytes, at most {MAX_SPEC_BYTES:,} fit on chain")
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"workload spec: not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValidationError("workload spec: must be a JSON object")
    try:
        return WorkloadSpec.model_validate(doc)
    except PydanticValidationError as exc:
        raise ValidationError("workload spec: " + "; ".join(_describe(err) for err in exc.errors())) from exc
    except ValidationError as exc:  # the task's QuerySpec
        raise ValidationError(f"workload spec: task: {exc}") from exc


def _describe(err: Any) -> str:
    where = ".".join(str(part) for part in err.get("loc", ())) or "spec"
    kind = err.get("type", "")
    if kind == "missing":
        return f"{where}: required"
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"
