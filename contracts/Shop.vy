# pragma version ~=0.4.3
"""
@title Datagora Shop
@notice Shopping-cart orders paid in ether through escrow, with the
        double-deposit collateral of Shrestha, Joshi, Vassileva ("Customer
        Data Sharing Platform: A Blockchain-Based Shopping Cart": the smart
        contract imposes double deposit collateral to ensure that all
        participants act honestly). A seller (an audited organisation
        member) opens a shop with its terms (collateral in basis points of
        each order, delivery and confirmation windows) and keeps an ether
        bond. The buyer checks out a cart: the seller's node signs an
        EIP-712 quote CartQuote(orderHash, buyer, amount, expiry) and the
        buyer pays `amount` plus the same collateral, while the seller's
        collateral is locked from its bond. The order hash (the cart's
        hash) names the order: the same cart cannot be paid twice.
        - delivered and confirmed: the seller is owed the amount, the buyer
          its collateral back, the seller's collateral returns to its bond;
        - delivered, not confirmed by the confirmation deadline: anyone
          releases; the seller is owed the amount and the buyer's
          collateral (the buyer forfeits it), its own returns to its bond;
        - not delivered by the delivery deadline: anyone refunds; the buyer
          is owed the amount, its collateral and the seller's.
@dev On the shared escrow module (ether only): bonds and orders are
     `escrowed`, settlements move to `pending_withdrawals`, value leaves
     only through `withdraw`. Invariant: balance == escrowed + sum of
     pending; escrowed == sum of bonds + sum over open orders of amount +
     both collaterals. Order states and outcomes are the sale contracts'
     (modules/states.vy). Orders are packed in 3 slots.
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

from .interfaces import IRegistry
from .modules import escrow
from .modules import states

initializes: eip712_domain_separator
initializes: escrow

exports: (
    eip712_domain_separator.eip712Domain,
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
)


MIN_WINDOW: public(constant(uint256)) = states.MIN_WINDOW
MAX_WINDOW: public(constant(uint256)) = states.MAX_WINDOW
# Collateral is at most 100 % of the order (double deposit: each side
# stakes as much as the trade is worth).
MAX_COLLATERAL_BPS: public(constant(uint256)) = 10_000
MAX_ORDER_AMOUNT: public(constant(uint256)) = 2**96 - 1

# EIP-712 struct the seller's node signs at checkout.
CART_QUOTE_TYPEHASH: public(constant(bytes32)) = keccak256(
    "CartQuote(bytes32 orderHash,address buyer,uint256 amount,uint256 expiry)"
)

REGISTRY: public(immutable(IRegistry))


event ShopTermsSet:
    seller: indexed(address)
    collateral_bps: uint256
    delivery_window: uint256
    confirm_window: uint256

event BondDeposited:
    seller: indexed(address)
    amount: uint256
    bond: uint256

event BondWithdrawn:
    seller: indexed(address)
    amount: uint256
    bond: uint256

event OrderPaid:
    order_hash: indexed(bytes32)
    buyer: indexed(address)
    seller: indexed(address)
    amount: uint256
    collateral: uint256
    deadline: uint256

event OrderDelivered:
    order_hash: indexed(bytes32)
    delivery_hash: bytes32
    confirm_deadline: uint256

event Settled:
    order_hash: indexed(bytes32)
    outcome: indexed(states.Outcome)
    seller_credit: uint256
    buyer_credit: uint256
    bond_returned: uint256


# A seller's terms: collateral_bps | delivery_window << 16 | confirm_window
# << 64 | open << 112 (0 = no shop).
_terms: HashMap[address, uint256]
bonds: public(HashMap[address, uint256])

# Stored form (3 slots): `head` = buyer | state << 160 | deadline << 168;
# `seller`; `money` = amount | collateral << 128.
struct StoredOrder:
    head: uint256
    seller: address
    money: uint256


# Unpacked order returned by `order()`.
struct ShopOrder:
    buyer: address
    seller: address
    amount: uint256
    collateral: uint256
    state: states.OrderState
    deadline: uint256


_orders: HashMap[bytes32, StoredOrder]
order_count: public(uint256)


@deploy
def __init__(registry: address):
    """
    @notice Bind the shop to the Registry whose audited members may sell.
    @param registry The Datagora Registry.
    """
    eip712_domain_separator.__init__("Datagora Shop", "1")
    REGISTRY = IRegistry(registry)


@external
def set_terms(collateral_bps: uint256, delivery_window: uint256, confirm_window: uint256):
    """
    @notice Open the caller's shop or change its terms; orders already paid
            keep theirs.
    @param collateral_bps Collateral each side stakes, in basis points of
           the order amount (0..10,000; 10,000 = the double deposit at 100 %).
    @param delivery_window Seconds the seller has to deliver after payment.
    @param confirm_window Seconds the buyer has to confirm after delivery.
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "shop: seller not audited"
    assert collateral_bps <= MAX_COLLATERAL_BPS, "shop: collateral too high"
    assert delivery_window >= states.MIN_WINDOW and delivery_window <= states.MAX_WINDOW, "shop: bad delivery window"
    assert confirm_window >= states.MIN_WINDOW and confirm_window <= states.MAX_WINDOW, "shop: bad confirm window"
    self._terms[msg.sender] = collateral_bps | (delivery_window << 16) | (confirm_window << 64) | (1 << 112)
    log ShopTermsSet(
        seller=msg.sender, collateral_bps=collateral_bps, delivery_window=delivery_window, confirm_window=confirm_window
    )


