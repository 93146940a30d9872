"""The finder counts as trust land what the map layers do: the registry's one dated rule.

A parcel is the trust's on a day when its membership of a holding runs then AND the holding
itself runs then (`parcels.queries.held_memberships`). Each finder question is asked of one
small neighbourhood per case, a row of three vacant lots, ~28 x 33 m each:

    P (in the case's holding)  N1  N2

Two cases have the membership's dates and the holding's apart, and are not trust land today.
The app no longer writes them (`holding_end` cuts every running membership back to the end,
the admin refuses a membership before the acquisition: the first two tests), but data written
before it did, or imported, may hold them, so each is built here straight in the database:
- "ended": a holding ended ten days ago, its parcel's membership dated to end next month (it
  was to be split off);
- "future": a holding whose deed is dated next month, the parcel in it from last week.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcels import finder
from parcels.actions import holding_acquire, holding_end
from parcels.models import Holding, HoldingParcel, Parcel
from parcels.queries import Window, assemblages, touching_holdings
from tests.parcels.test_finder import LAT, LON, SIDE, lot, parcel

pytestmark = pytest.mark.django_db

CASES = ("held", "ended", "future")
HELD_TODAY = {"held": True, "ended": False, "future": False}


def days_from_today(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def acquire(name: str, lots: list[Parcel], acquired_on: dt.date) -> Holding:
    return holding_acquire(
        name=name, parcels=lots, current_use="held_vacant", acquired_via="purchase",
        acquired_on=acquired_on,
    )  # fmt: skip


def ended_with_a_membership_dated_later(held: Parcel) -> Holding:
    """A holding ended ten days ago, its parcel's membership dated to end next month."""
    holding = acquire("Sold lot", [held], dt.date(2018, 3, 1))
    Holding.objects.filter(pk=holding.pk).update(ended_on=days_from_today(-10))
    HoldingParcel.objects.filter(holding=holding).update(ended_on=days_from_today(30))
    return Holding.objects.get(pk=holding.pk)


def acquired_next_month_with_a_parcel_from_last_week(held: Parcel) -> Holding:
    """A holding whose deed is dated next month, the parcel in it from last week."""
    holding = acquire("Lot under contract", [held], days_from_today(30))
    HoldingParcel.objects.filter(holding=holding).update(began_on=days_from_today(-7))
    return holding


@pytest.fixture(params=CASES)
def case(request) -> dict:
    """The neighbourhood of one case: its lots by name, the bbox around it, and whether P is
    the trust's today."""
    lots = {name: parcel(name, lot(col)) for col, name in enumerate(("P", "N1", "N2"))}
    if request.param == "held":
        acquire("Held lot", [lots["P"]], days_from_today(-365))
    elif request.param == "ended":
        ended_with_a_membership_dated_later(lots["P"])
    else:
        acquired_next_month_with_a_parcel_from_last_week(lots["P"])
    bbox = (LON - 0.001, LAT - 0.001, LON + 4 * SIDE + 0.001, LAT + SIDE + 0.001)
    return {"lots": lots, "bbox": bbox, "held": HELD_TODAY[request.param]}


def bbox_param(case: dict) -> str:
    return ",".join(str(v) for v in case["bbox"])


def found(**params) -> list[str]:
    collection = finder.vacant_lots_geojson({k: str(v) for k, v in params.items()})
    return sorted(f["properties"]["apn"] for f in collection["features"])


# --- the app keeps the two dates together ------------------------------------------------------


def test_ending_a_holding_cuts_a_membership_dated_to_end_later_back_to_its_end():
    holding = acquire("Sold lot", [parcel("P", lot(0))], dt.date(2018, 3, 1))
    HoldingParcel.objects.filter(holding=holding).update(ended_on=days_from_today(30))
    holding = holding_end(holding=holding, on=days_from_today(-10), reason="sold")
    assert holding.ended_on == days_from_today(-10)
    assert HoldingParcel.objects.get(holding=holding).ended_on == days_from_today(-10)


def test_the_admin_refuses_a_membership_beginning_before_its_holding_is_acquired(editor):
    held = parcel("P", lot(0))
    data = {
        "name": "Lot under contract", "current_use": "held_vacant", "acquired_via": "purchase",
        "acquired_on": str(days_from_today(30)), "price": "0",
        "holdingparcel_set-TOTAL_FORMS": "1", "holdingparcel_set-INITIAL_FORMS": "0",
        "holdingparcel_set-0-parcel": str(held.pk),
        "holdingparcel_set-0-began_on": str(days_from_today(-7)),
        "improvements-TOTAL_FORMS": "0", "improvements-INITIAL_FORMS": "0",
        "sources-TOTAL_FORMS": "0", "sources-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = editor.post(reverse("admin:parcels_holding_add"), data)
    assert response.status_code == 200
    assert f"the parcel can join the holding on or after {days_from_today(30)}" in (
        response.content.decode()
    )
    assert not Holding.objects.filter(name="Lot under contract").exists()
    assert not HoldingParcel.objects.exists()


# --- each finder question, by the rule ----------------------------------------------------------


def test_held_by_trust_follows_the_holdings_dates_too(case):
    held = set(Parcel.objects.held_by_trust().values_list("apn", flat=True))
    assert held == ({"P"} if case["held"] else set())


def test_not_held_by_trust_follows_the_holdings_dates_too(case):
    not_held = set(Parcel.objects.not_held_by_trust().values_list("apn", flat=True))
    assert not_held == ({"N1", "N2"} if case["held"] else {"P", "N1", "N2"})


def test_vacant_lots_to_acquire_include_land_the_trust_does_not_hold_today(case):
    assert found(bbox=bbox_param(case)) == (["N1", "N2"] if case["held"] else ["N1", "N2", "P"])


def test_lots_near_holdings_are_near_land_the_trust_holds_today(case):
    near = found(bbox=bbox_param(case), near_holdings_m=5)
    assert near == (["N1"] if case["held"] else [])


def test_the_score_adds_adjoining_trust_land_only_for_land_held_today(case):
    lots = Parcel.objects.filter(apn__in=("N1", "N2")).with_score()
    adjoining = {apn: score - area_m2 / 1000 for apn, score, area_m2
                 in lots.values_list("apn", "score", "area_m2")}  # fmt: skip
    assert adjoining == pytest.approx({"N1": 3.0 if case["held"] else 0.0, "N2": 0.0})


def test_lots_touching_trust_land_touch_land_held_today(case):
    rows = touching_holdings(2.0, window=Window(case["bbox"]))
    assert [(r["apn"], r["touches_apns"]) for r in rows] == (
        [("N1", ["P"])] if case["held"] else []
    )


def test_assemblages_touch_and_leave_out_only_land_held_today(case):
    rows = assemblages(2.0, window=Window(case["bbox"]))
    got = [(r["apns"], r["touches_trust_land"]) for r in rows]
    assert got == ([(["N1", "N2"], True)] if case["held"] else [(["N1", "N2", "P"], False)])


@pytest.mark.parametrize("filters", [{}, {"min_area_m2": "1"}], ids=["window", "filtered"])
def test_the_finders_adjacent_lots_and_assemblages_answer_by_the_rule(case, filters):
    params = {"bbox": bbox_param(case), **filters}  # a filter: lots picked by the queryset
    adjacent = finder.adjacent_lots_geojson(params)
    groups = finder.assemblages_geojson(params)
    assert [f["properties"]["apn"] for f in adjacent["features"]] == (
        ["N1"] if case["held"] else []
    )
    assert [f["properties"]["touches_trust_land"] for f in groups["features"]] == [case["held"]]
