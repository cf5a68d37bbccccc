"""Reputation events in the audit trail: ratings given by the parties of a completed order."""

from __future__ import annotations

from typing import Any

from datagora.services.audit.base import ContractTexts, Trail


def _rated(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["rater"], f"rated {a['ratee']} {a['score']}/5 for order #{a['order_id']}"


TEXTS = ContractTexts("Reputation", describe={"Rated": _rated})
