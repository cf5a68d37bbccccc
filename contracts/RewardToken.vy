# pragma version ~=0.4.3
"""
@title Datagora Reward Token
@notice The ERC-20 (EIP-20, with EIP-2612 permit) in which data subjects
        are rewarded each time a consumer organisation uses their data
        under a consent (Shrestha, Joshi, Vassileva, "Customer Data Sharing
        Platform: A Blockchain-Based Shopping Cart": digital tokens
        transferred from the data consumer to the customer). The owner
        (the platform) and the minters it appoints mint; consumers buy or
        are given tokens and pre-fund their rewards in `Consent`.
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
    @param name Token name, e.g. "Datagora Reward".
    @param symbol Token symbol, e.g. "DGR".
    """
    ownable.__init__()
    erc20.__init__(name, symbol, 18, name, "1")