@external
@payable
@nonreentrant
def deposit_bond():
    """
    @notice The seller adds `msg.value` wei to its bond, from which the
            collateral of each order is locked.
    """
    assert self._terms[msg.sender] != 0, "shop: no such shop"
    assert msg.value > 0, "shop: zero amount"
    escrow._pull(empty(address), msg.sender, msg.value)
    bond: uint256 = self.bonds[msg.sender] + msg.value
    self.bonds[msg.sender] = bond
    log BondDeposited(seller=msg.sender, amount=msg.value, bond=bond)


@external
@nonreentrant
def withdraw_bond(amount: uint256):
    """
    @notice Take `amount` wei of the caller's free bond back: it becomes
            withdrawable with `withdraw(empty(address))`.
    @param amount Wei, > 0, at most the free bond.
    """
    assert amount > 0, "shop: zero amount"
    bond: uint256 = self.bonds[msg.sender]
    assert amount <= bond, "shop: bond too low"
    bond -= amount
    self.bonds[msg.sender] = bond
    log BondWithdrawn(seller=msg.sender, amount=amount, bond=bond)
    escrow._release(msg.sender, empty(address), amount)


@external
@payable
@nonreentrant
def pay(order_hash: bytes32, seller: address, amount: uint256, expiry: uint256, signature: Bytes[65]):
    """
    @notice Check out a cart: pay `amount` wei plus the buyer's collateral
            (`msg.value` = amount + amount * collateral_bps / 10,000) into
            escrow; the seller's equal collateral is locked from its bond.
    @param order_hash The cart's hash, signed by the seller; names the
           order and can be paid once.
    @param seller The shop.
    @param amount The cart's price in wei (1..MAX_ORDER_AMOUNT).
    @param expiry Unix time (seconds) until which the quote is valid.
    @param signature The seller's 65-byte EIP-712 signature of
           CartQuote(orderHash, buyer = the caller, amount, expiry).
    """
    assert order_hash != empty(bytes32), "shop: empty order hash"
    assert self._orders[order_hash].head == 0, "shop: order already paid"
    terms: uint256 = self._terms[seller]
    assert terms != 0, "shop: no such shop"
    assert seller != msg.sender, "shop: own shop"
    assert amount > 0 and amount <= MAX_ORDER_AMOUNT, "shop: bad amount"
    assert block.timestamp <= expiry, "shop: quote expired"
    assert ecdsa._recover_sig(self._quote_digest(order_hash, msg.sender, amount, expiry), signature) == seller, "shop: bad seller signature"
    collateral: uint256 = amount * (terms & 65535) // 10_000
    assert self.bonds[seller] >= collateral, "shop: seller bond too low"
    assert msg.value == amount + collateral, "shop: wrong value"
    self.bonds[seller] -= collateral
    escrow._pull(empty(address), msg.sender, msg.value)
    deadline: uint256 = block.timestamp + ((terms >> 16) & (2**48 - 1))
    self.order_count += 1
    self._orders[order_hash] = StoredOrder(
        head=(
            convert(convert(msg.sender, uint160), uint256)
            | (convert(states.OrderState.PAID, uint256) << 160)
            | (deadline << 168)
            | (((terms >> 64) & (2**48 - 1)) << 208)
        ),
        seller=seller,
        money=amount | (collateral << 128),
    )
    log OrderPaid(
        order_hash=order_hash, buyer=msg.sender, seller=seller, amount=amount, collateral=collateral, deadline=deadline
    )


