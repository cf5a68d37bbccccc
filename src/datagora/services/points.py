"""Loyalty points and membership tiers settled by secure multi-party computation (Hu, Xin, Deng, Qian: case
study steps 1 and 5-10).

A brand's points are issued on purchases and spent at checkout on chain (``Points``). A member's tier is computed
from the brand's points A and the platform's points B by three MPyC processes (brand, platform, MPC platform;
:mod:`datagora.mpc.session`) without either side revealing its number; each party signs an EIP-712
``TierAttestation`` over the result its own process computed, and the tier is posted on chain only with every
party's signature. Only the result (score F(A, B) and tier) leaves the computation; a failed computation posts
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from eth_account.signers.local import LocalAccount

from datagora.chain.bindings.points import MemberTier
from datagora.chain.contracts import Contracts
from datagora.crypto.eip712 import sign_typed_data
from datagora.crypto.hashing import keccak256
from datagora.domain.errors import NotFoundError, ValidationError
from datagora.domain.models import TxResult
from datagora.mpc.points import PointsResult, check_points
from datagora.mpc.session import DEFAULT_TIMEOUT, SessionResult, run_session

if TYPE_CHECKING:  # the engine is the index adapter's; this module only reads its point_transfers table
    from sqlalchemy import Engine

__all__ = [
    "POINTS_DOMAIN_NAME",
    "POINTS_DOMAIN_VERSION",
    "TIER_ATTESTATION_TYPE",
    "TIER_NAMES",
    "MemberStanding",
    "PointTransfer",
    "TierComputation",
    "brand_symbol",
    "cart_reference",
    "checkout_discount",
    "compute_tier",
    "issue",
    "points_discount",
    "register_brand",
    "set_point_value",
    "spend",
    "spend_at_checkout",
    "standing",
    "tier_attestation",
    "transfer",
    "transfers",
]

POINTS_DOMAIN_NAME = "Datagora Points"
POINTS_DOMAIN_VERSION = "1"
TIER_ATTESTATION_TYPE = "TierAttestation(uint256 brand,address member,uint8 tier,uint256 score,uint256 nonce)"
"""EIP-712 encodeType; keccak256 of it is the contract's ``TIER_ATTESTATION_TYPEHASH``."""
TIER_NAMES = ("member", "silver", "gold", "platinum")
"""Plain names of tiers 0..3 (below 2000 points, from 2000, from 5000, from 10000)."""


