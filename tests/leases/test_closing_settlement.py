"""A resale closing settles the seller's side: arrears collected from the sale and recorded on
the resale, a default cured, the household's open events resolved; the home's own stay open.
The buyer's lease starts clean, and the history keeps the seller's figures."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.urls import reverse

from leases.actions import monitoring_record, resale_close, resale_record
from leases.models import GroundLease, MonitoringEvent, Resale
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

GroundLeaseEvent = apps.get_model("leases", "GroundLeaseEvent")
MonitoringEventEvent = apps.get_model("leases", "MonitoringEventEvent")
CLOSED = dt.date(2024, 9, 15)


@pytest.fixture
def lease() -> GroundLease:
    """Finding 3's lease: in default, $300 unpaid, a foreclosure notice and two late notices."""
    lease = factories.lease(
        reference="GL-2021-007", starts_on=dt.date(2021, 3, 1), purchase_date=dt.date(2021, 3, 1),
        purchase_price=Decimal("48000.00"), status="in_default", arrears=Decimal("300.00"),
    )  # fmt: skip
    for kind, on in [
        ("late_fee_payment", dt.date(2024, 3, 5)),
        ("delinquent_90_days", dt.date(2024, 6, 5)),
        ("notice_of_foreclosure", dt.date(2024, 7, 1)),
        ("request_to_rent", dt.date(2024, 7, 10)),
        ("inspection", dt.date(2024, 8, 1)),
        ("enforcement_violation", dt.date(2024, 8, 2)),
    ]:
        monitoring_record(lease=lease, type=kind, on=on, notes=f"{kind} noted")
    return lease


def close(lease: GroundLease, closed_on: dt.date = CLOSED, user=None) -> Resale:
    resale = resale_record(
        lease=lease, seller=lease.lessees.get(), buyer=factories.party(name="Evers household"),
        contract_on=dt.date(2024, 8, 20), formula_price=Decimal("53000.00"),
        agreed_price=Decimal("50000.00"),
    )  # fmt: skip
    resale_close(resale=resale, closed_on=closed_on, user=user)
    resale.refresh_from_db()
    lease.refresh_from_db()
    return resale


def open_types(lease: GroundLease) -> list[str]:
    return sorted(lease.monitoring.exclude(status="resolved").values_list("type", flat=True))


def test_a_closing_collects_the_sellers_arrears_from_the_sale_and_records_them(lease):
    resale = close(lease)

    assert resale.arrears_collected == Decimal("300.00")
    assert lease.arrears == Decimal("0.00")


def test_a_closing_gives_the_buyer_an_active_lease_not_the_sellers_default(lease):
    close(lease)

    assert lease.status == "active"
    assert [buyer.name for buyer in lease.lessees.all()] == ["Evers household"]


def test_a_closing_resolves_the_households_events_and_leaves_the_homes_open(lease):
    close(lease)

    assert open_types(lease) == ["enforcement_violation", "inspection"]
    settled = lease.monitoring.filter(status="resolved").order_by("on")
    assert [(event.type, event.resolved_on) for event in settled] == [
        ("late_fee_payment", CLOSED),
        ("delinquent_90_days", CLOSED),
        ("notice_of_foreclosure", CLOSED),
        ("request_to_rent", CLOSED),
    ]
    assert settled.first().notes == (
        "late_fee_payment noted\nSettled at the resale closing on 2024-09-15: the lease "
        f"passed from {lease.resales.get().seller} to Evers household."
    )


def test_a_late_fee_after_the_closing_day_is_the_buyers_and_stays_open(lease):
    monitoring_record(lease=lease, type="late_fee_payment", on=dt.date(2024, 9, 20))

    close(lease)

    late = lease.monitoring.filter(type="late_fee_payment").order_by("on")
    assert [(event.on, event.status, event.resolved_on) for event in late] == [
        (dt.date(2024, 3, 5), "resolved", CLOSED),  # the seller's
        (dt.date(2024, 9, 20), "open", None),  # the buyer's
    ]