@external
def deliver(order_hash: bytes32, delivery_hash: bytes32):
    """
    @notice The seller declares the order delivered (e.g. the hash of the
            shipping note), before the delivery deadline; the buyer's
            confirmation window starts.
    @param order_hash The paid order.
    @param delivery_hash A commitment to the delivery record.
    """
    order: ShopOrder = self._order(order_hash)
    assert order.state == states.OrderState.PAID, "shop: order not paid"
    assert order.seller == msg.sender, "shop: not seller"
    assert block.timestamp <= order.deadline, "shop: delivery deadline passed"
    head: uint256 = self._orders[order_hash].head
    confirm_deadline: uint256 = block.timestamp + (head >> 208)
    self._orders[order_hash].head = (
        (head & (2**160 - 1)) | (convert(states.OrderState.DELIVERED, uint256) << 160) | (confirm_deadline << 168)
    )
    log OrderDelivered(order_hash=order_hash, delivery_hash=delivery_hash, confirm_deadline=confirm_deadline)


@external
@nonreentrant
def confirm(order_hash: bytes32):
    """
    @notice The buyer confirms the delivery: the seller is owed the amount,
            the buyer its collateral back, the seller's collateral returns
            to its bond.
    @param order_hash The delivered order.
    """
    order: ShopOrder = self._order(order_hash)
    assert order.state == states.OrderState.DELIVERED, "shop: order not delivered"
    assert order.buyer == msg.sender, "shop: not buyer"
    self._settle(order_hash, order, states.OrderState.COMPLETED, states.Outcome.CONFIRMED, order.amount, order.collateral)


@external
@nonreentrant
def release(order_hash: bytes32):
    """
    @notice After the confirmation deadline of a delivered order anyone
            releases it: the seller is owed the amount and the buyer's
            collateral, its own collateral returns to its bond.
    @param order_hash The delivered order.
    """
    order: ShopOrder = self._order(order_hash)
    assert order.state == states.OrderState.DELIVERED, "shop: order not delivered"
    assert block.timestamp > order.deadline, "shop: confirmation window open"
    self._settle(order_hash, order, states.OrderState.COMPLETED, states.Outcome.RELEASED, order.amount + order.collateral, 0)


@external
@nonreentrant
def refund(order_hash: bytes32):
    """
    @notice After the delivery deadline of an undelivered order anyone
            refunds it: the buyer is owed the amount, its collateral and
            the seller's (forfeited).
    @param order_hash The paid order.
    """
    order: ShopOrder = self._order(order_hash)
    assert order.state == states.OrderState.PAID, "shop: order not paid"
    assert block.timestamp > order.deadline, "shop: delivery window open"
    self._settle(order_hash, order, states.OrderState.REFUNDED, states.Outcome.NOT_DELIVERED, 0, order.amount + 2 * order.collateral)