def tier_attestation(
    chain_id: int, contract: str, brand: int, member: str, tier: int, score: int, nonce: int
) -> dict[str, Any]:
    """EIP-712 typed data of a ``TierAttestation`` for the Points contract at ``contract`` on ``chain_id``:
    domain ``{name: "Datagora Points", version: "1", chainId, verifyingContract}``, the struct of
    :data:`TIER_ATTESTATION_TYPE`; its digest equals the contract's ``attestation_digest``."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "TierAttestation": [
                {"name": "brand", "type": "uint256"},
                {"name": "member", "type": "address"},
                {"name": "tier", "type": "uint8"},
                {"name": "score", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
            ],
        },
        "primaryType": "TierAttestation",
        "domain": {
            "name": POINTS_DOMAIN_NAME,
            "version": POINTS_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": contract,
        },
        "message": {"brand": brand, "member": member, "tier": tier, "score": score, "nonce": nonce},
    }


@dataclass(frozen=True)
class MemberStanding:
    """A member at one brand: ``points`` (balance), ``tier`` (0..3) with its plain ``tier_name``, the last
    attested ``score``, the number of tier updates (``updates``), and the brand's ERC-20 (``token`` address and
    ``symbol``) a wallet lists the points under."""

    brand: int
    member: str
    points: int
    tier: int
    tier_name: str
    score: int
    updates: int
    token: str
    symbol: str


@dataclass(frozen=True)
class TierComputation:
    """A finished tier computation: the agreed ``result``, the session's report (timings, per-party outputs),
    the parties' ``signatures`` (in the contract's party order) and the ``tx`` that posted the tier."""

    brand: int
    member: str
    result: PointsResult
    session: SessionResult
    signatures: list[bytes]
    tx: TxResult


def brand_parties(contracts: Contracts, brand: int) -> list[str]:
    """The computing parties of ``brand`` in their order (one chain read). :class:`NotFoundError` for an unknown
    brand."""
    parties = contracts.points.parties(brand)
    if not parties:
        raise NotFoundError(f"no brand #{brand}")
    return parties


def brand_symbol(name: str) -> str:
    """A token symbol made from a brand's name: its first five letters and digits in capitals ("Cufflinks & Co"
    gives "CUFFL"); "PTS" when it has none."""
    letters = "".join(ch for ch in name.upper() if ch.isascii() and ch.isalnum())
    return letters[:5] or "PTS"


def register_brand(
    contracts: Contracts,
    owner: LocalAccount,
    name: str,
    admin: str,
    parties: Sequence[str],
    *,
    symbol: str | None = None,
) -> tuple[int, TxResult]:
    """Register a brand (the Points contract's owner, the platform) with its admin and its computing parties
    (brand, platform, MPC platform: the order their signatures go on chain). The contract creates the brand's
    ERC-20 named ``name`` with ``symbol`` (default :func:`brand_symbol`), which wallets list. Returns the brand
    id. Raises :class:`ValidationError` for a name over 25 bytes or a symbol over 5."""
    if not name or len(name.encode()) > 25:
        raise ValidationError("a brand name is 1 to 25 bytes (it names the brand's points token)")
    symbol = brand_symbol(name) if symbol is None else symbol
    if not symbol or len(symbol.encode()) > 5:
        raise ValidationError("a token symbol is 1 to 5 bytes")
    return contracts.points.register_brand(owner, name, symbol, admin, list(parties))


def issue(
    contracts: Contracts, issuer: LocalAccount, brand: int, member: str, amount: int, purchase_ref: bytes
) -> TxResult:
    """Issue ``amount`` points of ``brand`` to ``member`` for the purchase ``purchase_ref`` (32 bytes)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"points to issue must be a positive whole number, got {amount!r}")
    if len(purchase_ref) != 32:
        raise ValidationError("a purchase reference is 32 bytes")
    return contracts.points.issue(issuer, brand, member, amount, purchase_ref)


def spend(
    contracts: Contracts, spender: LocalAccount, brand: int, holder: str, amount: int, order_ref: bytes
) -> TxResult:
    """Spend ``amount`` of ``holder``'s points of ``brand`` on the order ``order_ref`` (32 bytes); the spender
    is the holder or a checkout the holder approved."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"points to spend must be a positive whole number, got {amount!r}")
    if len(order_ref) != 32:
        raise ValidationError("an order reference is 32 bytes")
    return contracts.points.spend(spender, brand, holder, amount, order_ref)


def transfer(contracts: Contracts, holder: LocalAccount, brand: int, to: str, amount: int) -> TxResult:
    """Give ``amount`` of ``holder``'s points of ``brand`` to the account ``to`` (an EIP-20 ``transfer`` on the
    brand's token). :class:`NotFoundError` for an unknown brand, :class:`ValidationError` for an amount that is
    not a positive whole number or more than ``holder`` has, or for ``to`` that is not an account address (the
    zero address included: points given to it would be lost)."""
    from eth_utils.address import is_address

    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"points to transfer must be a positive whole number, got {amount!r}")
    if not isinstance(to, str) or not is_address(to) or int(to, 16) == 0:
        raise ValidationError(f"not an account address to give points to: {to!r}")
    brand_parties(contracts, brand)
    held = contracts.points.balance(brand, holder.address)
    if amount > held:
        raise ValidationError(f"{holder.address} holds {held} points of brand #{brand}, fewer than {amount}")
    token, _, _ = contracts.points.token_info(brand)
    return contracts.tokens.transfer(holder, token, to, amount)


@dataclass(frozen=True)
class PointTransfer:
    """One movement of a brand's points, as the node's event index has it: ``kind`` issued (minted to
    ``receiver``), spent (burnt from ``sender`` at a checkout) or transfer (between holders); ``amount`` in whole
    points; addresses lower-case (the zero address on the minted or burnt side); ``at`` in Unix seconds."""

    brand: int
    kind: str
    sender: str
    receiver: str
    amount: int
    at: int
    block_number: int
    log_index: int
    tx_hash: str

    def seen_by(self, account: str) -> tuple[str, str, int]:
        """This movement as ``account`` sees it: what happened (``earned``, ``spent``, ``received`` or ``given``),
        the other side of a transfer between holders (lower-case address; ``""`` for points earned or spent) and
        the change to ``account``'s points (negative when they left it)."""
        incoming = self.receiver == account.lower()
        if self.kind == "transfer":
            what, other = ("received", self.sender) if incoming else ("given", self.receiver)
        else:
            what, other = ("earned" if self.kind == "issued" else "spent"), ""
        return what, other, self.amount if incoming else -self.amount


