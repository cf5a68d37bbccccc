"""The data owner's policy for compute jobs, as a W3C ODRL 2.2 ``Offer`` in JSON-LD, and the automatic check.

Source: W3C ODRL Information Model 2.2 and Vocabulary 2.2 (https://www.w3.org/TR/odrl-model/); the job is Wang and
Liu's (EntDSM, step 8: the owner reviews the model and judges its safety before running it). The parsing rules
(compact or full IRIs, typed literals, strictness: an unknown term raises instead of being ignored) are the query
policy's (:mod:`datagora.query.policy`), whose helpers this module reuses. Canonical form::

    {"@context": ["http://www.w3.org/ns/odrl.jsonld", {"datagora": "urn:datagora:odrl:"}],
     "@type": "Offer", "uid": "urn:datagora:policy:compute:7",
     "profile": "urn:datagora:odrl:profile:compute-to-data",
     "assigner": "did:pkh:eip155:1:0xOwner…", "target": "urn:datagora:dataset:7", "conflict": "prohibit",
     "permission": [{"action": "use", "constraint": [
        {"leftOperand": "datagora:algorithm", "operator": "isAnyOf", "rightOperand": ["LogisticRegression", …]},
        {"leftOperand": "datagora:output", "operator": "isAnyOf", "rightOperand": ["parameters", "metrics"]},
        {"leftOperand": "datagora:rowCount", "operator": "gteq", "rightOperand": 50},
        {"leftOperand": "datagora:modelSize", "operator": "lteq", "rightOperand": 65536},
        {"leftOperand": "datagora:answerForm", "operator": "eq",
         "rightOperand": {"@id": "datagora:differentialPrivacy"}},
        {"leftOperand": "datagora:epsilonPerJob", "operator": "lteq", "rightOperand": 1.0},
        {"leftOperand": "datagora:privacyBudget", "operator": "lteq", "rightOperand": 10.0},
        {"leftOperand": "datagora:cpuTime", "operator": "lteq", "rightOperand": 30},
        {"leftOperand": "datagora:memory", "operator": "lteq", "rightOperand": 1073741824},
        {"leftOperand": "datagora:wallTime", "operator": "lteq", "rightOperand": 60},
        {"leftOperand": "datagora:review", "operator": "eq", "rightOperand": {"@id": "datagora:automatic"}}]}],
     "prohibition": [
        {"action": "use", "constraint": [{"leftOperand": "datagora:resultForm", "operator": "eq",
                                          "rightOperand": {"@id": "datagora:rawRows"}}]},
        {"action": "use", "constraint": [{"leftOperand": "datagora:column", "operator": "isAnyOf",
                                          "rightOperand": ["ssn"]}]}]}

Terms (all ``datagora:`` terms of the profile): ``algorithm`` the estimators a job may use (``python`` = arbitrary
code, run in the sandbox); ``output`` the outputs it may ask; ``rowCount gteq n`` the fewest rows the data must have;
``modelSize lteq b`` the largest result in bytes; ``answerForm eq differentialPrivacy`` every job must be
differentially private (absent: exact runs allowed); ``epsilonPerJob`` / ``privacyBudget`` the epsilon one job may
spend and the total one requester organisation may spend on the dataset; ``cpuTime`` / ``wallTime`` (seconds) and
``memory`` (bytes) the sandbox's limits; ``review eq automatic`` (the default) or ``manual``: whether jobs inside the
policy start without the owner's review. Prohibitions: ``resultForm eq rawRows`` (no output with one value per row,
the default) and ``column isAnyOf [...]`` (columns no job may read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from datagora.compute.spec import DP_ESTIMATORS, ESTIMATORS, NO_PRIVATE_VERSION, OUTPUTS, PYTHON, JobSpec
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import ValidationError
from datagora.query.policy import (
    DATAGORA_NS,
    ODRL_CONTEXT,
    ODRL_NS,
    _as_list,
    _check_context,
    _check_rule,
    _constraints,
    _epsilon_operand,
    _expand,
    _expect_operator,
    _identifier,
    _inherited,
    _int_operand,
    _number,
    _str_list_operand,
)

COMPUTE_PROFILE: Final = "urn:datagora:odrl:profile:compute-to-data"
RAW_ROW_OUTPUTS: Final = frozenset({"predictions"})
"""Outputs that carry one value per row of the owner's data."""

