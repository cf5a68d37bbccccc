# pragma version ~=0.4.3
"""
@title Datagora Demo Token
@notice A plain ERC-20 (EIP-20, with EIP-2612 permit) whose owner and
        minters may mint: the stand-in for a stablecoin or a consortium's
        settlement token when the demo and the tests pay the Market in an
        ERC-20. The Market accepts any ERC-20; this one is not deployed
        with the Datagora contract set.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__(name: String[25], symbol: String[5]):
    """
    @notice The deployer becomes owner and minter; 18 decimals.
    @param name Token name, e.g. "Datagora Dollar".
    @param symbol Token symbol, e.g. "DGD".
    """
    ownable.__init__()
    erc20.__init__(name, symbol, 18, name, "1")
