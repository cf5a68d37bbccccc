"""Withdrawals: the pull payment of everything ``Market`` owes the node's account, in ether or an ERC-20."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import NodeDep, OperatorDep
from datagora.api.schemas import TxOut, WithdrawalOut, WithdrawIn
from datagora.domain.models import ETHER
from datagora.services import market

router = APIRouter(prefix="/withdrawals", tags=["withdrawals"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WithdrawalOut)
def withdraw_balance(node: NodeDep, _: OperatorDep, body: WithdrawIn | None = None) -> WithdrawalOut:
    """Withdraw the node's balance in ``Market``: ether, or the ERC-20 ``payment_token`` (422 when there is
    nothing to withdraw). Operator only."""
    token = body.payment_token if body is not None and body.payment_token else ETHER
    with node.acting():
        amount, tx = market.withdraw(node.contracts, node.participant, token)
    return WithdrawalOut(amount_wei=amount, payment_token=token, tx=TxOut.of(tx))