def transfers(engine: Engine, *, brand: int | None = None, account: str | None = None) -> list[PointTransfer]:
    """Movements of brand points from the node's event index (sync it first), oldest first: only ``brand``'s
    and / or only those ``account`` sent or received, when given. :class:`ValidationError` when ``account`` is
    not an address."""
    from eth_utils.address import is_address
    from sqlalchemy import or_, select

    if account is not None and not is_address(account):
        raise ValidationError(f"not an account address: {account!r}")

    from datagora.index.schema import point_transfers as t

    query = select(t).order_by(t.c.block_number, t.c.log_index)
    if brand is not None:
        query = query.where(t.c.brand_id == brand)
    if account is not None:
        query = query.where(or_(t.c.sender == account.lower(), t.c.receiver == account.lower()))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        PointTransfer(
            int(r.brand_id),
            r.kind,
            r.sender,
            r.receiver,
            int(r.amount),
            int(r.at),
            int(r.block_number),
            int(r.log_index),
            r.tx_hash,
        )
        for r in rows
    ]


def standing(contracts: Contracts, brand: int, member: str) -> MemberStanding:
    """``member``'s points and tier at ``brand``. :class:`NotFoundError` for an unknown brand."""
    brand_parties(contracts, brand)
    t: MemberTier = contracts.points.member_tier(brand, member)
    token, _, symbol = contracts.points.token_info(brand)
    return MemberStanding(
        brand,
        member,
        contracts.points.balance(brand, member),
        t.tier,
        TIER_NAMES[t.tier],
        t.score,
        t.nonce,
        token,
        symbol,
    )


def compute_tier(
    contracts: Contracts,
    brand: int,
    member: str,
    brand_points: int,
    platform_points: int,
    signers: Sequence[LocalAccount],
    submitter: LocalAccount,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tls: bool = True,
) -> TierComputation:
    """Compute ``member``'s tier from the brand's points A and the platform's points B by secure multi-party
    computation, have every party sign the result, and post it on chain (case study steps 5-10).

    Args:
        contracts: the contract set (Points deployed).
        brand: the brand id.
        member: the member's address.
        brand_points: A, known to the brand's process only (0..10,000,000).
        platform_points: B, known to the platform's process only (0..10,000,000).
        signers: the computing parties' accounts in the brand's party order (brand, platform, MPC platform);
            party i signs the result its own process computed.
        submitter: the account that sends the transaction (any party).
        timeout: seconds the computation may take.
        tls: mutual TLS between the parties.

    Raises:
        ValidationError: an input is out of range, or ``signers`` are not the brand's computing parties.
        NotFoundError: unknown brand.
        ComputationFailed: a party failed or disconnected, or the time ran out; nothing is posted.
        TransactionReverted: the contract refused the attestation.
    """
    check_points(brand_points, "brand")
    check_points(platform_points, "platform")
    parties = brand_parties(contracts, brand)
    if [s.address.lower() for s in signers] != [p.lower() for p in parties]:
        raise ValidationError("the signers are not the brand's computing parties, in their order")
    session = run_session(brand_points, platform_points, timeout=timeout, tls=tls)
    nonce = contracts.points.member_tier(brand, member).nonce
    chain_id = contracts.chain.chain_id
    signatures = []
    for signer, output in zip(signers, session.parties, strict=True):
        typed = tier_attestation(
            chain_id, contracts.points.address, brand, member, output.result.tier, output.result.score, nonce
        )
        signatures.append(sign_typed_data(bytes(signer.key), typed))
    result = session.result
    tx = contracts.points.set_tier(submitter, brand, member, result.tier, result.score, nonce, signatures)
    return TierComputation(brand, member, result, session, signatures, tx)