def test_the_history_keeps_the_sellers_arrears_and_default_under_the_closing(lease):
    staff = factories.user("ada", role="editor")

    close(lease, user=staff)

    events = GroundLeaseEvent.objects.filter(pgh_obj=lease).order_by("pgh_id")
    assert [(e.arrears, e.status) for e in events][0] == (Decimal("300.00"), "in_default")
    last = events.select_related("pgh_context").last()
    assert (last.arrears, last.status) == (Decimal("0.00"), "active")
    assert last.pgh_context.metadata == {"action": "resale_close", "user": staff.pk}
    foreclosure = MonitoringEvent.objects.get(lease=lease, type="notice_of_foreclosure")
    settled = MonitoringEventEvent.objects.filter(pgh_obj=foreclosure).select_related(
        "pgh_context"
    ).order_by("pgh_id").last()
    assert (settled.status, settled.pgh_context.metadata["action"]) == ("resolved", "resale_close")


def test_a_historical_resale_closed_before_the_current_purchase_settles_nothing(lease):
    close(lease)
    lease.arrears = Decimal("75.00")
    lease.save(update_fields=["arrears"])
    old = resale_record(
        lease=lease, seller=factories.party(), buyer=lease.lessees.get(),
        contract_on=dt.date(2023, 1, 5), formula_price=Decimal("50000.00"),
        agreed_price=Decimal("48000.00"),
    )  # fmt: skip

    resale_close(resale=old, closed_on=dt.date(2023, 2, 1))

    old.refresh_from_db()
    lease.refresh_from_db()
    assert (old.arrears_collected, lease.arrears) == (Decimal("0.00"), Decimal("75.00"))


# --- in the admin --------------------------------------------------------------------------------


@pytest.fixture
def after_the_sale(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2024, 12, 31))


def resale_post(lease: GroundLease, **fields) -> dict[str, str]:
    values = {
        "lease": lease.pk,
        "seller": lease.lessees.get().pk,
        "buyer": factories.party(name="Evers household").pk,
        "contract_on": "2024-08-20",
        "closed_on": "2024-09-15",
        "formula_price": "",  # the lease's: 2% a year on $48,000 from 2021-03-01
        "agreed_price": "50000.00",
    }
    return {key: str(value) for key, value in {**values, **fields}.items()}


def test_the_resale_admin_tells_staff_what_the_closing_settled(editor, lease, after_the_sale):
    lease.holding.available = True
    lease.holding.save(update_fields=["available"])

    response = editor.post(reverse("admin:leases_resale_add"), resale_post(lease), follow=True)

    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert (
        "Lease GL-2021-007 passed to Evers household. The seller's arrears of $300.00 were "
        "collected from the sale (recorded on the resale); the lease owes nothing now. The "
        "lease was in default: it is active again for the buyer. 4 of the seller's open "
        "monitoring events resolved as settled at the closing: Late lease-fee payment, 90+ "
        "days delinquent, Notice of foreclosure, Request: to rent. "
        f"{lease.holding} is no longer listed as available."
    ) in said
    assert Resale.objects.get().arrears_collected == Decimal("300.00")


def test_the_resale_page_shows_the_arrears_collected_without_letting_staff_type_them(
    editor, lease, after_the_sale
):
    editor.post(reverse("admin:leases_resale_add"), resale_post(lease))
    page = editor.get(change_url(Resale.objects.get()))

    assert "arrears_collected" not in page.context["adminform"].form.fields
    assert '<div class="readonly">300.00</div>' in page.content.decode()


def test_a_closing_in_the_lease_pages_inline_settles_the_seller_too(editor, lease, after_the_sale):
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data["resales-TOTAL_FORMS"] = "1"
    for key, value in resale_post(lease).items():
        if key != "lease":
            data[f"resales-0-{key}"] = value

    response = editor.post(change_url(lease), data, follow=True)

    lease.refresh_from_db()
    assert (lease.arrears, lease.status) == (Decimal("0.00"), "active")
    assert open_types(lease) == ["enforcement_violation", "inspection"]
    said = " ".join(str(message) for message in get_messages(response.wsgi_request))
    assert "The seller's arrears of $300.00 were collected from the sale" in said
