# pragma version ~=0.4.3
"""
@title Data NFT: ERC-721 without enumeration, with ERC-4494 permit
@notice The token side of the Catalog: EIP-721 ownership, approvals and
        (safe) transfers, and ERC-4494 `permit` (signed approvals, the
        v, r, s layout snekmate ships), with the EIP-712 domain of the
        deployable. Written here instead of reusing snekmate's `erc721`
        because snekmate always keeps the ERC-721 enumeration extension
        (`totalSupply`, `tokenByIndex`, `tokenOfOwnerByIndex`): four more
        storage slots per mint and two to four per transfer, about 70,000
        gas on a first publish and 45,000 on each sale. Datagora's event
        index answers "which datasets does this account hold" from the
        `Transfer` events, so the chain does not keep that list. Error
        messages are snekmate's, word for word.
@dev A deployable `initializes: nft`, calls `nft.__init__` and exports the
     external functions it wants; `_mint` and `_burn` are for the
     deployable. Storage per token: one word with its owner and 96 bits of
     the deployable's own data, and, while one is set, its approved account;
     per account: its balance.
"""

from ethereum.ercs import IERC721
from snekmate.tokens.interfaces import IERC721Receiver

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

exports: (
    eip712_domain_separator.eip712Domain,
)


_PERMIT_TYPE_HASH: constant(bytes32) = keccak256(
    "Permit(address spender,uint256 tokenId,uint256 nonce,uint256 deadline)"
)


name: public(immutable(String[25]))
symbol: public(immutable(String[5]))


isApprovedForAll: public(HashMap[address, HashMap[address, bool]])
# ERC-4494: a token's permit nonce, raised by each accepted `permit`.
nonces: public(HashMap[uint256, uint256])
_balances: HashMap[address, uint256]
# Per token: owner | extra << 160 (96 bits the deployable keeps with the
# token, e.g. the Catalog's block of publication; they survive transfers
# and the burn, so a burned token's word stays non-zero).
_owners: HashMap[uint256, uint256]
_token_approvals: HashMap[uint256, address]


@deploy
def __init__(name_: String[25], symbol_: String[5], name_eip712_: String[50], version_eip712_: String[20]):
    """
    @notice Name and symbol of the collection and the EIP-712 signing
            domain of `permit`.
    @param name_ The collection's name.
    @param symbol_ The collection's symbol.
    @param name_eip712_ The EIP-712 domain name.
    @param version_eip712_ The EIP-712 domain version.
    """
    name = name_
    symbol = symbol_
    eip712_domain_separator.__init__(name_eip712_, version_eip712_)


@external
@view
def balanceOf(owner: address) -> uint256:
    """
    @notice How many tokens `owner` holds (EIP-721).
    @dev Reverts "erc721: the zero address is not a valid owner".
    @param owner The account.
    @return The number of tokens.
    """
    assert owner != empty(address), "erc721: the zero address is not a valid owner"
    return self._balances[owner]


@external
@view
def ownerOf(token_id: uint256) -> address:
    """
    @notice The owner of `token_id` (EIP-721).
    @dev Reverts "erc721: invalid token ID" for a token that does not exist.
    @param token_id The token id.
    @return The owner.
    """
    return self._owner_of(token_id)


@external
@payable
def approve(to: address, token_id: uint256):
    """
    @notice Let `to` transfer `token_id` (one approved account per token,
            cleared on transfer; empty(address) clears it). Payable as in
            EIP-721; no value is kept.
    @dev Reverts "erc721: approval to current owner" or "erc721: approve
         caller is not token owner or approved for all".
    @param to The approved account.
    @param token_id The token id.
    """
    owner: address = self._owner_of(token_id)
    assert to != owner, "erc721: approval to current owner"
    assert msg.sender == owner or self.isApprovedForAll[owner][msg.sender], "erc721: approve caller is not token owner or approved for all"
    self._approve(owner, to, token_id)


@external
@view
def getApproved(token_id: uint256) -> address:
    """
    @notice The account approved for `token_id` (EIP-721).
    @dev Reverts "erc721: invalid token ID".
    @param token_id The token id.
    @return The approved account, or empty(address).
    """
    self._owner_of(token_id)
    return self._token_approvals[token_id]


@external
def setApprovalForAll(operator: address, approved: bool):
    """
    @notice Let `operator` move all the caller's tokens, or stop it.
    @dev Reverts "erc721: approve to caller".
    @param operator The operator.
    @param approved True to approve, False to revoke.
    """
    assert msg.sender != operator, "erc721: approve to caller"
    self.isApprovedForAll[msg.sender][operator] = approved
    log IERC721.ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
@payable
def transferFrom(owner: address, to: address, token_id: uint256):
    """
    @notice Move `token_id` from `owner` to `to` (EIP-721); the caller is
            the owner, its operator or the token's approved account.
    @dev Reverts "erc721: caller is not token owner or approved", "erc721:
         transfer from incorrect owner" or "erc721: transfer to the zero
         address".
    @param owner The current owner.
    @param to The new owner.
    @param token_id The token id.
    """
    self._transfer_checked(owner, to, token_id)


@external
@payable
def safeTransferFrom(owner: address, to: address, token_id: uint256, data: Bytes[1_024] = b""):
    """
    @notice `transferFrom`, then, when `to` is a contract, its
            `onERC721Received` must answer the EIP-721 magic value.
    @dev Reverts as `transferFrom` and "erc721: transfer to
         non-IERC721Receiver implementer".
    @param owner The current owner.
    @param to The new owner.
    @param token_id The token id.
    @param data Passed to `onERC721Received`.
    """
    self._transfer_checked(owner, to, token_id)
    if to.is_contract:
        answer: bytes4 = extcall IERC721Receiver(to).onERC721Received(msg.sender, owner, token_id, data)
        assert answer == method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4), "erc721: transfer to non-IERC721Receiver implementer"


