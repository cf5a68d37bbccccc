"""The platform's and the supervisor's desk pages rendered by the nodes (no browser): a dispute ruled from the
platform's page (a ruling the evidence contradicts is refused in words), overdue orders settled, the attestation
log; organisations suspended from the supervisor's page and the suspended organisation's purchase refused; the
trail with filters, each row's check and plain errors for bad filters; the CSV download; the activity charts as
inline SVG with a table fallback. Every refusal is a sentence on a page, never a stack trace."""

from __future__ import annotations

import csv
import io
from html import unescape
from pathlib import Path

from datagora.domain.models import OrderState, OrgStatus
from tests.audit.desk_kit import PRICE, call, disputed_order, reupload
from tests.kits.node_fixtures import EMBEDDED, Net, net  # noqa: F401  (the fixture)
from tests.web.desk_kit import sign_in
from tests.world import write_table

pytestmark = EMBEDDED


def test_dispute_ruled_from_the_platform_page(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    order_id, _token_id, _data = disputed_order(net, tmp_path)
    desk = sign_in(net, "platform")
    page = desk.get("/desk/platform")
    assert page.status_code == 200, page.text
    assert "Disputes to rule (1)" in page.text and "differ" in page.text and "waiting for the seller" in page.text

    case = desk.get(f"/desk/platform/disputes/{order_id}")
    assert "Waiting for the seller" in case.text and 'value="for-seller"' not in case.text

    reupload(net, tmp_path, order_id)
    case = desk.get(f"/desk/platform/disputes/{order_id}")
    assert "Supported ruling: for the seller" in case.text and 'value="for-buyer"' in case.text

    refused = desk.post(f"/desk/platform/disputes/{order_id}/ruling", {"ruling": "for-buyer"})
    assert (
        refused.status_code == 200 and "Not ruled: the evidence does not support a ruling for the buyer" in refused.text
    )
    assert w.contracts.market.order(order_id).state == OrderState.DISPUTED

    ruled = desk.post(f"/desk/platform/disputes/{order_id}/ruling", {"ruling": "for-seller"})
    assert f"Order {order_id} ruled for the seller" in ruled.text and "No open disputes." in ruled.text
    assert w.contracts.market.order(order_id).state == OrderState.COMPLETED


def test_deadlines_and_attestations_pages(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = seller.publish(write_table(tmp_path / "late.csv", rows=80), name="Late", domain="misc")["token_id"]
    order_id = buyer.buy(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])["order"]["order_id"]
    desk = sign_in(net, "platform")
    early = desk.post(f"/desk/platform/deadlines/{order_id}")
    assert "Not settled: order" in early.text and "is not overdue" in early.text

    w.chain.advance_time(30 * 86_400)
    page = desk.get("/desk/platform/deadlines")
    assert f"Settle order {order_id}" in page.text and "never delivered" in page.text
    done = desk.post(f"/desk/platform/deadlines/{order_id}")
    assert f"Order {order_id} settled: refund the buyer" in done.text and "No order is past its deadline." in done.text

    log = desk.get("/desk/platform/attestations")
    assert log.status_code == 200 and "given" in log.text and "published" in log.text


def test_platform_desk_refused_in_words(net: Net) -> None:  # noqa: F811
    seller_on_platform = sign_in(net, "platform", as_="seller")
    page = seller_on_platform.get("/desk/platform")
    assert page.status_code == 403 and "only this node's operator" in unescape(page.text).lower()
    elsewhere = sign_in(net, "seller").get("/desk/platform")
    assert elsewhere.status_code == 404 and "not the platform" in elsewhere.text.lower()


def test_supervisor_suspends_and_the_purchase_is_refused(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    seller = net.client("seller")
    token_id = seller.publish(write_table(tmp_path / "s.csv", rows=80), name="S", domain="misc")["token_id"]
    listing_id = seller.list_offer(token_id, PRICE)["offer"]["listing_id"]
    desk = sign_in(net, "supervisor")
    page = desk.get("/desk/supervisor")
    assert page.status_code == 200 and "Outsider Org" in page.text and page.text.count('value="suspend"') == 4

    done = desk.post(f"/desk/supervisor/organisations/{w.orgs['buyer']}", {"action": "suspend"})
    assert "Buyer Org is now suspended." in done.text
    assert w.contracts.registry.organisation(w.orgs["buyer"]).status == OrgStatus.SUSPENDED
    again = desk.post(f"/desk/supervisor/organisations/{w.orgs['buyer']}", {"action": "suspend"})
    assert "Nothing changed: Buyer Org is already suspended" in again.text

    refused = call(net, "buyer", "POST", "/orders", json={"listing_id": listing_id})
    assert refused.status_code == 409 and "buyer not audited" in refused.json()["detail"]

    not_here = sign_in(net, "platform", as_="supervisor").post(
        f"/desk/supervisor/organisations/{w.orgs['buyer']}", {"action": "audit"}
    )
    assert "this node does not hold the supervisor's key" in unescape(not_here.text)


def test_trail_filters_checks_and_csv(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    seller = net.client("seller")
    token_id = seller.publish(write_table(tmp_path / "t.csv", rows=80), name="T", domain="misc")["token_id"]
    net.client("buyer").buy(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])
    desk = sign_in(net, "supervisor")
    page = desk.get("/desk/supervisor/trail", params={"dataset": str(token_id)})
    assert page.status_code == 200 and "Every row on this page matches the chain." in page.text
    assert page.text.count("✓ verified") == 3  # published, listed, paid

    bad = desk.get("/desk/supervisor/trail", params={"start": "yesterday"})
    assert bad.status_code == 422 and "the start must be a date such as 2026-12-31" in bad.text
    backwards = desk.get("/desk/supervisor/trail", params={"start": "2026-12-02", "end": "2026-12-01"})
    assert "the end date comes before the start date" in backwards.text

    exported = desk.get("/desk/supervisor/trail.csv", params={"dataset": str(token_id)})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["DatasetPublished", "Listed", "OrderPaid"]
    assert (
        all(r["tx_hash"].startswith("0x") for r in rows) and w.buyer.address in rows[-1]["detail"] + rows[-1]["actor"]
    )


def test_activity_charts_are_inline_svg_with_a_table(net: Net, tmp_path: Path) -> None:  # noqa: F811
    seller = net.client("seller")
    token_id = seller.publish(write_table(tmp_path / "a.csv", rows=80), name="A", domain="misc")["token_id"]
    net.client("buyer").buy(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])
    desk = sign_in(net, "supervisor")
    page = desk.get("/desk/supervisor/activity", params={"period": "week"})
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 2 and "<title" in page.text and "<desc" in page.text
    assert "Trades per week" in page.text and "0.1 ETH" in page.text and "<table>" in page.text
    assert "<script" not in page.text.split("<main", 1)[1].split("</main>", 1)[0]
    bad = desk.get("/desk/supervisor/activity", params={"period": "year"})
    assert bad.status_code == 422 and "unknown period" in bad.text
    assert sign_in(net, "supervisor", as_="buyer").get("/desk/supervisor/activity").status_code == 403
