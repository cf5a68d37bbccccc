"""Binding of ``Points.vy``: loyalty points per brand (each brand its own ERC-20, ``BrandPoints.vy``, created from
a blueprint when the brand is registered) and membership tiers set from secure multi-party computation results
attested by every computing party (Hu, Xin, Deng, Qian)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from datagora.chain.artifacts import load_artifact
from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import NotFoundError
from datagora.domain.models import TxResult


@dataclass(frozen=True)
class MemberTier:
    """A member's standing at one brand: ``tier`` (0..3), the last attested ``score`` F(A, B), and ``nonce``
    (the number of tier updates so far: the nonce the next attestation must carry)."""

    tier: int
    score: int
    nonce: int


class PointsBinding(Binding):
    """Typed calls of the Points contract."""

    NAME = "Points"

    def register_brand(
        self, owner: LocalAccount, name: str, symbol: str, admin: str, parties: list[str]
    ) -> tuple[int, TxResult]:
        """Register a brand (owner only): creates its ERC-20 (``name`` up to 25 bytes, ``symbol`` up to 5), with
        its admin and computing parties (signature order); returns the new brand id and the transaction."""
        checksummed = [Web3.to_checksum_address(p) for p in parties]
        tx = self._send(owner, "register_brand", name, symbol, Web3.to_checksum_address(admin), checksummed)
        brand = next(int(e.args["brand"]) for e in tx.events if e.name == "BrandRegistered")
        return brand, tx

    def set_issuer(self, admin: LocalAccount, brand: int, issuer: str, allowed: bool = True) -> TxResult:
        """Allow (or stop) ``issuer`` minting ``brand``'s points; brand admin only."""
        return self._send(admin, "set_issuer", brand, Web3.to_checksum_address(issuer), allowed)

    def issue(self, issuer: LocalAccount, brand: int, member: str, amount: int, purchase_ref: bytes) -> TxResult:
        """Mint ``amount`` points of ``brand`` to ``member`` for a purchase (``purchase_ref``, 32 bytes)."""
        return self._send(issuer, "issue", brand, Web3.to_checksum_address(member), amount, purchase_ref)

    def spend(self, spender: LocalAccount, brand: int, holder: str, amount: int, order_ref: bytes) -> TxResult:
        """Burn ``amount`` of ``holder``'s points of ``brand`` at a checkout (the holder or an approved
        operator)."""
        return self._send(spender, "spend", brand, Web3.to_checksum_address(holder), amount, order_ref)

    def set_point_value(self, admin: LocalAccount, brand: int, wei_per_point: int) -> TxResult:
        """Set the wei one point of ``brand`` takes off a checkout (brand admin only)."""
        return self._send(admin, "set_point_value", brand, wei_per_point)

    def point_value(self, brand: int) -> int:
        """Wei of discount per point of ``brand`` at a checkout."""
        return int(self._view("point_value", brand))

    def spent_on(self, brand: int, order_ref: bytes) -> int:
        """Points of ``brand`` spent on the order ``order_ref`` (32 bytes) so far."""
        return int(self._view("spent_on", brand, order_ref))

    def token(self, brand: int) -> str:
        """The address of ``brand``'s ERC-20; :class:`NotFoundError` for an unknown brand."""
        address = str(self._view("token_of", brand))
        if int(address, 16) == 0:
            raise NotFoundError(f"no brand #{brand}")
        return address

    def token_info(self, brand: int) -> tuple[str, str, str]:
        """``brand``'s ERC-20 as a wallet lists it: (address, name, symbol)."""
        token = self._token(brand)
        return (
            str(token.address),
            str(self._chain.call(token.functions.name())),
            str(self._chain.call(token.functions.symbol())),
        )

    def approve_checkout(self, holder: LocalAccount, brand: int, spender: str, amount: int) -> TxResult:
        """Let ``spender`` (a checkout) spend up to ``amount`` of ``holder``'s points of ``brand``: an ERC-20
        ``approve`` on the brand's token, used up by ``spend``."""
        fn = self._token(brand).functions.approve(Web3.to_checksum_address(spender), amount)
        return self._contracts.result(self._chain.transact(holder, fn))

    def allowance(self, brand: int, holder: str, spender: str) -> int:
        """Points of ``brand`` that ``spender`` may still spend for ``holder`` (ERC-20 allowance)."""
        fn = self._token(brand).functions.allowance(Web3.to_checksum_address(holder), Web3.to_checksum_address(spender))
        return int(self._chain.call(fn))

    def _token(self, brand: int) -> Contract:
        abi = load_artifact("BrandPoints").abi
        return self._chain.w3.eth.contract(address=Web3.to_checksum_address(self.token(brand)), abi=abi)

    def set_tier(
        self,
        sender: LocalAccount,
        brand: int,
        member: str,
        tier: int,
        score: int,
        nonce: int,
        signatures: list[bytes],
    ) -> TxResult:
        """Post a computation's result with one EIP-712 TierAttestation signature per computing party."""
        return self._send(sender, "set_tier", brand, Web3.to_checksum_address(member), tier, score, nonce, signatures)

    def balance(self, brand: int, member: str) -> int:
        """``member``'s points of ``brand`` (its balance of the brand's ERC-20; 0 for an unknown brand)."""
        return int(self._view("points_of", brand, Web3.to_checksum_address(member)))

    def member_tier(self, brand: int, member: str) -> MemberTier:
        """``member``'s tier, last score and tier nonce at ``brand``."""
        account = Web3.to_checksum_address(member)
        return MemberTier(
            int(self._view("tier_of", brand, account)),
            int(self._view("score_of", brand, account)),
            int(self._view("tier_nonce", brand, account)),
        )

    def parties(self, brand: int) -> list[str]:
        """The computing parties of ``brand`` in signature order (empty for an unknown brand)."""
        return [str(p) for p in self._view("parties_of", brand)]

    def brand_admin(self, brand: int) -> str:
        """The admin of ``brand`` (the zero address for an unknown brand)."""
        return str(self._view("brand_admin", brand))

    def brand_count(self) -> int:
        """How many brands are registered (ids run 1..count)."""
        return int(self._view("brand_count"))

    def attestation_digest(self, brand: int, member: str, tier: int, score: int, nonce: int) -> bytes:
        """The EIP-712 digest the contract expects each party to have signed."""
        return bytes(self._view("attestation_digest", brand, Web3.to_checksum_address(member), tier, score, nonce))


class BrandPointsBlueprint(Binding):
    """The EIP-5202 blueprint each brand's ERC-20 (``BrandPoints.vy``) is created from: code, not a contract to
    call."""

    NAME = "BrandPoints"


BLUEPRINT_DEPLOYABLE = Deployable(
    "BrandPoints",
    deployer="platform",
    needs=(),
    args=lambda addresses, options: (),
    binding=BrandPointsBlueprint,
    blueprint=True,
)

DEPLOYABLE = Deployable(
    "Points",
    deployer="platform",
    needs=("BrandPoints",),
    args=lambda addresses, options: (addresses["BrandPoints"],),
    binding=PointsBinding,
)