@external
def permit(spender: address, token_id: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @notice ERC-4494: approve `spender` for `token_id` with the owner's
            EIP-712 signature over (spender, token id, the token's nonce,
            deadline); anyone may submit it.
    @dev Reverts "erc721: expired deadline" or "erc721: invalid signature".
    @param spender The account to approve.
    @param token_id The token id.
    @param deadline Unix time (seconds) after which the signature is void.
    @param v The signature's v.
    @param r The signature's r.
    @param s The signature's s.
    """
    assert block.timestamp <= deadline, "erc721: expired deadline"
    nonce: uint256 = self.nonces[token_id]
    self.nonces[token_id] = unsafe_add(nonce, 1)
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(_PERMIT_TYPE_HASH, spender, token_id, nonce, deadline))
    )
    signer: address = ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))
    owner: address = self._owner_of(token_id)
    assert signer == owner, "erc721: invalid signature"
    self._approve(owner, spender, token_id)


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @notice The EIP-712 domain separator `permit` signatures use.
    @return The 32-byte domain separator for the current chain.
    """
    return eip712_domain_separator._domain_separator_v4()


@internal
@view
def _owner_of(token_id: uint256) -> address:
    """
    @notice The owner of an existing token.
    @dev Reverts "erc721: invalid token ID".
    @param token_id The token id.
    @return The owner.
    """
    owner: address = self._holder(token_id)
    assert owner != empty(address), "erc721: invalid token ID"
    return owner


@internal
@view
def _holder(token_id: uint256) -> address:
    """
    @notice The owner of `token_id`, empty(address) when it does not exist.
    @param token_id The token id.
    @return The owner or empty(address).
    """
    return convert(convert(self._owners[token_id] & convert(max_value(uint160), uint256), uint160), address)


@internal
@view
def _extra(token_id: uint256) -> uint256:
    """
    @notice The 96 bits the deployable stored with `token_id` at `_mint`.
    @param token_id The token id.
    @return The extra data (0 for a token never minted).
    """
    return self._owners[token_id] >> 160


@internal
def _set_owner(token_id: uint256, owner: address):
    """
    @notice Store `owner` for `token_id`, keeping its extra data.
    @param token_id The token id.
    @param owner The new owner, or empty(address) when burned.
    """
    word: uint256 = self._owners[token_id]
    self._owners[token_id] = (word >> 160 << 160) | convert(convert(owner, uint160), uint256)


@internal
def _approve(owner: address, to: address, token_id: uint256):
    """
    @notice Set the approved account of `token_id` and log `Approval`.
    @param owner The token's owner.
    @param to The approved account.
    @param token_id The token id.
    """
    self._token_approvals[token_id] = to
    log IERC721.Approval(owner=owner, approved=to, token_id=token_id)


@internal
def _transfer_checked(owner: address, to: address, token_id: uint256):
    """
    @notice Check the caller may move `token_id` and move it.
    @dev Reverts as `transferFrom`.
    @param owner The current owner.
    @param to The new owner.
    @param token_id The token id.
    """
    holder: address = self._owner_of(token_id)
    approved: address = self._token_approvals[token_id]
    assert msg.sender == holder or approved == msg.sender or self.isApprovedForAll[holder][msg.sender], "erc721: caller is not token owner or approved"
    assert holder == owner, "erc721: transfer from incorrect owner"
    assert to != empty(address), "erc721: transfer to the zero address"
    if approved != empty(address):
        self._token_approvals[token_id] = empty(address)
    self._balances[owner] = unsafe_sub(self._balances[owner], 1)
    self._balances[to] = unsafe_add(self._balances[to], 1)
    self._set_owner(token_id, to)
    log IERC721.Transfer(sender=owner, receiver=to, token_id=token_id)


@internal
def _mint(owner: address, token_id: uint256, extra: uint96):
    """
    @notice Create `token_id` for `owner` and log `Transfer` from zero.
    @dev Reverts "erc721: mint to the zero address" or "erc721: token
         already minted". Balances cannot overflow: each token counts once.
    @param owner The first owner.
    @param token_id A token id not in use.
    @param extra 96 bits kept with the token (see `_extra`).
    """
    assert owner != empty(address), "erc721: mint to the zero address"
    assert self._holder(token_id) == empty(address), "erc721: token already minted"
    self._balances[owner] = unsafe_add(self._balances[owner], 1)
    self._owners[token_id] = (convert(extra, uint256) << 160) | convert(convert(owner, uint160), uint256)
    log IERC721.Transfer(sender=empty(address), receiver=owner, token_id=token_id)


@internal
def _burn(token_id: uint256):
    """
    @notice Destroy `token_id`, clearing its approval; log `Transfer` to zero.
    @dev Reverts "erc721: invalid token ID". The caller checks who may burn.
    @param token_id The token id.
    """
    owner: address = self._owner_of(token_id)
    if self._token_approvals[token_id] != empty(address):
        self._token_approvals[token_id] = empty(address)
    self._balances[owner] = unsafe_sub(self._balances[owner], 1)
    self._set_owner(token_id, empty(address))
    log IERC721.Transfer(sender=owner, receiver=empty(address), token_id=token_id)
