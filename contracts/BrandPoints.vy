# pragma version ~=0.4.3
"""
@title Datagora Brand Points
@notice One brand's loyalty points as an ERC-20 token (EIP-20, with
        EIP-2612 permit), so any wallet lists them by name and symbol.
        `Points` creates one per brand from this contract's blueprint
        (EIP-5202) when the brand is registered, and is its owner and only
        minter: points are minted when the brand's issuers `issue` them in
        `Points`, and burnt when `Points.spend` spends them at a checkout
        (after Hu, Xin, Deng and Qian: points earned at a brand and on an
        e-commerce platform circulate on chain).
@dev snekmate `erc20` with 0 decimals (points are whole). Neither minters
     nor the owner can be changed: `set_minter`, `transfer_ownership` and
     `renounce_ownership` are not exported. Holders transfer and approve
     like any ERC-20; an allowance lets a checkout spend points through
     `Points.spend`.
"""


from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    erc20.owner,
    erc20.is_minter,
    erc20.mint,
)


@deploy
def __init__(name: String[25], symbol: String[5]):
    """
    @notice The creator (`Points`) becomes owner and only minter; 0
            decimals; EIP-712 domain `name`, version "1".
    @param name The brand's token name, e.g. "Cufflinks & Co Points".
    @param symbol The brand's token symbol, e.g. "CUFF".
    """
    ownable.__init__()
    erc20.__init__(name, symbol, 0, name, "1")


@external
def burn_at_checkout(holder: address, spender: address, amount: uint256):
    """
    @notice Burn `amount` of `holder`'s points spent at a checkout by
            `spender` (the holder, or a checkout it gave an allowance).
    @dev Minter (`Points`) only. Uses up `spender`'s allowance when the
         spender is not the holder. `Points` checks the guards a person
         sees first; snekmate's messages are the last line.
    @param holder The member whose points are spent.
    @param spender Who spends them.
    @param amount Points to burn.
    """
    assert erc20.is_minter[msg.sender], "brand points: not the points contract"
    if spender != holder:
        erc20._spend_allowance(holder, spender, amount)
    erc20._burn(holder, amount)