@external
@view
def order(order_hash: bytes32) -> ShopOrder:
    """
    @notice An order, unpacked (`deadline` = delivery deadline while Paid,
            confirmation deadline once Delivered).
    @param order_hash The order hash.
    @return The order (state 0 = no such order).
    """
    return self._order(order_hash)


@external
@view
def terms(seller: address) -> (uint256, uint256, uint256, bool):
    """
    @notice A shop's terms.
    @param seller The shop.
    @return Collateral in basis points, delivery window and confirmation
            window in seconds, and whether the shop is open.
    """
    terms: uint256 = self._terms[seller]
    return terms & 65535, (terms >> 16) & (2**48 - 1), (terms >> 64) & (2**48 - 1), terms != 0


@external
@view
def quote_digest(order_hash: bytes32, buyer: address, amount: uint256, expiry: uint256) -> bytes32:
    """
    @notice The EIP-712 digest the seller signs for a cart quote.
    @param order_hash The cart's hash.
    @param buyer The customer who will pay.
    @param amount The price in wei.
    @param expiry Unix time (seconds) until which the quote is valid.
    @return The digest of CartQuote(orderHash, buyer, amount, expiry).
    """
    return self._quote_digest(order_hash, buyer, amount, expiry)


@internal
@view
def _quote_digest(order_hash: bytes32, buyer: address, amount: uint256, expiry: uint256) -> bytes32:
    """
    @notice The EIP-712 digest of CartQuote in this contract's domain.
    @param order_hash The cart's hash.
    @param buyer The customer who will pay.
    @param amount The price in wei.
    @param expiry Unix time (seconds) until which the quote is valid.
    @return The typed-data digest (EIP-712 `hashTypedData`).
    """
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(CART_QUOTE_TYPEHASH, order_hash, buyer, amount, expiry))
    )


@internal
@view
def _order(order_hash: bytes32) -> ShopOrder:
    """
    @notice Unpack a stored order.
    @param order_hash The order hash.
    @return The order (all zero when it does not exist).
    """
    stored: StoredOrder = self._orders[order_hash]
    head: uint256 = stored.head
    return ShopOrder(
        buyer=convert(convert(head & (2**160 - 1), uint160), address),
        seller=stored.seller,
        amount=stored.money & (2**128 - 1),
        collateral=stored.money >> 128,
        state=convert((head >> 160) & 255, states.OrderState),
        deadline=(head >> 168) & (2**40 - 1),
    )


@internal
def _settle(order_hash: bytes32, order: ShopOrder, state: states.OrderState, outcome: states.Outcome, seller_credit: uint256, buyer_credit: uint256):
    """
    @notice Close an order: set its state, owe each party its credit and,
            unless the seller forfeited it, return the seller's collateral
            to its bond.
    @param order_hash The order.
    @param order The order, unpacked.
    @param state OrderState.COMPLETED or REFUNDED.
    @param outcome The settlement outcome (a states.Outcome member).
    @param seller_credit Wei owed to the seller.
    @param buyer_credit Wei owed to the buyer.
    """
    bond_returned: uint256 = 0
    if outcome != states.Outcome.NOT_DELIVERED:
        bond_returned = order.collateral
    head: uint256 = self._orders[order_hash].head
    self._orders[order_hash].head = (head & ~(255 << 160)) | (convert(state, uint256) << 160)
    self.bonds[order.seller] += bond_returned
    log Settled(
        order_hash=order_hash,
        outcome=outcome,
        seller_credit=seller_credit,
        buyer_credit=buyer_credit,
        bond_returned=bond_returned,
    )
    escrow._release(order.seller, empty(address), seller_credit)
    escrow._release(order.buyer, empty(address), buyer_credit)
