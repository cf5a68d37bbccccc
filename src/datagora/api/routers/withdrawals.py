"""Withdrawals: the pull payment of everything ``Market`` owes the node's account."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import NodeDep, OperatorDep
from datagora.api.schemas import TxOut, WithdrawalOut
from datagora.services import market

router = APIRouter(prefix="/withdrawals", tags=["withdrawals"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WithdrawalOut)
def withdraw_balance(node: NodeDep, _: OperatorDep) -> WithdrawalOut:
    """Withdraw the node's balance in ``Market`` (422 when there is nothing to withdraw). Operator only."""
    with node.acting():
        amount, tx = market.withdraw(node.contracts, node.participant)
    return WithdrawalOut(amount_wei=amount, tx=TxOut.of(tx))
