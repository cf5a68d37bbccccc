"""Typed records every scenario returns: who did what (in plain words), the transactions it took with their gas
(from the receipts), and the outcome checks verified on chain. No printing: the CLI, the tests and the gas
benchmarks read these records."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from datagora.domain.models import TxResult

WEI = 10**18
"""Wei per ether; also the smallest units per token of an 18-decimal ERC-20."""


def amount(units: int, symbol: str = "ETH") -> str:
    """``units`` (wei, or an 18-decimal token's smallest unit) in plain words: ``amount(195 * 10**15)`` is
    ``"0.195 ETH"``."""
    value = (Decimal(units) / WEI).normalize()
    return f"{value:f} {symbol}".strip()


@dataclass(frozen=True)
class Check:
    """A fact of the outcome verified on chain (``passed``), in plain words."""

    description: str
    passed: bool


@dataclass(frozen=True)
class Step:
    """One step of a scenario: ``actor`` (a participant's label, ``"chain"`` or ``"market"``) did ``action``
    (plain words, one line); ``name`` is the step's short label, unique within its scenario (the gas table's
    row); ``txs`` the transactions it took, empty for off-chain steps."""

    actor: str
    name: str
    action: str
    txs: tuple[TxResult, ...] = ()

    @property
    def gas(self) -> int:
        """Gas used by the step's transactions, from their receipts."""
        return sum(tx.gas_used for tx in self.txs)


@dataclass
class ScenarioResult:
    """One scenario's record. ``outcome`` is what the chain ended in (e.g. the name of the deciding ``Settled``
    event's outcome) against ``expected``; ``checks`` further facts verified on chain; ``ids`` the identifiers
    it created (``{"listing": 3, "order": 2, "token": 5}``) so that tests can read the chain back."""

    key: str
    title: str
    expected: str
    outcome: str = ""
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The outcome is the expected one and every check passed."""
        return self.outcome == self.expected and all(c.passed for c in self.checks)

    @property
    def gas(self) -> dict[str, int]:
        """Gas per step name (steps without transactions left out)."""
        return {s.name: s.gas for s in self.steps if s.txs}

    @property
    def txs(self) -> list[TxResult]:
        """Every transaction of the scenario, in order."""
        return [tx for s in self.steps for tx in s.txs]

    def step(self, name: str) -> Step:
        """The step called ``name``; ``KeyError`` if there is none."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def failed_checks(self) -> list[str]:
        return [c.description for c in self.checks if not c.passed]
