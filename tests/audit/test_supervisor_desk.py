"""The supervisor's desk through the supervisor node's API (``/supervisor/...``) and its services: organisations
with their status, suspending one (its members' next purchase is refused by the Market), the audit trail with a
time range and each row checked against the chain (a row altered in the index is caught), the CSV export, and the
series of trades and volume per day and week."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, update

from datagora.index.schema import events
from tests.audit.desk_kit import PRICE, call
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import write_table

pytestmark = EMBEDDED

DAY = 86_400


def _sale(net: Net, tmp_path: Path, name: str) -> tuple[int, int]:
    seller = net.client("seller")
    token_id = seller.publish(write_table(tmp_path / f"{name}.csv", rows=90), name=name, domain="misc")["token_id"]
    return token_id, seller.list_offer(token_id, PRICE)["offer"]["listing_id"]


def test_organisations_listed_and_suspension_refuses_the_next_purchase(net: Net, tmp_path: Path) -> None:
    w = net.world
    listed = call(net, "supervisor", "GET", "/supervisor/organisations").json()
    assert listed["count"] == 4
    first = listed["organisations"][0]
    assert (first["organisation"]["name"], first["organisation"]["status"]) == ("Outsider Org", "to-audit")
    assert all(row["registered_at"] > 0 for row in listed["organisations"])
    only = call(net, "supervisor", "GET", "/supervisor/organisations", params={"status": "audited"}).json()
    assert {r["organisation"]["name"] for r in only["organisations"]} == {"Platform", "Seller Org", "Buyer Org"}

    _token, listing_id = _sale(net, tmp_path, "before")
    buyer_org = w.orgs["buyer"]
    path = f"/supervisor/organisations/{buyer_org}/status"
    suspended = call(net, "supervisor", "POST", path, json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["organisation"]["status"] == "suspended" and suspended.json()["tx"]["gas_used"] > 0
    row = next(
        r
        for r in call(net, "supervisor", "GET", "/supervisor/organisations").json()["organisations"]
        if r["organisation"]["id"] == buyer_org
    )
    assert row["organisation"]["status"] == "suspended" and row["status_changed_at"] > 0

    refused = call(net, "buyer", "POST", "/orders", json={"listing_id": listing_id})
    assert refused.status_code in (403, 409), refused.text
    assert "buyer not audited" in refused.json()["detail"]

    again = call(net, "supervisor", "POST", path, json={"status": "suspended"})
    assert again.status_code == 422 and again.json()["detail"] == "Buyer Org is already suspended"
    assert call(net, "supervisor", "POST", path, json={"status": "audited"}).status_code == 200
    assert call(net, "buyer", "POST", "/orders", json={"listing_id": listing_id}).status_code == 201


def test_only_the_supervisor_sees_and_acts(net: Net) -> None:
    assert call(net, "supervisor", "GET", "/supervisor/organisations", as_="buyer").status_code == 403
    assert call(net, "supervisor", "GET", "/supervisor/trail", as_="platform").status_code == 403
    other = call(net, "platform", "POST", "/supervisor/organisations/1/status", json={"status": "suspended"})
    assert other.status_code == 403 and "not the Registry supervisor" in other.json()["detail"]


def test_trail_time_range_and_rows_checked_against_the_chain(net: Net, tmp_path: Path) -> None:
    w = net.world
    _sale(net, tmp_path, "early")
    w.chain.advance_time(3 * DAY)
    _token, listing_id = _sale(net, tmp_path, "late")
    net.client("buyer").buy(listing_id)

    everything = call(net, "supervisor", "GET", "/supervisor/trail").json()
    assert everything["count"] == everything["verified"] > 0
    times = [r["record"]["timestamp"] for r in everything["records"]]
    cut = w.chain.now() - DAY
    late = call(net, "supervisor", "GET", "/supervisor/trail", params={"since": cut}).json()
    assert late["count"] == sum(t >= cut for t in times) > 0
    assert {r["record"]["action"] for r in late["records"]} >= {"DatasetPublished", "Listed", "OrderPaid"}
    early = call(net, "supervisor", "GET", "/supervisor/trail", params={"until": cut}).json()
    assert early["count"] + late["count"] == everything["count"]
    bad = call(net, "supervisor", "GET", "/supervisor/trail", params={"since": cut, "until": cut})
    assert bad.status_code == 422 and "after its start" in bad.json()["detail"]
    page = call(net, "supervisor", "GET", "/supervisor/trail", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == everything["count"] and page["verified"] == 2
    assert [r["record"] for r in page["records"]] == [r["record"] for r in everything["records"][1:3]]
    legacy = call(net, "supervisor", "GET", "/audit", params={"since": cut}).json()
    assert legacy["count"] == late["count"]

    # someone edits the supervisor node's index: the row no longer matches its receipt
    paid = next(r["record"] for r in late["records"] if r["record"]["action"] == "OrderPaid")
    engine = net.nodes["supervisor"].engine
    where = (events.c.tx_hash == paid["tx_hash"]) & (events.c.log_index == paid["log_index"])
    with engine.begin() as conn:
        args = json.loads(conn.execute(select(events.c.args).where(where)).scalar_one())
        conn.execute(update(events).where(where).values(args=json.dumps({**args, "amount": 1})))
    checked = call(net, "supervisor", "GET", "/supervisor/trail", params={"since": cut}).json()
    flagged = [r for r in checked["records"] if not r["verified"]]
    assert [r["record"]["tx_hash"] for r in flagged] == [paid["tx_hash"]] and flagged[0]["problem"] == "args"
    assert checked["verified"] == checked["count"] - 1


def test_series_of_trades_and_volume(net: Net, tmp_path: Path) -> None:
    w = net.world
    buyer = net.client("buyer")
    _t, first = _sale(net, tmp_path, "one")
    buyer.buy(first)
    w.chain.advance_time(2 * DAY)
    _t, second = _sale(net, tmp_path, "two")
    _t, third = _sale(net, tmp_path, "three")
    buyer.buy(second)
    buyer.buy(third)

    daily = call(net, "supervisor", "GET", "/supervisor/series").json()
    points = daily["points"]
    assert daily["period"] == "day" and len(points) in (3, 4)  # the advance may cross one more midnight
    assert [p["start"] for p in points] == [points[0]["start"] + i * DAY for i in range(len(points))]
    assert (points[0]["trades"], points[-1]["trades"]) == (1, 2)
    assert sum(p["trades"] for p in points) == 3 and sum(p["volume"] for p in points) == 3 * PRICE
    assert all(p["trades"] == p["volume"] == 0 for p in points[1:-1])
    weekly = call(net, "supervisor", "GET", "/supervisor/series", params={"period": "week"}).json()
    assert sum(p["trades"] for p in weekly["points"]) == 3 and len(weekly["points"]) in (1, 2)
    assert call(net, "supervisor", "GET", "/supervisor/series", params={"period": "year"}).status_code == 422
