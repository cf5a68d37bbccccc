"""The declarative compute job spec, its canonical form and its EIP-712 signature by the requester.

A spec names a scikit-learn estimator from :data:`ESTIMATORS` with validated parameters, the feature and label
columns, the outputs wanted (:data:`OUTPUTS`) and, optionally, a differential-privacy epsilon (the run then uses
diffprivlib's private version of the estimator and of the aggregates) or Python source (estimator ``"python"``,
run only where the owner's policy allows it, in the sandbox). The requester signs
``ComputeJobSpec(address requester,uint256 tokenId,bytes32 bodyHash)`` (EIP-712) where ``bodyHash`` is the
Keccak-256 of the spec's canonical JSON; the typed-data digest is the job's ``spec_hash`` on chain.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from datagora.crypto.eip712 import recover_typed_data, sign_typed_data, typed_data_digest
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import CryptoError, ValidationError

COMPUTE_DOMAIN_NAME: Final = "Datagora ComputeJobs"
COMPUTE_DOMAIN_VERSION: Final = "1"
SPEC_FIELDS: Final = [
    {"name": "requester", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "bodyHash", "type": "bytes32"},
]
_DOMAIN_FIELDS: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

PYTHON: Final = "python"
"""The estimator name of a job carrying Python source instead of a declarative estimator."""

# name → (task, {parameter: ("int" | "float", low, high) | ("bool",) | ("choice", options...)})
ESTIMATORS: Final[Mapping[str, tuple[str, Mapping[str, tuple[Any, ...]]]]] = {
    "LogisticRegression": (
        "classification",
        {"C": ("float", 1e-6, 1e6), "max_iter": ("int", 1, 10_000), "fit_intercept": ("bool",)},
    ),
    "LinearRegression": ("regression", {"fit_intercept": ("bool",)}),
    "Ridge": ("regression", {"alpha": ("float", 0.0, 1e6), "fit_intercept": ("bool",)}),
    "Lasso": ("regression", {"alpha": ("float", 1e-6, 1e6), "max_iter": ("int", 1, 100_000)}),
    "GaussianNB": ("classification", {}),
    "DecisionTreeClassifier": (
        "classification",
        {
            "max_depth": ("int", 1, 32),
            "min_samples_leaf": ("int", 1, 100_000),
            "criterion": ("choice", "gini", "entropy", "log_loss"),
        },
    ),
    "RandomForestClassifier": (
        "classification",
        {"n_estimators": ("int", 1, 500), "max_depth": ("int", 1, 32), "min_samples_leaf": ("int", 1, 100_000)},
    ),
    "KMeans": ("clustering", {"n_clusters": ("int", 1, 100), "n_init": ("int", 1, 50), "max_iter": ("int", 1, 10_000)}),
    PYTHON: ("python", {}),
}
"""The estimators a spec may name, their task and their allowed parameters with bounds."""

OUTPUTS: Final = ("parameters", "metrics", "aggregates", "predictions")

DP_ESTIMATORS: Final = frozenset({"LinearRegression", "Ridge", "GaussianNB", "LogisticRegression"})
"""Estimators whose parameters can be released differentially private (see :mod:`datagora.compute.runner`)."""

NO_PRIVATE_VERSION: Final[Mapping[str, str]] = {
    "Lasso": "its L1 penalty is not strongly convex, so nothing bounds how far one row moves its coefficients",
    "DecisionTreeClassifier": "one row can change a tree's splits entirely, and no private tree learner is available",
    "RandomForestClassifier": "one row can change its trees' splits entirely, and no private forest learner is "
    "available",
    "KMeans": "one row can move a cluster centre without bound, and no private clustering is available",
    PYTHON: "what code returns cannot be bounded, so no noise can be calibrated to it",
}
"""Why the other estimators' parameters cannot be released differentially private: the reason a refusal gives."""
"""What a job may ask back: the fitted parameters, metrics on the owner's hold-out split, per-column aggregates
(count, mean, standard deviation) or the hold-out predictions (one value per row: a raw-row output)."""

MAX_CODE_BYTES: Final = 64 * 1024
MAX_COLUMNS: Final = 256


def _fail(message: str) -> ValidationError:
    return ValidationError(f"job spec: {message}")


