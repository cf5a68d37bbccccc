"""The customer's node forwards an erasure to the shop's node over HTTP (used by the API route, the page and the
CLI of the customer's node). The request is signed with the customer's key (EIP-712,
:mod:`datagora.services.consent_erasure`); the shop node checks it and erases."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from datagora.api.client import NodeClient, RemoteError
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied, Conflict, DatagoraError, NotFoundError, ValidationError
from datagora.services import consent_erasure, streams

SIGNED_PATH = "/consent/erasures/signed"


class ShopUnreachable(RemoteError):
    """The shop's node could not be reached or answered with a server error: nothing was erased (HTTP 502)."""

    def __init__(self, detail: str, shop_url: str = "") -> None:
        super().__init__(0, detail)  # no ``url``: the message names the shop and says nothing was erased
        self.shop_url = shop_url


def forward_erasure(client: NodeClient, customer: LocalAccount, chain_id: int, category: str, *, now: int) -> Any:
    """Ask the shop node behind ``client`` to erase ``customer``'s ``category``: read the shop's account from its
    ``GET /node``, sign an :class:`~datagora.services.consent_erasure.ErasureRequest` for it on ``chain_id``
    dated ``now`` (Unix seconds) and send it. Returns the shop's answer (``ErasureOut`` JSON: customer, category,
    item_ids, key_destroyed, txs).

    Raises (the shop's refusal in its own words, or):
        ValidationError: unknown category; the shop node runs on another chain.
        ShopUnreachable: no answer, or a server error; nothing was erased.
        AccessDenied / Conflict / NotFoundError: the shop's refusal (403 / 409 / 404).
    """
    streams.check_category(category)
    try:
        info = client.json("GET", "/node", auth=False)
        if int(info["chain_id"]) != chain_id:
            raise ValidationError(f"the node at {client.base_url} runs on another chain than yours: nothing was sent")
        request = consent_erasure.sign_request(
            customer, chain_id, checksum_address(str(info["address"])), category, now=now
        )
        return client.json("POST", SIGNED_PATH, json=request.to_json(), auth=False)
    except RemoteError as exc:
        if exc.status == 0 or exc.status >= 500:
            raise ShopUnreachable(
                f"the shop's node at {client.base_url} could not be reached ({exc.detail}): nothing was erased; "
                "try again later",
                client.base_url,
            ) from None
        error: type[DatagoraError] = {403: AccessDenied, 404: NotFoundError, 409: Conflict}.get(
            exc.status, ValidationError
        )
        raise error(f"the shop refused: {exc.detail}") from None
    except (KeyError, ValueError, TypeError):
        raise ShopUnreachable(
            f"the node at {client.base_url} did not answer like a Datagora node: nothing was erased", client.base_url
        ) from None
