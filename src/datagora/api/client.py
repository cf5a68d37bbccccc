"""An HTTP client of a Datagora node, signing in with Ethereum (EIP-4361), for the CLI, other nodes and tests.

    client = NodeClient("http://127.0.0.1:8000", account)     # account: eth_account LocalAccount
    hits = client.search(q="income").hits                     # signs in on first use, again when the session ends

Each route method returns the route's response model (``datagora.api.schemas``, ``datagora.api.market_schemas``);
an answer that does not fit it raises :class:`RemoteError` (502). The client is also the services' peer: a
``RelayPeer`` (relay upload, notices), a ``QueryPeer`` (:meth:`NodeClient.submit_query`) and a ``DeliverySource``
(:meth:`NodeClient.download_delivery`, :meth:`NodeClient.download_relayed`).

``datagora.api.remote_attestor`` puts the platform's node behind the ``Attestor`` surface ``services.publishing``
uses. Importing this module needs no FastAPI and no siwe (``datagora.api.signin_message`` builds the EIP-4361 text).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from datagora.api.market_schemas import (
    AuctionTxOut,
    DisputedOut,
    ExpiredOut,
    NegotiatedOrderOut,
    NegotiationOut,
    NegotiationTxOut,
    RatingOut,
    ReputationOut,
    SettledOut,
)
from datagora.api.schemas import (
    AskedOut,
    AttestationOut,
    AuditTrailOut,
    BoardEntryOut,
    BoardOut,
    DatasetDetail,
    DeadlinesOut,
    DeliveredOut,
    DeliveryCheckOut,
    DisclosureOut,
    ListingCreated,
    ListingOut,
    MeOut,
    NodeInfo,
    OrderOut,
    OrderTxOut,
    OrganisationOut,
    OrganisationTxOut,
    Out,
    PolicyOut,
    PrivacyBudgetOut,
    PublishedOut,
    QueryAnswerOut,
    ReceivedOut,
    RelayedOut,
    RelayOut,
    ResolutionOut,
    RetiredOut,
    ReuploadOut,
    SampleSearchOut,
    SearchOut,
    UseRightCreated,
    WithdrawalOut,
)
from datagora.api.signin_message import normalise_uri, siwe_message
from datagora.domain.errors import DatagoraError
from datagora.domain.models import TxResult

if TYPE_CHECKING:
    from datagora.services.consent import Delivery as ConsentDelivery
    from datagora.services.relay import DeliveryNotice
    from datagora.services.use_rights import QueryAnswer, QueryRequest

CLIENT_KEEPALIVE_S = 2.0
"""Seconds the client keeps an idle connection for reuse: well under any server's idle timeout (uvicorn: 5 s by
default, 30 s on ``datagora serve``), so a request is never sent on a connection the server is closing."""


def http_client(timeout: float) -> httpx.Client:
    """A new ``httpx.Client`` for talking to nodes: ``timeout`` in seconds, idle connections dropped after
    :data:`CLIENT_KEEPALIVE_S`."""
    return httpx.Client(timeout=timeout, limits=httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_S))


IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

M = TypeVar("M", bound=BaseModel)

CHUNK = 1 << 20


class RemoteError(DatagoraError):
    """Another node answered with an error (``status`` its HTTP status, 0 when it could not be reached)."""

    def __init__(self, status: int, detail: str, url: str = "", body: dict[str, Any] | None = None) -> None:
        self.status = status
        self.detail = detail
        self.url = url
        self.body = body or {}
        where = f"{url}: " if url else ""
        super().__init__(f"{where}{detail}" if status == 0 else f"{where}HTTP {status}: {detail}")


class NodeClient:
    """A signed-in client of the node at ``base_url`` acting as ``account``.

    ``http`` is the ``httpx.Client`` to send through (default: a new one; tests pass Starlette's
    ``TestClient``, which routes to an app in process). ``domain`` is the SIWE domain to name (default: the
    ``host[:port]`` of ``base_url``). Sign-in signs only for ``base_url`` itself: a node whose nonce names another
    URI or domain is refused (:class:`RemoteError`, status 0), as it could be relaying another node's sign-in.
    Errors from the node raise :class:`RemoteError` with its ``detail``. Thread-safe."""

    def __init__(
        self,
        base_url: str,
        account: LocalAccount,
        *,
        http: httpx.Client | None = None,
        domain: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.domain = domain or urlsplit(self.base_url).netloc
        self.http = http if http is not None else http_client(timeout)
        self._own_http = http is None
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            try:
                return self.http.request(method, self.url(path), **kwargs)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # A pooled connection the server closed while idle (seen as a disconnect, or as a reset when the
                # close crosses the request): an idempotent request is sent once more on a fresh connection
                # (RFC 9110 section 9.2.2); anything else is reported, never sent twice.
                if method.upper() not in IDEMPOTENT:
                    raise
                return self.http.request(method, self.url(path), **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(0, f"cannot reach the node: {exc}", self.url(path)) from exc

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            body: dict[str, Any] = {}
            try:
                parsed = response.json()
                body = parsed if isinstance(parsed, dict) else {}
            except ValueError:
                pass
            detail = str(
                body.get("detail")
                or response.headers.get("X-Datagora-Error")
                or response.text[:500]
                or response.reason_phrase
            )
            raise RemoteError(response.status_code, detail, str(response.request.url), body)
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        body: Callable[[], dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """Send a request (signed in when ``auth``), signing in again and retrying once on a 401. ``body``
        builds fresh request arguments per attempt (for uploads). Raises :class:`RemoteError`."""
        for attempt in (1, 2):
            sent = dict(headers or {})
            if auth:
                sent["Authorization"] = f"Bearer {self.token()}"
            response = self._send(method, path, headers=sent, **kw, **(body() if body is not None else {}))
            if response.status_code == 401 and auth and attempt == 1:
                self._forget()
                continue
            return self._check(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget(self) -> None:
        with self._lock:
            self._token = None

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    # -- sign-in -----------------------------------------------------------------------------------------

    def token(self) -> str:
        """The session token, signing in first when there is none."""
        with self._lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def login(self) -> str:
        """Sign in now (EIP-4361) and return the new session token."""
        with self._lock:
            self._token = self._login()
            return self._token

    def _login(self) -> str:
        challenge = self._check(self._send("GET", "/auth/nonce")).json()
        named = str(challenge.get("uri") or "")
        if normalise_uri(named) != normalise_uri(self.base_url):
            # A node that hands out a nonce for another URI may be relaying another node's sign-in (EIP-4361
            # security considerations): never sign a message that could open a session elsewhere.
            refused = f"refusing to sign in: the node asks to sign for {named or 'no URI'!r}, not for itself"
            raise RemoteError(0, refused, self.base_url)
        if str(challenge.get("domain")) != self.domain:
            refused = f"refusing to sign in: the node names another domain than {self.domain}"
            raise RemoteError(0, refused, self.base_url)
        message = siwe_message(
            domain=self.domain,
            address=self.account.address,
            uri=self.base_url,
            chain_id=int(challenge["chain_id"]),
            nonce=str(challenge["nonce"]),
            issued_at=datetime.now(UTC),
        )
        signature = self.account.sign_message(encode_defunct(text=message)).signature
        session = self._check(
            self._send("POST", "/auth/login", json={"message": message, "signature": "0x" + bytes(signature).hex()})
        ).json()
        return str(session["token"])

    def logout(self) -> None:
        with self._lock:
            token, self._token = self._token, None
        if token is not None:
            self._check(self._send("POST", "/auth/logout", headers={"Authorization": f"Bearer {token}"}))

    # -- routes ------------------------------------------------------------------------------------------
    # Each returns the route's response model (``datagora.api.schemas``); an answer that does not fit it raises
    # RemoteError with status 502.

    def call(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        """Send a request (as :meth:`request`) and parse the JSON answer as ``model``. Raises
        :class:`RemoteError`."""
        response = self.request(method, path, **kw)
        try:
            return model.model_validate(response.json())
        except (ValueError, PydanticValidationError) as exc:
            detail = f"unreadable answer (not a {model.__name__}): {' '.join(str(exc).split())[:300]}"
            raise RemoteError(502, detail, str(response.request.url)) from exc

    def node_info(self) -> NodeInfo:
        return self.call(NodeInfo, "GET", "/node", auth=False)

    def me(self) -> MeOut:
        return self.call(MeOut, "GET", "/auth/me")

    def register_organisation(self, name: str) -> OrganisationTxOut:
        return self.call(OrganisationTxOut, "POST", "/organisations", json={"name": name})

    def organisation(self, ref: str | int) -> OrganisationOut:
        return self.call(OrganisationOut, "GET", f"/organisations/{ref}")

    def set_status(self, organisation_id: int, status: str) -> OrganisationTxOut:
        return self.call(OrganisationTxOut, "POST", f"/organisations/{organisation_id}/status", json={"status": status})

    def search(self, **params: Any) -> SearchOut:
        """``GET /datasets`` with ``q``, ``domain``, ``owner``, ``min_price``, ``max_price``, ``sale_kind``,
        ``pricing``, ``limit``, ``offset``."""
        return self.call(SearchOut, "GET", "/datasets", params={k: v for k, v in params.items() if v is not None})

    def dataset(self, token_id: int) -> DatasetDetail:
        return self.call(DatasetDetail, "GET", f"/datasets/{token_id}")

    def retire_dataset(self, token_id: int) -> RetiredOut:
        """``POST /datasets/{id}/retire``: the node retires its dataset and destroys its data (operator only)."""
        return self.call(RetiredOut, "POST", f"/datasets/{token_id}/retire")

    def publish(self, path: Path, *, name: str | None = None, domain: str = "general") -> PublishedOut:
        """Upload ``path`` to the node, which encrypts it into its store, obtains the platform's attestation
        and mints the dataset."""
        data = {"domain": domain, **({"name": name} if name else {})}
        with path.open("rb") as fh:

            def fresh() -> dict[str, Any]:
                fh.seek(0)
                return {"files": {"file": (path.name, fh)}, "data": data}

            return self.call(PublishedOut, "POST", "/datasets", body=fresh)

    def attest(self, request_ciphertext: bytes) -> AttestationOut:
        return self.call(
            AttestationOut,
            "POST",
            "/attestations",
            content=request_ciphertext,
            headers={"Content-Type": "application/octet-stream"},
        )

    def record_published(self, fingerprint: bytes, token_id: int) -> None:
        self.request("POST", "/attestations/published", json={"fingerprint": fingerprint.hex(), "token_id": token_id})

    def sample_searches(self, account: str | None = None) -> list[SampleSearchOut]:
        """``GET /attestations/searches`` on the platform's node (supervisor or platform operator)."""
        params = {"account": account} if account else None
        return [
            SampleSearchOut.model_validate(r)
            for r in self.request("GET", "/attestations/searches", params=params).json()
        ]

    def search_by_sample(self, ciphertext: bytes) -> bytes:
        """``POST /attestations/samples`` on the platform's node: ``E_PkP(f_d)`` in, ``E_PkB(ids)`` out."""
        return self.request(
            "POST", "/attestations/samples", content=ciphertext, headers={"Content-Type": "application/octet-stream"}
        ).content

    def list_offer(
        self,
        token_id: int,
        price_wei: int,
        *,
        pricing: str | None = None,
        delivery_window: int | None = None,
        confirm_window: int | None = None,
        collateral_wei: int | None = None,
        payment_token: str | None = None,
        min_increment_wei: int | None = None,
        duration: int | None = None,
    ) -> ListingCreated:
        """``POST /offers``: list ``token_id``'s ownership at a fixed price, for negotiation (``pricing=
        "negotiated"``, ``price_wei`` the asking price) or by English auction (``pricing="auction"``, ``price_wei``
        the reserve, with ``min_increment_wei`` and ``duration``). Collateral default: 100 % of the price; payment
        default: ether."""
        body: dict[str, Any] = {"token_id": token_id, "price_wei": price_wei}
        optional = {
            "pricing": pricing,
            "delivery_window": delivery_window,
            "confirm_window": confirm_window,
            "collateral_wei": collateral_wei,
            "payment_token": payment_token,
            "min_increment_wei": min_increment_wei,
            "duration": duration,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return self.call(ListingCreated, "POST", "/offers", json=body)

    def offer(self, listing_id: int) -> ListingOut:
        return self.call(ListingOut, "GET", f"/offers/{listing_id}")

    # -- negotiation and auctions (Wu et al. section III.A, pricing module) ---------------------------------

    def make_offer(self, listing_id: int, amount_wei: int, *, valid_for: int | None = None) -> NegotiationTxOut:
        """``POST /negotiations``: offer ``amount_wei`` for a negotiable listing (escrowed with the collateral)."""
        body: dict[str, Any] = {"listing_id": listing_id, "amount_wei": amount_wei}
        if valid_for is not None:
            body["valid_for"] = valid_for
        return self.call(NegotiationTxOut, "POST", "/negotiations", json=body)

    def negotiation(self, offer_id: int) -> NegotiationOut:
        return self.call(NegotiationOut, "GET", f"/negotiations/{offer_id}")

    def counter_offer(self, offer_id: int, amount_wei: int) -> NegotiationTxOut:
        """``POST /negotiations/{id}/counter`` (the seller's node)."""
        return self.call(NegotiationTxOut, "POST", f"/negotiations/{offer_id}/counter", json={"amount_wei": amount_wei})

    def accept_offer(self, offer_id: int) -> NegotiatedOrderOut:
        """``POST /negotiations/{id}/accept`` (the seller's node): the offer becomes an order."""
        return self.call(NegotiatedOrderOut, "POST", f"/negotiations/{offer_id}/accept")

    def accept_counter(self, offer_id: int, counter_wei: int) -> NegotiatedOrderOut:
        """``POST /negotiations/{id}/accept-counter`` (the buyer's node): the counter ``counter_wei`` becomes an
        order (refused when the seller countered again)."""
        return self.call(
            NegotiatedOrderOut, "POST", f"/negotiations/{offer_id}/accept-counter", json={"counter_wei": counter_wei}
        )

    def reject_offer(self, offer_id: int) -> NegotiationTxOut:
        """``POST /negotiations/{id}/reject`` (the seller's node)."""
        return self.call(NegotiationTxOut, "POST", f"/negotiations/{offer_id}/reject")

    def withdraw_offer(self, offer_id: int) -> NegotiationTxOut:
        """``POST /negotiations/{id}/withdraw`` (the buyer's node; anyone's once it expired)."""
        return self.call(NegotiationTxOut, "POST", f"/negotiations/{offer_id}/withdraw")

    def auction(self, listing_id: int) -> ListingOut:
        return self.call(ListingOut, "GET", f"/auctions/{listing_id}")

    def bid(self, listing_id: int, amount_wei: int) -> AuctionTxOut:
        """``POST /auctions/{id}/bids``: bid ``amount_wei`` (escrowed with the bidder's collateral)."""
        return self.call(AuctionTxOut, "POST", f"/auctions/{listing_id}/bids", json={"amount_wei": amount_wei})

    def settle_auction(self, listing_id: int) -> SettledOut:
        """``POST /auctions/{id}/settle`` after the end: the highest bid becomes an order (``order`` None: no bid)."""
        return self.call(SettledOut, "POST", f"/auctions/{listing_id}/settle")

    # -- use-rights per query (Wu et al. section II) -------------------------------------------------------

    def list_use_right(
        self,
        token_id: int,
        price_per_query_wei: int,
        *,
        max_queries: int | None = None,
        usage_window: int | None = None,
        policy: dict[str, Any] | None = None,
        payment_token: str | None = None,
        exact_answers: bool = False,
    ) -> UseRightCreated:
        """``POST /offers/use-right``: sell use-rights per query on ``token_id`` under the ODRL ``policy``
        (JSON-LD; default: the node's, aggregates only with groups of at least 5 rows, differentially private
        unless ``exact_answers``)."""
        body: dict[str, Any] = {"token_id": token_id, "price_per_query_wei": price_per_query_wei}
        if exact_answers:
            body["exact_answers"] = True
        optional = {
            "max_queries": max_queries,
            "usage_window": usage_window,
            "policy": policy,
            "payment_token": payment_token,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return self.call(UseRightCreated, "POST", "/offers/use-right", json=body)

    def use_right_policy(self, listing_id: int) -> PolicyOut:
        """``GET /offers/{id}/policy`` on the seller's node: the ODRL policy and whether it is the one on chain."""
        return self.call(PolicyOut, "GET", f"/offers/{listing_id}/policy")

    def privacy_budget(self, order_id: int) -> PrivacyBudgetOut:
        """``GET /orders/{id}/privacy-budget`` on the seller's node, as the order's buyer or seller: the buyer
        organisation's differential-privacy budget on the dataset, spent across all its orders."""
        return self.call(PrivacyBudgetOut, "GET", f"/orders/{order_id}/privacy-budget")

    def run_query(self, request: QueryRequest) -> QueryAnswerOut:
        """``POST /orders/{id}/queries`` on the seller's node, as the order's buyer: the signed ``request``
        (``datagora.services.use_rights.sign_query``) in, the answer out. Check the result with
        ``use_rights.verify_answer``, or run the whole flow with ``use_rights.ask``."""
        return self.call(QueryAnswerOut, "POST", f"/orders/{request.order_id}/queries", json=request.to_dict())

    def submit_query(self, request: QueryRequest) -> QueryAnswer:
        """:meth:`run_query` as the services' ``QueryPeer``: the answer as a ``use_rights.QueryAnswer``."""
        from datagora.query import QueryResult
        from datagora.services.use_rights import QueryAnswer

        doc = self.run_query(request)
        try:
            result = QueryResult.from_dict(doc.result.model_dump())
        except DatagoraError as exc:
            raise RemoteError(502, f"the seller's node sent no readable result: {exc}", self.base_url) from exc
        return QueryAnswer(doc.order_id, doc.index, result, TxResult(doc.tx_hash, doc.gas_used, doc.block_number))

    def ask_query(self, order_id: int, query: dict[str, Any], seller_url: str) -> AskedOut:
        """``POST /orders/{id}/ask`` on the buyer's node, as its operator: the node signs the next query of
        ``order_id``, runs it on the seller's node at ``seller_url`` and verifies the answer against the chain."""
        return self.call(AskedOut, "POST", f"/orders/{order_id}/ask", json={"seller_url": seller_url, "query": query})

    # -- orders --------------------------------------------------------------------------------------------

    def buy(self, listing_id: int, value_wei: int | None = None, *, queries: int | None = None) -> OrderTxOut:
        """``POST /orders``: pay a fixed-price listing into escrow or, with ``queries``, prepay that many queries
        of a use-right listing."""
        body: dict[str, Any] = {"listing_id": listing_id}
        if value_wei is not None:
            body["value_wei"] = value_wei
        if queries is not None:
            body["queries"] = queries
        return self.call(OrderTxOut, "POST", "/orders", json=body)

    def order(self, order_id: int) -> OrderOut:
        return self.call(OrderOut, "GET", f"/orders/{order_id}")

    def order_action(self, order_id: int, action: str, body: dict[str, Any] | None = None) -> Out:
        """``POST /orders/{id}/{action}``: ``deliver`` (:class:`DeliveredOut`), ``relay`` (:class:`RelayOut`),
        ``receive`` (body ``{"seller_url": …}`` or ``{"relay_url": …}``; :class:`ReceivedOut`), ``confirm``,
        ``refund`` or ``release`` (:class:`OrderTxOut`), ``dispute`` (:class:`DisputedOut`), ``reupload``
        (:class:`ReuploadOut`), ``disclose`` (:class:`DisclosureOut`), ``expire`` (:class:`ExpiredOut`). Prefer the
        named methods."""
        model = _ORDER_ACTIONS.get(action)
        if model is None:
            raise ValueError(f"unknown order action {action!r}: one of {', '.join(_ORDER_ACTIONS)}")
        return self.call(model, "POST", f"/orders/{order_id}/{action}", json=body)

    def deliver(self, order_id: int, *, relay_url: str | None = None) -> DeliveredOut:
        """``POST /orders/{id}/deliver`` (the seller's node), relayed through the platform at ``relay_url``."""
        body = {"relay_url": relay_url} if relay_url is not None else None
        return self.call(DeliveredOut, "POST", f"/orders/{order_id}/deliver", json=body)

    def receive(self, order_id: int, *, seller_url: str | None = None, relay_url: str | None = None) -> ReceivedOut:
        """``POST /orders/{id}/receive`` (the buyer's node): fetch from the seller's node or the relay, check,
        decrypt."""
        body = {k: v for k, v in (("seller_url", seller_url), ("relay_url", relay_url)) if v is not None}
        return self.call(ReceivedOut, "POST", f"/orders/{order_id}/receive", json=body)

    def consent_delivery(self, access_tx: str) -> ConsentDelivery:
        """``GET /consent/deliveries/{tx}`` (the shop node, no sign-in): the item of the access recorded in
        ``access_tx``, encrypted to its consumer; check it with ``datagora.services.consent.receive``."""
        import base64

        from datagora.services.consent import Delivery

        body = self.json("GET", f"/consent/deliveries/{access_tx}", auth=False)
        return Delivery(
            int(body["item_id"]),
            str(body["access_tx"]),
            str(body["consumer"]),
            base64.b64decode(body["envelope"]),
            bytes.fromhex(body["wrapped_key"]),
        )

    def confirm(self, order_id: int) -> OrderTxOut:
        return self.call(OrderTxOut, "POST", f"/orders/{order_id}/confirm")

    def refund(self, order_id: int) -> OrderTxOut:
        return self.call(OrderTxOut, "POST", f"/orders/{order_id}/refund")

    def release(self, order_id: int) -> OrderTxOut:
        return self.call(OrderTxOut, "POST", f"/orders/{order_id}/release")

    def dispute(self, order_id: int, reason: str) -> DisputedOut:
        """``POST /orders/{id}/dispute`` (the buyer's node): dispute a delivered order; the platform arbitrates."""
        return self.call(DisputedOut, "POST", f"/orders/{order_id}/dispute", json={"reason": reason})

    def send_reupload(self, order_id: int, platform_url: str) -> ReuploadOut:
        """``POST /orders/{id}/reupload`` on the seller's node: it uploads ``E_PkP(D')`` of the disputed order to
        the platform's node at ``platform_url`` and returns the platform's receipt."""
        return self.call(ReuploadOut, "POST", f"/orders/{order_id}/reupload", json={"platform_url": platform_url})

    def send_disclosure(self, order_id: int, platform_url: str) -> DisclosureOut:
        """``POST /orders/{id}/disclose`` on the buyer's node: it discloses ``E_PkP(k)`` of the delivery it received
        to the platform's node at ``platform_url`` and returns the platform's receipt."""
        return self.call(DisclosureOut, "POST", f"/orders/{order_id}/disclose", json={"platform_url": platform_url})

    def expire(self, order_id: int) -> ExpiredOut:
        """``POST /orders/{id}/expire``: close a use-right order after its usage window."""
        return self.call(ExpiredOut, "POST", f"/orders/{order_id}/expire")

    def rate(self, order_id: int, score: int) -> RatingOut:
        """``POST /ratings``: rate the other party of a settled order, 1..5."""
        return self.call(RatingOut, "POST", "/ratings", json={"order_id": order_id, "score": score})

    def reputation(self, address: str) -> ReputationOut:
        return self.call(ReputationOut, "GET", f"/ratings/{address}")

    def withdraw(self, payment_token: str | None = None) -> WithdrawalOut:
        """``POST /withdrawals``: everything the Market owes the node's account in ether or ``payment_token``."""
        body = {"payment_token": payment_token} if payment_token is not None else None
        return self.call(WithdrawalOut, "POST", "/withdrawals", json=body)

    def audit(self, *, format: str = "json", **filters: Any) -> AuditTrailOut | str:
        """The supervisor's audit trail: :class:`AuditTrailOut` (``format="json"``) or the CSV text."""
        params = {"format": format, **{k: v for k, v in filters.items() if v is not None}}
        if format == "csv":
            return self.request("GET", "/audit", params=params).text
        return self.call(AuditTrailOut, "GET", "/audit", params=params)

    def download_delivery(
        self,
        order_id: int,
        dest: Path,
        *,
        expected_sha256: bytes | None = None,
        path: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """Fetch the ciphertext of ``order_id`` from the seller's node (``GET /deliveries/{id}``, or ``path``)
        into ``dest``.

        Resumable: bytes already in ``dest.part`` are kept and only the rest is requested (HTTP Range, with
        ``If-Range`` on the expected hash so a changed file is fetched whole). With ``expected_sha256`` (the
        delivery hash on chain) the file is checked before it is renamed to ``dest``. Raises
        :class:`RemoteError` (status 502 on a hash mismatch: nothing is left at ``dest``). ``progress(done,
        total)`` is called with bytes on disk and the full size (None when the server does not say)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        path = path or f"/deliveries/{order_id}"
        for attempt in (1, 2):
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Authorization": f"Bearer {self.token()}"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if expected_sha256 is not None:
                    headers["If-Range"] = f'"{expected_sha256.hex()}"'
            try:
                with self.http.stream("GET", self.url(path), headers=headers) as response:
                    if response.status_code == 401 and attempt == 1:
                        self._forget()
                        continue
                    if response.status_code == 416:  # nothing left to fetch, or a stale part: start over
                        part.unlink(missing_ok=True)
                        continue
                    if response.status_code >= 400:
                        response.read()
                        self._check(response)
                    mode = "ab" if response.status_code == 206 else "wb"
                    done = offset if response.status_code == 206 else 0
                    length = response.headers.get("Content-Length")
                    total = done + int(length) if length and length.isdigit() else None
                    with part.open(mode) as fh:
                        for chunk in response.iter_bytes(CHUNK):
                            fh.write(chunk)
                            done += len(chunk)
                            if progress is not None:
                                progress(done, total)
            except httpx.HTTPError as exc:
                raise RemoteError(0, f"download interrupted: {exc}", self.url(path)) from exc
            break
        else:
            raise RemoteError(0, "download refused twice (session or range)", self.url(path))
        if expected_sha256 is not None:
            digest = hashlib.sha256()
            with part.open("rb") as fh:
                while piece := fh.read(CHUNK):
                    digest.update(piece)
            if digest.digest() != expected_sha256:
                part.unlink(missing_ok=True)
                raise RemoteError(
                    502, f"delivery of order {order_id} does not match the delivery hash on chain", self.url(path)
                )
        part.replace(dest)
        return dest

    # -- the platform's relay and send-receive board (Wu et al. section III.A steps 13-22) ----------------

    def download_relayed(
        self,
        order_id: int,
        dest: Path,
        *,
        expected_sha256: bytes | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """:meth:`download_delivery` from the platform's relay (``GET /relay/{id}``), as the order's buyer."""
        return self.download_delivery(
            order_id, dest, expected_sha256=expected_sha256, path=f"/relay/{order_id}", progress=progress
        )

    def relay_upload(self, order_id: int, src: BinaryIO, size: int) -> RelayedOut:
        """Upload the ciphertext of ``order_id`` (``size`` bytes read from ``src``, streamed in 1 MiB pieces)
        to the platform's relay (``PUT /relay/{id}``), as the order's seller."""
        start = src.tell()

        def pieces() -> Iterator[bytes]:
            while piece := src.read(CHUNK):
                yield piece

        def fresh() -> dict[str, Any]:
            src.seek(start)
            return {"content": pieces()}

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        return self.call(RelayedOut, "PUT", f"/relay/{order_id}", body=fresh, headers=headers)

    def relay_notice(
        self, notice: DeliveryNotice, signature: bytes, *, encrypted_fingerprint: bytes | None = None
    ) -> BoardEntryOut:
        """Post a signed "sent" or "received" notice to the platform's send-receive board, with the author's
        fingerprint encrypted to the platform (``E_PkP(f)``) when given."""
        body: dict[str, Any] = {
            "order_id": notice.order_id,
            "seller": notice.seller,
            "buyer": notice.buyer,
            "delivery_hash": "0x" + notice.delivery_hash.hex(),
            "timestamp": notice.timestamp,
            "received": notice.received,
            "signature": "0x" + signature.hex(),
            "fingerprint_hash": "0x" + notice.fingerprint_hash.hex(),
        }
        if encrypted_fingerprint is not None:
            body["encrypted_fingerprint"] = "0x" + encrypted_fingerprint.hex()
        return self.call(BoardEntryOut, "POST", "/relay/notices", json=body)

    def relay_board(self, order_id: int) -> BoardOut:
        """The send-receive board of ``order_id`` (the order's parties and the supervisor)."""
        return self.call(BoardOut, "GET", f"/relay/board/{order_id}")

    # -- disputes and deadlines on the platform's node (Wu et al. section IV.A.3-5) -----------------------

    def reupload(self, order_id: int, src: BinaryIO, size: int) -> ReuploadOut:
        """``PUT /relay/{id}/reupload``, as the seller of the disputed ``order_id``: stream ``size`` bytes of
        ``E_PkP(D')`` from ``src`` (``datagora.services.disputes.reupload_for_arbitration`` writes them)."""
        start = src.tell()

        def pieces() -> Iterator[bytes]:
            while piece := src.read(CHUNK):
                yield piece

        def fresh() -> dict[str, Any]:
            src.seek(start)
            return {"content": pieces()}

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        return self.call(ReuploadOut, "PUT", f"/relay/{order_id}/reupload", body=fresh, headers=headers)

    def disclose(self, order_id: int, encrypted_key: bytes) -> DisclosureOut:
        """``POST /relay/{id}/disclosure``, as the buyer of the disputed ``order_id``: ``E_PkP(k)`` from
        ``datagora.services.disputes.disclose_received_key``."""
        body = {"encrypted_key": "0x" + encrypted_key.hex()}
        return self.call(DisclosureOut, "POST", f"/relay/{order_id}/disclosure", json=body)

    def check_delivery(self, order_id: int) -> DeliveryCheckOut:
        """``POST /disputes/{id}/check`` (platform operator): step 22; the platform disputes on a mismatch."""
        return self.call(DeliveryCheckOut, "POST", f"/disputes/{order_id}/check")

    def arbitrate(self, order_id: int) -> ResolutionOut:
        """``POST /disputes/{id}/arbitrate`` (platform operator): rule on the disputed order with the evidence the
        platform holds; ``{ruling, seller_honest, content_match, similarity, transmitted_ok, evidence_hash,
        buyer_copy, tx, order}``."""
        return self.call(ResolutionOut, "POST", f"/disputes/{order_id}/arbitrate")

    def enforce_deadlines(self, first_order: int | None = None) -> DeadlinesOut:
        """``POST /deadlines/enforce`` (platform operator): settle every order past its deadline."""
        body = {"first_order": first_order} if first_order is not None else None
        return self.call(DeadlinesOut, "POST", "/deadlines/enforce", json=body)

    def download_copy(
        self,
        order_id: int,
        dest: Path,
        *,
        expected_sha256: bytes | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        """:meth:`download_delivery` of the buyer's copy ``E_PkB(D')`` an arbitration made
        (``GET /disputes/{id}/copy``), as the order's buyer."""
        return self.download_delivery(
            order_id, dest, expected_sha256=expected_sha256, path=f"/disputes/{order_id}/copy", progress=progress
        )


_ORDER_ACTIONS: dict[str, type[Out]] = {
    "deliver": DeliveredOut,
    "relay": RelayOut,
    "receive": ReceivedOut,
    "confirm": OrderTxOut,
    "refund": OrderTxOut,
    "release": OrderTxOut,
    "dispute": DisputedOut,
    "reupload": ReuploadOut,
    "disclose": DisclosureOut,
    "expire": ExpiredOut,
}
