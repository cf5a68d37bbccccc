"""Gas of the loyalty-points steps on the embedded EVM (receipt gas), issue 14.

    python benchmarks/points_gas.py

Deploys the BrandPoints blueprint and Points, registers a brand (which creates its ERC-20), names an issuer,
issues points to a new and to an existing holder, spends as the holder, approves a checkout and spends as it.
"""

from __future__ import annotations

from eth_account import Account

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256


def main() -> None:
    chain = EmbeddedChain()
    brand, platform, helper, member, shop = (Account.create() for _ in range(5))
    for account in (brand, platform, helper, member, shop):
        chain.fund(account.address, 10 * 10**18)
    points = Contracts.deploy(chain, platform, platform, only=["BrandPoints", "Points"]).points
    parties = [brand.address, platform.address, helper.address]
    brand_id, registered = points.register_brand(platform, "Cufflinks & Co", "CUFF", brand.address, parties)
    rows = {
        "register_brand (creates the brand's ERC-20)": registered.gas_used,
        "set_issuer": points.set_issuer(brand, brand_id, brand.address).gas_used,
        "issue to a new holder": points.issue(brand, brand_id, member.address, 2600, keccak256(b"a")).gas_used,
        "issue to the holder again": points.issue(brand, brand_id, member.address, 100, keccak256(b"b")).gas_used,
        "spend by the holder": points.spend(member, brand_id, member.address, 600, keccak256(b"o1")).gas_used,
        "approve a checkout (ERC-20 approve)": points.approve_checkout(member, brand_id, shop.address, 500).gas_used,
        "spend by the checkout": points.spend(shop, brand_id, member.address, 500, keccak256(b"o2")).gas_used,
    }
    for step, gas in rows.items():
        print(f"{step:<45} {gas:>10,} gas")


if __name__ == "__main__":
    main()
