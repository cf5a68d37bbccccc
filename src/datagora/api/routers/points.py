"""Loyalty points and membership tiers (Hu, Xin, Deng, Qian). ``GET /points/{brand}/members/{address}`` reads a
member's points and tier from ``Points``; ``POST /points/{brand}/issue`` lets this node's account (an issuer of
the brand) issue points for a purchase; ``POST /points/{brand}/spend`` spends this node's own points on an
order; ``POST /points/{brand}/checkout`` spends them on a shop's cart; ``POST /points/{brand}/transfer`` gives
some to another account and ``GET /points/{brand}/members/{address}/movements`` lists a member's movements from
the node's event index. The tier computation across the three
parties' nodes has its routes in ``datagora.api.routers.tier_computations``. See ``datagora.services.points``."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import Field

from datagora.api.deps import NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import ADDRESS_PATTERN, Out, Strict, TxOut
from datagora.crypto.keys import checksum_address
from datagora.services import points

router = APIRouter(prefix="/points", tags=["points"])

BrandPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The brand's number.")]
AddressPath = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="A member's address, 0x-hex.")]
MAX_AMOUNT = 2**128


class StandingOut(Out):
    brand: int
    member: str
    points: int
    tier: int = Field(description="0 (below 2000 points) to 3 (from 10000).")
    tier_name: str
    score: int = Field(description="The last attested score F(A, B); 0 before any tier computation.")
    updates: int
    token: str = Field(description="The address of the brand's ERC-20, under which wallets list the points.")
    symbol: str = Field(description="The brand's token symbol.")


class IssueIn(Strict):
    member: str = Field(pattern=ADDRESS_PATTERN)
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    purchase: str = Field(
        min_length=1, max_length=200, description="The purchase's reference; only its hash goes on chain."
    )


class SpendIn(Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    order: str = Field(min_length=1, max_length=200, description="The order's reference; only its hash goes on chain.")


class CheckoutSpendIn(Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    shop: str = Field(pattern=ADDRESS_PATTERN, description="The shop's account (its node's operator).")
    cart: str = Field(pattern=r"^[0-9a-f]{32}$", description="The cart's id, as the shop's cart shows it.")


class TransferIn(Strict):
    to: str = Field(pattern=ADDRESS_PATTERN, description="The account receiving the points.")
    amount: int = Field(ge=1, le=MAX_AMOUNT)


class MovementOut(Out):
    brand: int
    kind: str = Field(description="issued (minted to the receiver), spent (burnt at a checkout) or transfer.")
    sender: str = Field(description="Lower-case address; the zero address for points issued.")
    receiver: str = Field(description="Lower-case address; the zero address for points spent.")
    amount: int = Field(description="Whole points.")
    at: int = Field(description="Block time, Unix seconds.")
    block_number: int
    log_index: int
    tx_hash: str


class PointsTxOut(Out):
    brand: int
    amount: int
    tx: TxOut


def _reference(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@router.get("/{brand}/members/{address}", response_model=StandingOut, responses={404: {"description": "Unknown brand"}})
def standing(brand: BrandPath, address: AddressPath, node: NodeDep, _: ReaderDep) -> StandingOut:
    """A member's points and membership tier at a brand."""
    s = points.standing(node.contracts, brand, checksum_address(address))
    return StandingOut(
        brand=s.brand,
        member=s.member,
        points=s.points,
        tier=s.tier,
        tier_name=s.tier_name,
        score=s.score,
        updates=s.updates,
        token=s.token,
        symbol=s.symbol,
    )


@router.get(
    "/{brand}/members/{address}/movements",
    response_model=list[MovementOut],
    responses={404: {"description": "Unknown brand"}},
)
def movements(brand: BrandPath, address: AddressPath, node: NodeDep, _: ReaderDep) -> list[MovementOut]:
    """Every movement of a member's points of the brand (earned, spent, given, received), oldest first, from
    this node's event index (brought up to date first)."""
    points.brand_parties(node.contracts, brand)  # 404 for an unknown brand
    node.sync_index()
    return [MovementOut(**vars(m)) for m in points.transfers(node.engine, brand=brand, account=address)]


@router.post(
    "/{brand}/issue",
    status_code=status.HTTP_201_CREATED,
    response_model=PointsTxOut,
    responses={409: {"description": "This node's account is not an issuer of the brand"}},
)
def issue(brand: BrandPath, body: IssueIn, node: NodeDep, _: OperatorDep) -> PointsTxOut:
    """Issue points of the brand to a member for a purchase (this node's account must be an issuer). Operator
    only."""
    with node.acting():
        tx = points.issue(
            node.contracts,
            node.participant.account,
            brand,
            checksum_address(body.member),
            body.amount,
            _reference(body.purchase),
        )
    return PointsTxOut(brand=brand, amount=body.amount, tx=TxOut.of(tx))


@router.post(
    "/{brand}/spend",
    status_code=status.HTTP_201_CREATED,
    response_model=PointsTxOut,
    responses={409: {"description": "Not enough points"}},
)
def spend(brand: BrandPath, body: SpendIn, node: NodeDep, _: OperatorDep) -> PointsTxOut:
    """Spend this node's account's points of the brand on an order. Operator only."""
    account = node.participant.account
    with node.acting():
        tx = points.spend(node.contracts, account, brand, account.address, body.amount, _reference(body.order))
    return PointsTxOut(brand=brand, amount=body.amount, tx=TxOut.of(tx))


@router.post(
    "/{brand}/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=PointsTxOut,
    responses={409: {"description": "Not enough points"}},
)
def spend_at_checkout(brand: BrandPath, body: CheckoutSpendIn, node: NodeDep, _: OperatorDep) -> PointsTxOut:
    """Spend this node's account's points of the brand on a shop's cart: the shop's checkout then takes the
    brand's point value off the cart's total for each point. Operator only."""
    with node.acting():
        tx = points.spend_at_checkout(
            node.contracts, node.participant.account, brand, checksum_address(body.shop), body.cart, body.amount
        )
    return PointsTxOut(brand=brand, amount=body.amount, tx=TxOut.of(tx))


@router.post(
    "/{brand}/transfer",
    status_code=status.HTTP_201_CREATED,
    response_model=PointsTxOut,
    responses={404: {"description": "Unknown brand"}, 422: {"description": "More points than held, or no address"}},
)
def transfer(brand: BrandPath, body: TransferIn, node: NodeDep, _: OperatorDep) -> PointsTxOut:
    """Give some of this node's account's points of the brand to another account. Operator only."""
    with node.acting():
        tx = points.transfer(node.contracts, node.participant.account, brand, checksum_address(body.to), body.amount)
    return PointsTxOut(brand=brand, amount=body.amount, tx=TxOut.of(tx))