_T = DATAGORA_NS
_TERMS: Final = {
    _T + "algorithm": ("allowed_algorithms", "isAnyOf"),
    _T + "output": ("allowed_outputs", "isAnyOf"),
    _T + "rowCount": ("min_rows", "gteq"),
    _T + "modelSize": ("max_model_bytes", "lteq"),
    _T + "answerForm": ("dp_required", "eq"),
    _T + "epsilonPerJob": ("epsilon_per_job", "lteq"),
    _T + "privacyBudget": ("privacy_budget", "lteq"),
    _T + "cpuTime": ("cpu_seconds", "lteq"),
    _T + "memory": ("memory_bytes", "lteq"),
    _T + "wallTime": ("wall_seconds", "lteq"),
    _T + "review": ("auto_approve", "eq"),
}
_POLICY_KEYS: Final = frozenset(
    {"@context", "@type", "uid", "profile", "assigner", "target", "conflict", "permission", "prohibition"}
)


def _fail(message: str) -> ValidationError:
    return ValidationError(f"compute policy: {message}")


@dataclass(frozen=True)
class Refusal:
    """A rule a job breaks: ``rule`` (a short name: ``algorithm``, ``output``, ``raw rows``, ``column``,
    ``minimum rows``, ``differential privacy``, ``epsilon``, ``privacy budget``, ``model size``) and a plain
    sentence saying what is wrong."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True)
class ComputePolicy:
    """What compute jobs the owner runs on a dataset (see the module docstring for each term).

    ``uid``, ``assigner`` and ``target`` are IRIs; ``allowed_algorithms`` names of
    :data:`~datagora.compute.spec.ESTIMATORS`; ``allowed_outputs`` items of :data:`~datagora.compute.spec.OUTPUTS`;
    ``min_rows`` >= 1; ``raw_rows`` whether raw-row outputs are allowed; ``max_model_bytes`` bytes;
    ``prohibited_columns`` names (case-insensitive); ``dp_required``; ``epsilon_per_job`` (0 < e <= 10) and
    ``privacy_budget`` (>= epsilon_per_job); sandbox limits ``cpu_seconds``, ``memory_bytes``, ``wall_seconds``;
    ``auto_approve``. :class:`ValidationError` on bad values."""

    uid: str
    assigner: str
    target: str
    allowed_algorithms: frozenset[str] = frozenset(ESTIMATORS) - {PYTHON}
    allowed_outputs: frozenset[str] = frozenset({"parameters", "metrics", "aggregates"})
    min_rows: int = 50
    raw_rows: bool = False
    max_model_bytes: int = 65_536
    prohibited_columns: frozenset[str] = frozenset()
    dp_required: bool = False
    epsilon_per_job: float = 1.0
    privacy_budget: float = 10.0
    cpu_seconds: int = 30
    memory_bytes: int = 1 << 30
    wall_seconds: int = 60
    auto_approve: bool = True

    def __post_init__(self) -> None:
        for attr in ("uid", "assigner", "target"):
            _identifier(getattr(self, attr), attr)
        unknown = sorted(set(self.allowed_algorithms) - set(ESTIMATORS))
        if unknown:
            raise _fail(f"unknown algorithm(s) {unknown}; known: {sorted(ESTIMATORS)}")
        unknown = sorted(set(self.allowed_outputs) - set(OUTPUTS))
        if unknown:
            raise _fail(f"unknown output(s) {unknown}; known: {list(OUTPUTS)}")
        object.__setattr__(self, "allowed_algorithms", frozenset(self.allowed_algorithms))
        object.__setattr__(self, "allowed_outputs", frozenset(self.allowed_outputs))
        object.__setattr__(self, "prohibited_columns", frozenset(c.casefold() for c in self.prohibited_columns))
        for attr in ("min_rows", "max_model_bytes", "cpu_seconds", "memory_bytes", "wall_seconds"):
            _int_operand(getattr(self, attr), attr)
        _epsilon_operand(self.epsilon_per_job, "epsilon_per_job")
        if not self.epsilon_per_job <= 10:
            raise _fail("epsilon_per_job must be at most 10")
        if _number(self.privacy_budget, "privacy_budget") < self.epsilon_per_job:
            raise _fail("privacy_budget must be at least epsilon_per_job")

    # -- the check -------------------------------------------------------------------------------------------

    def check(self, spec: JobSpec, rows: int, columns: tuple[str, ...] | list[str]) -> list[Refusal]:
        """Every rule ``spec`` breaks on a table of ``rows`` rows with ``columns`` (empty: the job may run).
        A column the table lacks is a refusal too (the job cannot run)."""
        out: list[Refusal] = []
        if spec.estimator not in self.allowed_algorithms:
            if spec.estimator == PYTHON:
                text = "this dataset does not run arbitrary Python code; use one of the allowed algorithms"
            else:
                text = f"the algorithm {spec.estimator} is not allowed on this dataset"
            allowed = ", ".join(sorted(self.allowed_algorithms)) or "none"
            out.append(Refusal("algorithm", f"{text} (allowed: {allowed})"))
        raw = [o for o in spec.outputs if o in RAW_ROW_OUTPUTS]
        if raw and not self.raw_rows:
            out.append(
                Refusal("raw rows", f"the output {raw[0]} gives one value per row, and no raw-row output is allowed")
            )
        for output in spec.outputs:
            if output not in self.allowed_outputs and not (output in RAW_ROW_OUTPUTS and not self.raw_rows):
                out.append(Refusal("output", f"the output {output} is not allowed on this dataset"))
        known = {c.casefold() for c in columns}
        for column in spec.columns:
            if column.casefold() in self.prohibited_columns:
                out.append(Refusal("column", f"the column {column} may not be read by any job"))
            elif column.casefold() not in known:
                out.append(Refusal("column", f"the dataset has no column {column}"))
        if rows < self.min_rows:
            out.append(
                Refusal("minimum rows", f"the dataset has {rows} rows, fewer than the {self.min_rows} a job needs")
            )
        if self.dp_required and spec.epsilon is None:
            out.append(
                Refusal(
                    "differential privacy",
                    "every job on this dataset must be differentially private: ask with an epsilon",
                )
            )
        if spec.epsilon is not None and (
            spec.estimator == PYTHON or (spec.estimator not in DP_ESTIMATORS and "parameters" in spec.outputs)
        ):
            why = NO_PRIVATE_VERSION.get(spec.estimator, "it has no private version here")
            out.append(
                Refusal(
                    "differential privacy",
                    f"{spec.estimator} cannot release its parameters privately: {why} (private parameters exist for "
                    f"{', '.join(sorted(DP_ESTIMATORS))})",
                )
            )
        if spec.epsilon is not None and spec.epsilon > self.epsilon_per_job + 1e-12:
            out.append(
                Refusal(
                    "epsilon",
                    f"the job asks to spend epsilon {spec.epsilon:g}; at most {self.epsilon_per_job:g} per job",
                )
            )
        return out

    # -- JSON-LD ---------------------------------------------------------------------------------------------

    def to_jsonld(self) -> dict[str, Any]:
        """The canonical ODRL JSON-LD ``Offer`` (see the module docstring)."""

        def c(term: str, operator: str, right: Any) -> dict[str, Any]:
            return {"leftOperand": f"datagora:{term}", "operator": operator, "rightOperand": right}

        permission = [
            c("algorithm", "isAnyOf", sorted(self.allowed_algorithms)),
            c("output", "isAnyOf", sorted(self.allowed_outputs)),
            c("rowCount", "gteq", self.min_rows),
            c("modelSize", "lteq", self.max_model_bytes),
        ]
        if self.dp_required:
            permission.append(c("answerForm", "eq", {"@id": "datagora:differentialPrivacy"}))
        permission += [
            c("epsilonPerJob", "lteq", self.epsilon_per_job),
            c("privacyBudget", "lteq", self.privacy_budget),
            c("cpuTime", "lteq", self.cpu_seconds),
            c("memory", "lteq", self.memory_bytes),
            c("wallTime", "lteq", self.wall_seconds),
            c("review", "eq", {"@id": "datagora:automatic" if self.auto_approve else "datagora:manual"}),
        ]
        prohibition: list[dict[str, Any]] = []
        if not self.raw_rows:
            prohibition.append({"action": "use", "constraint": [c("resultForm", "eq", {"@id": "datagora:rawRows"})]})
        if self.prohibited_columns:
            prohibition.append(
                {"action": "use", "constraint": [c("column", "isAnyOf", sorted(self.prohibited_columns))]}
            )
        doc: dict[str, Any] = {
            "@context": [ODRL_CONTEXT, {"datagora": DATAGORA_NS}],
            "@type": "Offer",
            "uid": self.uid,
            "profile": COMPUTE_PROFILE,
            "assigner": self.assigner,
            "target": self.target,
            "conflict": "prohibit",
            "permission": [{"action": "use", "constraint": permission}],
        }
        if prohibition:
            doc["prohibition"] = prohibition
        return doc

    @classmethod
    def from_jsonld(cls, doc: Mapping[str, Any]) -> ComputePolicy:
        """Parse an ODRL ``Offer`` in the compute profile; strict (an unknown term raises
        :class:`ValidationError`)."""
        if not isinstance(doc, Mapping):
            raise _fail(f"policy must be a JSON object, got {type(doc).__name__}")
        unknown = sorted(set(doc) - _POLICY_KEYS)
        if unknown:
            raise _fail(f"unsupported key(s) {unknown}")
        _check_context(doc.get("@context"))
        if _expand(doc.get("@type"), "@type") != ODRL_NS + "Offer":
            raise _fail(f"@type must be Offer, got {doc.get('@type')!r}")
        if "profile" in doc and _identifier(doc["profile"], "profile") != COMPUTE_PROFILE:
            raise _fail(f"unsupported profile {doc['profile']!r}; expected {COMPUTE_PROFILE!r}")
        if "conflict" in doc and _expand(doc["conflict"], "conflict") != ODRL_NS + "prohibit":
            raise _fail("conflict strategy must be 'prohibit'")
        permissions = [_check_rule(r, "permission") for r in _as_list(doc.get("permission", []), "permission")]
        if len(permissions) != 1:
            raise _fail(f"exactly one permission expected, got {len(permissions)}")
        prohibitions = [_check_rule(r, "prohibition") for r in _as_list(doc.get("prohibition", []), "prohibition")]
        fields: dict[str, Any] = {}
        for left, operator, right in _constraints(permissions[0], "permission"):
            if left not in _TERMS:
                raise _fail(f"unsupported permission leftOperand {left!r}")
            name, expected = _TERMS[left]
            if name in fields:
                raise _fail(f"duplicate permission constraint on {name}")
            _expect_operator(left, operator, expected, "permission")
            what = f"permission {name}"
            if expected == "isAnyOf":
                fields[name] = _str_list_operand(right, what)
            elif name == "dp_required":
                fields[name] = _expand(right, what) == _T + "differentialPrivacy"
            elif name == "auto_approve":
                form = _expand(right, what)
                if form not in (_T + "automatic", _T + "manual"):
                    raise _fail(f"{what} must be datagora:automatic or datagora:manual")
                fields[name] = form == _T + "automatic"
            elif name in ("epsilon_per_job", "privacy_budget"):
                fields[name] = _epsilon_operand(right, what) if name == "epsilon_per_job" else _number(right, what)
            else:
                fields[name] = _int_operand(right, what)
        raw_rows, prohibited = True, set[str]()
        for rule in prohibitions:
            constraints = _constraints(rule, "prohibition")
            if len(constraints) != 1:
                raise _fail("each prohibition must carry exactly one constraint")
            left, operator, right = constraints[0]
            if left == _T + "resultForm":
                _expect_operator(left, operator, "eq", "prohibition")
                if _expand(right, "prohibition resultForm") != _T + "rawRows":
                    raise _fail("prohibition resultForm must be datagora:rawRows")
                raw_rows = False
            elif left == _T + "column":
                _expect_operator(left, operator, "isAnyOf", "prohibition")
                prohibited |= _str_list_operand(right, "prohibition column")
            else:
                raise _fail(f"unsupported prohibition leftOperand {left!r}")
        rules = [*permissions, *prohibitions]
        return cls(
            uid=_identifier(doc.get("uid"), "uid"),
            assigner=_inherited(doc, rules, "assigner"),
            target=_inherited(doc, rules, "target"),
            raw_rows=raw_rows,
            prohibited_columns=frozenset(prohibited),
            **fields,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ComputePolicy:
        """Parse JSON text; :class:`ValidationError` when it is not JSON or not a valid policy."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise _fail(f"not JSON ({exc})") from None
        return cls.from_jsonld(doc)

    def canonical_bytes(self) -> bytes:
        """Canonical JSON of :meth:`to_jsonld` (sorted keys, no spaces), as the use-right policy's."""
        return canonical_json(self.to_jsonld())

    def policy_hash(self) -> bytes:
        """Keccak-256 of :meth:`canonical_bytes` (32 bytes)."""
        return keccak256(self.canonical_bytes())


def default_policy(owner: str, token_id: int, chain_id: int = 1, **terms: Any) -> ComputePolicy:
    """The owner's default compute policy for dataset ``token_id`` (every declarative algorithm, parameters,
    metrics and aggregates, at least 50 rows, no raw rows, results up to 64 KiB, automatic approval), with
    ``terms`` overriding fields of :class:`ComputePolicy`."""
    return ComputePolicy(
        uid=f"urn:datagora:policy:compute:{token_id}",
        assigner=f"did:pkh:eip155:{chain_id}:{owner}",
        target=f"urn:datagora:dataset:{token_id}",
        **terms,
    )
