"""Offers: the sale of a dataset through escrow (``Market`` listings). ``POST /offers`` lists its ownership at a
fixed price, for negotiation or by English auction (``datagora.services.market.OwnershipTerms``), with the
double-deposit collateral and the payment token; ``POST /offers/use-right`` sells use-rights
per query under a W3C ODRL policy (Wu et al. section II); ``GET /offers/{id}`` shows any listing (fixed price,
negotiation, auction or use-right) and ``GET /offers/{id}/policy`` the usage policy of a use-right listed by this
node."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import (
    ListingCreated,
    ListingIn,
    ListingOut,
    PolicyOut,
    TxOut,
    UseRightCreated,
    UseRightIn,
    hex0x,
)
from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import ETHER, Pricing
from datagora.query import UsagePolicy
from datagora.services import market, use_rights
from datagora.services.use_rights import policy_hash_on_chain

router = APIRouter(prefix="/offers", tags=["offers"])


def listing_out(contracts: Contracts, listing_id: int) -> ListingOut:
    """The listing with its auction's state when it is one. Raises ``NotFoundError``."""
    listing = contracts.market.listing(listing_id)
    auction = contracts.market.auction(listing_id) if listing.pricing == Pricing.AUCTION else None
    return ListingOut.of(listing, auction)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ListingCreated)
def create_offer(body: ListingIn, node: NodeDep, _: OperatorDep) -> ListingCreated:
    """List a dataset the node's account owns at a fixed price, for negotiation (``pricing: negotiated``, buyers
    then use ``/negotiations``) or by English auction (``pricing: auction`` with ``min_increment_wei`` and
    ``duration``; bids at ``/auctions``), posting the collateral (default: 100 % of the price) and the platform's
    management fee; approves the market for its data NFTs (and the ERC-20) first when needed. Operator only."""
    terms = market.OwnershipTerms(
        Pricing[body.pricing.upper()],
        body.price_wei,
        delivery_window=body.delivery_window,
        confirm_window=body.confirm_window,
        collateral=body.collateral_wei,
        payment_token=body.payment_token or ETHER,
        min_increment=body.min_increment_wei,
        duration=body.duration,
    )
    with node.acting():
        listing_id, txs = market.list_ownership(node.contracts, node.participant, body.token_id, terms)
    return ListingCreated(offer=listing_out(node.contracts, listing_id), txs=[TxOut.of(t) for t in txs])


@router.get("/{listing_id}", response_model=ListingOut)
def get_offer(listing_id: IdPath, node: NodeDep, _: ReaderDep) -> ListingOut:
    """One listing, read from ``Market`` (with the auction's highest bid for an auction)."""
    return listing_out(node.contracts, listing_id)


@router.post(
    "/use-right",
    status_code=status.HTTP_201_CREATED,
    response_model=UseRightCreated,
    responses={422: {"description": "Malformed ODRL policy, or the dataset is not a table"}},
)
def create_use_right(body: UseRightIn, node: NodeDep, _: OperatorDep) -> UseRightCreated:
    """Sell use-rights per query on a tabular dataset the node's account owns (it keeps the NFT): a price per
    query, the most queries one order may buy, the usage window and a W3C ODRL 2.2 policy (default: aggregates
    only, groups of at least 5 rows, no raw rows, differentially private answers unless ``exact_answers``). The
    node keeps the policy and enforces it on every query; its keccak256 goes on chain. Pays the platform's
    management fee. Operator only."""
    if body.policy is not None and body.exact_answers:
        raise ValidationError("exact_answers is for the default policy; say datagora:exactAnswers in your policy")
    policy = None if body.policy is None else UsagePolicy.from_jsonld(body.policy)
    if policy is None and body.exact_answers:
        policy = use_rights.default_policy(
            node.contracts.chain.chain_id, node.participant.address, body.token_id, exact_answers=True
        )
    with node.acting():
        listing_id, tx = use_rights.list_use_right(
            node.contracts,
            node.participant,
            body.token_id,
            body.price_per_query_wei,
            policy,
            max_queries=body.max_queries,
            usage_window=body.usage_window,
            payment_token=body.payment_token or ETHER,
        )
    listed = use_rights.policy_of(node.participant, listing_id)  # with the listing's odrl:count
    return UseRightCreated(
        offer=listing_out(node.contracts, listing_id),
        policy=listed.to_jsonld(),
        policy_hash=hex0x(listed.policy_hash()),
        tx=TxOut.of(tx),
    )


@router.get("/{listing_id}/policy", response_model=PolicyOut)
def get_policy(listing_id: IdPath, node: NodeDep, _: ReaderDep) -> PolicyOut:
    """The ODRL usage policy of a use-right this node listed (404 on any other node), with the hash the listing
    committed on chain: a buyer reads the terms before it pays and can check they are the committed ones."""
    listing = node.contracts.market.listing(listing_id)
    policy = use_rights.policy_of(node.participant, listing_id)
    on_chain = policy_hash_on_chain(node.contracts, listing_id)
    return PolicyOut(
        listing_id=listing_id,
        token_id=listing.token_id,
        policy=policy.to_jsonld(),
        policy_hash=hex0x(policy.policy_hash()),
        on_chain_hash=None if on_chain is None else hex0x(on_chain),
        matches_chain=on_chain == policy.policy_hash(),
    )