def _column(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        raise _fail(f"{what} must be a column name (1-128 characters), got {name!r}")
    return name


def _param(estimator: str, name: str, value: object, rule: tuple[Any, ...]) -> Any:
    kind = rule[0]
    where = f"{estimator} parameter {name!r}"
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "choice":
        if value not in rule[1:]:
            raise _fail(f"{where} must be one of {list(rule[1:])}, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{where} must be a number, got {value!r}")
    if kind == "int" and (not isinstance(value, int) and not float(value).is_integer()):
        raise _fail(f"{where} must be a whole number, got {value!r}")
    number = int(value) if kind == "int" else float(value)
    if not math.isfinite(number) or not rule[1] <= number <= rule[2]:
        raise _fail(f"{where} must be between {rule[1]:g} and {rule[2]:g}, got {value!r}")
    return number


@dataclass(frozen=True)
class JobSpec:
    """A compute job, declarative (Wang and Liu, EntDSM step 7: "the model and parameters for processing the
    data").

    - ``token_id``: the dataset (Catalog token id); ``estimator``: a name of :data:`ESTIMATORS`; ``params``: its
      parameters, each checked against the allow-list's bounds.
    - ``features``: input columns (1-256); ``label``: the target column (required for classification and
      regression, absent for clustering and Python).
    - ``outputs``: a non-empty subset of :data:`OUTPUTS`; ``test_fraction``: share of rows the owner holds out for
      the metrics (0.1-0.5); ``seed``: the split's and the estimator's random seed.
    - ``epsilon``: ask for a differentially private run spending this epsilon (> 0, at most 10), or None.
    - ``code``: Python source defining ``run(table) -> dict`` (estimator ``"python"`` only; at most 64 KiB).
    - ``nonce``: 128 random bits that make each spec unique.

    Raises :class:`ValidationError` naming the field at fault.
    """

    token_id: int
    estimator: str
    features: tuple[str, ...]
    label: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    outputs: tuple[str, ...] = ("parameters", "metrics")
    test_fraction: float = 0.25
    seed: int = 0
    epsilon: float | None = None
    code: str | None = None
    nonce: int = field(default_factory=lambda: secrets.randbits(128))

    def __post_init__(self) -> None:
        if isinstance(self.token_id, bool) or not isinstance(self.token_id, int) or self.token_id < 1:
            raise _fail(f"token_id must be a positive whole number, got {self.token_id!r}")
        if self.estimator not in ESTIMATORS:
            raise _fail(f"unknown estimator {self.estimator!r}; allowed: {', '.join(sorted(ESTIMATORS))}")
        task, allowed = ESTIMATORS[self.estimator]
        if not isinstance(self.params, Mapping):
            raise _fail("params must be an object")
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise _fail(f"{self.estimator} takes no parameter(s) {unknown}; allowed: {sorted(allowed)}")
        params = {name: _param(self.estimator, name, value, allowed[name]) for name, value in self.params.items()}
        object.__setattr__(self, "params", dict(sorted(params.items())))
        features = tuple(self.features) if isinstance(self.features, list | tuple) else None
        if not features or len(features) > MAX_COLUMNS:
            raise _fail(f"features must list 1 to {MAX_COLUMNS} columns")
        object.__setattr__(self, "features", tuple(_column(f, "a feature") for f in features))
        if len({f.casefold() for f in self.features}) != len(self.features):
            raise _fail("features repeat a column")
        if task in ("classification", "regression"):
            if self.label is None:
                raise _fail(f"{self.estimator} needs a label column")
            _column(self.label, "label")
            if self.label.casefold() in {f.casefold() for f in self.features}:
                raise _fail("the label cannot also be a feature")
        elif self.label is not None and task == "clustering":
            raise _fail(f"{self.estimator} takes no label column")
        outputs = tuple(self.outputs) if isinstance(self.outputs, list | tuple) else ()
        if not outputs or any(o not in OUTPUTS for o in outputs) or len(set(outputs)) != len(outputs):
            raise _fail(f"outputs must be a non-empty list of distinct items of {list(OUTPUTS)}")
        object.__setattr__(self, "outputs", outputs)
        fraction = self.test_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0.1 <= fraction <= 0.5:
            raise _fail(f"test_fraction must be between 0.1 and 0.5, got {fraction!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise _fail(f"seed must be a whole number from 0 to 2**32 - 1, got {self.seed!r}")
        if self.epsilon is not None:
            eps = self.epsilon
            if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps <= 10:
                raise _fail(f"epsilon must be above 0 and at most 10, got {eps!r}")
            object.__setattr__(self, "epsilon", float(eps))
        if self.estimator == PYTHON:
            if not isinstance(self.code, str) or not self.code.strip():
                raise _fail("a python job needs its code")
            if len(self.code.encode()) > MAX_CODE_BYTES:
                raise _fail(f"code is larger than {MAX_CODE_BYTES} bytes")
        elif self.code is not None:
            raise _fail("only a python job carries code")
        if isinstance(self.nonce, bool) or not isinstance(self.nonce, int) or not 0 <= self.nonce < 2**128:
            raise _fail("nonce must be a whole number below 2**128")

    @property
    def task(self) -> str:
        """``classification``, ``regression``, ``clustering`` or ``python``."""
        return ESTIMATORS[self.estimator][0]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the job reads (features, then the label)."""
        return self.features + ((self.label,) if self.label else ())

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (the nonce as a decimal string)."""
        return {
            "token_id": self.token_id,
            "estimator": self.estimator,
            "params": dict(self.params),
            "features": list(self.features),
            "label": self.label,
            "outputs": list(self.outputs),
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "epsilon": self.epsilon,
            "code": self.code,
            "nonce": str(self.nonce),
        }

    @classmethod
    def from_dict(cls, doc: object) -> JobSpec:
        """Parse :meth:`to_dict`'s shape (``nonce`` optional: a fresh one); :class:`ValidationError` otherwise."""
        if not isinstance(doc, Mapping):
            raise _fail("must be a JSON object")
        known = {"token_id", "estimator", "params", "features", "label", "outputs", "test_fraction", "seed"}
        known |= {"epsilon", "code", "nonce"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise _fail(f"unknown field(s) {unknown}")
        for required in ("token_id", "estimator", "features"):
            if required not in doc:
                raise _fail(f"missing field {required!r}")
        fields = dict(doc)
        if "nonce" in fields:
            try:
                fields["nonce"] = int(str(fields["nonce"]))
            except ValueError:
                raise _fail("nonce must be a whole number") from None
        for listed in ("features", "outputs"):
            if listed in fields and isinstance(fields[listed], list):
                fields[listed] = tuple(fields[listed])
        fields.setdefault("params", {})
        return cls(**fields)

    def canonical_bytes(self) -> bytes:
        """Canonical JSON (:func:`datagora.domain.canonical.canonical_json`): what ``bodyHash`` hashes."""
        return canonical_json(self.to_dict())

    def body_hash(self) -> bytes:
        """Keccak-256 of :meth:`canonical_bytes` (32 bytes)."""
        return keccak256(self.canonical_bytes())


def spec_typed_data(chain_id: int, compute_jobs: str, requester: str, spec: JobSpec) -> dict[str, Any]:
    """EIP-712 typed data of ``ComputeJobSpec(address requester,uint256 tokenId,bytes32 bodyHash)`` in the domain
    ``{name: "Datagora ComputeJobs", version: "1", chainId, verifyingContract: compute_jobs}``."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "ComputeJobSpec": SPEC_FIELDS},
        "primaryType": "ComputeJobSpec",
        "domain": {
            "name": COMPUTE_DOMAIN_NAME,
            "version": COMPUTE_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": compute_jobs,
        },
        "message": {"requester": requester, "tokenId": spec.token_id, "bodyHash": spec.body_hash()},
    }


@dataclass(frozen=True)
class SignedSpec:
    """A spec with its requester and 65-byte EIP-712 signature; ``spec_hash`` (the typed-data digest, 32 bytes)
    is what the job carries on chain."""

    spec: JobSpec
    requester: str
    signature: bytes
    spec_hash: bytes

    def to_bytes(self) -> bytes:
        """The JSON document encrypted to the owner (canonical JSON)."""
        doc = {"spec": self.spec.to_dict(), "requester": self.requester, "signature": "0x" + self.signature.hex()}
        return canonical_json(doc)


def sign_spec(private_key: bytes, requester: str, chain_id: int, compute_jobs: str, spec: JobSpec) -> SignedSpec:
    """The requester signs ``spec`` for the ComputeJobs contract at ``compute_jobs`` on chain ``chain_id``."""
    typed = spec_typed_data(chain_id, compute_jobs, requester, spec)
    return SignedSpec(spec, requester, sign_typed_data(private_key, typed), typed_data_digest(typed))


def open_signed_spec(data: bytes, chain_id: int, compute_jobs: str) -> SignedSpec:
    """Parse and check a signed spec (decrypted): the signature must recover the requester it names.
    :class:`ValidationError` for a malformed document or signature, or a signature by someone else."""
    try:
        doc = json.loads(data)
        requester = str(doc["requester"])
        signature = bytes.fromhex(str(doc["signature"]).removeprefix("0x"))
        spec = JobSpec.from_dict(doc["spec"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(f"unreadable signed spec ({exc})") from None
    typed = spec_typed_data(chain_id, compute_jobs, requester, spec)
    try:
        signer = recover_typed_data(typed, signature)
    except CryptoError as exc:
        raise _fail(f"bad signature: {exc}") from None
    if signer.lower() != requester.lower():
        raise _fail(f"signed by {signer}, not by the requester {requester}")
    return SignedSpec(spec, requester, signature, typed_data_digest(typed))