# ---- points spent at a shop's checkout -------------------------------------------------------------------------


class PricedCart(Protocol):
    """What the checkout hands a discount: the cart's ``cart_id`` (32 hex digits) and ``total`` in wei."""

    @property
    def cart_id(self) -> str: ...

    @property
    def total(self) -> int: ...


def cart_reference(shop: str, cart_id: str) -> bytes:
    """The order reference points are spent against for a shop's cart: keccak256(shop's address, 20 bytes ||
    cart id, 16 bytes). The cart id (not the order hash, which depends on the discount) is what the points back.
    Raises :class:`ValidationError` for a malformed address or cart id."""
    try:
        address = bytes.fromhex(shop.removeprefix("0x"))
        cart = bytes.fromhex(cart_id)
    except ValueError as exc:
        raise ValidationError(f"not a shop address and cart id: {exc}") from exc
    if len(address) != 20 or len(cart) != 16:
        raise ValidationError("a cart reference needs the shop's 20-byte address and the 16-byte cart id")
    return keccak256(address + cart)


def set_point_value(contracts: Contracts, admin: LocalAccount, brand: int, wei_per_point: int) -> TxResult:
    """Set the brand's discount rate: the wei one point takes off a checkout (brand admin only; 0 stops
    discounts). Raises :class:`ValidationError` for a negative or huge rate."""
    if isinstance(wei_per_point, bool) or not isinstance(wei_per_point, int) or not 0 <= wei_per_point < 2**128:
        raise ValidationError(f"a point's value is a whole number of wei, got {wei_per_point!r}")
    brand_parties(contracts, brand)
    return contracts.points.set_point_value(admin, brand, wei_per_point)


def spend_at_checkout(
    contracts: Contracts, holder: LocalAccount, brand: int, shop: str, cart_id: str, amount: int
) -> TxResult:
    """Spend (burn) ``amount`` of the holder's points of ``brand`` on the shop's cart ``cart_id`` (with the
    holder's own key, before the shop quotes the cart); the ``PointsSpent`` event carries
    :func:`cart_reference`. Raises :class:`ValidationError`, ``TransactionReverted`` ("points: insufficient
    points")."""
    return spend(contracts, holder, brand, holder.address, amount, cart_reference(shop, cart_id))


def checkout_discount(contracts: Contracts, brand: int, order_ref: bytes, total_wei: int) -> int:
    """The wei the points spent on ``order_ref`` take off a checkout of ``total_wei``: points spent on it times
    the brand's point value (``Points.spent_on`` and ``point_value``, read from chain). Raises
    :class:`ValidationError` when they are worth the whole total or more (the customer spent too many)."""
    off = contracts.points.spent_on(brand, order_ref) * contracts.points.point_value(brand)
    if off and off >= total_wei:
        raise ValidationError("the points spent on this cart are worth more than the cart: add to it or spend fewer")
    return off


def points_discount(contracts: Contracts, brand: int, shop: str) -> Callable[[PricedCart], int]:
    """The shop checkout's discount hook (``services.shop.Discount``) for ``brand``'s points at ``shop``: given
    the priced cart, the wei the points its customer spent on it take off (:func:`checkout_discount`)."""

    def discount(cart: PricedCart) -> int:
        return checkout_discount(contracts, brand, cart_reference(shop, cart.cart_id), cart.total)

    return discount
