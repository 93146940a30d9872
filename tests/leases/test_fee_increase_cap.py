"""A lease's fee increase cap: a fee change that raises the fee by more than the lease allows is
refused, naming the cap, the fee it is capped from and the most allowed; a reduction or a
suspension never is (QA: steward, finding 5: $75 to $2,500 saved without a word)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leases.actions import fee_change, lease_create
from leases.models import GroundLease, LeaseFeeChange
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

SIGNED = dt.date(2025, 1, 1)


def capped_lease(cap_pct: str | None = "3", fee: str = "75.00") -> GroundLease:
    """GL-2016-014, signed on SIGNED at `fee` a month, its raises capped at `cap_pct`% a year."""
    return lease_create(
        lessees=[factories.party()], reference="GL-2016-014",
        holding=factories.holding(parcels=[factories.parcel()]), starts_on=SIGNED,
        permitted_use="residential", fee_monthly=Decimal(fee),
        fee_increase_cap_pct=None if cap_pct is None else Decimal(cap_pct),
        purchase_price=Decimal("90000.00"), purchase_date=SIGNED,
        resale_formula=factories.FIXED_2PCT_SIMPLE,
    )  # fmt: skip


def change(lease: GroundLease, on: dt.date, fee: str) -> LeaseFeeChange:
    return fee_change(
        lease=lease, fee_monthly=Decimal(fee), effective_on=on, reason="annual review"
    )


def fees_of(lease: GroundLease) -> list[tuple[dt.date, Decimal]]:
    changes = lease.fee_changes.order_by("effective_on")
    return list(changes.values_list("effective_on", "fee_monthly"))


def test_a_raise_above_the_cap_is_refused_naming_the_cap_the_fee_before_and_the_most_allowed():
    lease = capped_lease()

    with pytest.raises(ValidationError) as refused:
        change(lease, dt.date(2026, 11, 1), "2500.00")

    assert refused.value.message_dict["fee_monthly"] == [
        "GL-2016-014 caps fee increases at 3% a year: from $75.00 on 2025-01-01, at most "
        "$77.25 on 2026-11-01, not $2,500.00. Give a fee of at most $77.25, or a later date "
        "(the cap allows 3% for each whole year since 2025-01-01); if the lease's terms allow "
        "more, correct its fee increase cap first."
    ]
    assert fees_of(lease) == [(SIGNED, Decimal("75.00"))]


def test_a_raise_up_to_the_cap_is_taken():
    lease = capped_lease()
    change(lease, dt.date(2026, 11, 1), "77.25")
    assert fees_of(lease)[-1] == (dt.date(2026, 11, 1), Decimal("77.25"))


def test_a_raise_within_the_first_year_may_take_one_years_worth_and_no_more():
    lease = capped_lease()
    change(lease, dt.date(2025, 3, 1), "77.25")
    with pytest.raises(ValidationError, match=r"at most \$77.25 on 2025-03-01, not \$77.26"):
        change(lease, dt.date(2025, 3, 1), "77.26")


def test_the_cap_grows_simply_with_each_whole_year_since_the_fee_before():
    lease = capped_lease()
    # 2025-01-01 to 2027-12-31: two whole years, 6%; to 2028-01-01: three, 9%.
    with pytest.raises(ValidationError, match=r"at most \$79.50 on 2027-12-31"):
        change(lease, dt.date(2027, 12, 31), "81.75")
    change(lease, dt.date(2028, 1, 1), "81.75")


def test_the_cap_counts_from_the_latest_fee_change_before_the_raise():
    lease = capped_lease()
    change(lease, dt.date(2026, 1, 1), "77.25")
    with pytest.raises(ValidationError, match=r"from \$77.25 on 2026-01-01, at most \$79.57 "):
        change(lease, dt.date(2027, 1, 1), "80.00")  # 77.25 x 1.03 = 79.5675, half up


def test_the_most_allowed_is_rounded_to_the_cent_half_up():
    lease = capped_lease(cap_pct="1.5", fee="33.00")  # 33 x 1.015 = 33.495: 33.50
    with pytest.raises(ValidationError, match=r"caps fee increases at 1.5% a year: .* at most "
                                              r"\$33.50 on 2026-01-01, not \$33.51"):  # fmt: skip
        change(lease, dt.date(2026, 1, 1), "33.51")
    change(lease, dt.date(2026, 1, 1), "33.50")


def test_a_lease_with_no_cap_takes_any_raise():
    lease = capped_lease(cap_pct=None)
    change(lease, dt.date(2026, 11, 1), "2500.00")
    assert fees_of(lease)[-1] == (dt.date(2026, 11, 1), Decimal("2500.00"))


def test_a_reduction_and_a_suspension_are_always_taken():
    lease = capped_lease(cap_pct="0")
    change(lease, dt.date(2025, 6, 1), "50.00")
    change(lease, dt.date(2025, 9, 1), "0.00")
    assert [fee for _, fee in fees_of(lease)] == [Decimal(f) for f in ("75.00", "50.00", "0.00")]


def test_a_fee_charged_again_after_a_suspension_is_capped_from_the_fee_before_it():
    lease = capped_lease()
    change(lease, dt.date(2025, 6, 1), "0.00")  # suspended during repairs
    with pytest.raises(ValidationError, match=r"from \$75.00 on 2025-01-01, at most \$77.25 on "
                                              r"2026-03-01, not \$77.26"):  # fmt: skip
        change(lease, dt.date(2026, 3, 1), "77.26")
    change(lease, dt.date(2026, 3, 1), "77.25")  # charged again, raised within the cap


def test_the_lease_page_shows_the_cap_beside_the_fee(editor):
    lease = capped_lease()
    fieldsets = editor.get(change_url(lease)).context["adminform"].fieldsets
    (names,) = [options["fields"] for title, options in fieldsets if title == "Responsibilities"]
    assert names[names.index("fee_monthly") + 1] == "fee_increase_cap_pct"


def test_a_raise_above_the_cap_on_the_lease_page_is_refused_on_its_row(editor):
    lease = capped_lease()
    data = factories.admin_form_data(editor.get(change_url(lease)))
    total = int(data["fee_changes-TOTAL_FORMS"])
    data["fee_changes-TOTAL_FORMS"] = str(total + 1)
    data.update({
        f"fee_changes-{total}-lease": str(lease.pk),
        f"fee_changes-{total}-effective_on": "2026-11-01",
        f"fee_changes-{total}-fee_monthly": "2500.00",
        f"fee_changes-{total}-reason": "annual review",
    })  # fmt: skip

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200  # the page again, with the refusal
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]
                  if f.formset.prefix == "fee_changes"]  # fmt: skip
    (error,) = formset.forms[total].errors["fee_monthly"]
    assert error.startswith("GL-2016-014 caps fee increases at 3% a year: from $75.00 on ")
    assert fees_of(lease) == [(SIGNED, Decimal("75.00"))]


def test_a_lease_added_with_a_cap_and_a_raise_above_it_is_refused(editor):
    held = factories.holding(parcels=[factories.parcel()])
    data = {
        "reference": "GL-2026-001", "holding": held.pk, "lessees": [factories.party().pk],
        "status": "active", "permitted_use": "residential", "starts_on": "2025-01-01",
        "term_years": "99", "renewal_term_years": "99", "fee_monthly": "75.00",
        "fee_increase_cap_pct": "3", "arrears": "0", "occupancy_months_per_year": "10",
        "transfer_on_death": "heirs_may_assume", "purchase_price": "90000.00",
        "purchase_date": "2025-01-01",
        "resale_formula": '{"type": "fixed_rate", "method": "simple", "rate": "0.02"}',
        "fee_changes-TOTAL_FORMS": "1", "fee_changes-INITIAL_FORMS": "0",
        "fee_changes-0-effective_on": "2026-01-01", "fee_changes-0-fee_monthly": "80.00",
    }  # fmt: skip
    for prefix in ("monitoring", "appraisals", "improvements", "repairs", "resales", "sources"):
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"

    response = editor.post(reverse("admin:leases_groundlease_add"), data)

    assert response.status_code == 200
    assert "from $75.00 on 2025-01-01, at most $77.25 on 2026-01-01" in response.content.decode()
    assert not GroundLease.objects.filter(reference="GL-2026-001").exists()


def test_a_fee_put_before_a_raise_on_record_may_not_leave_that_raise_above_the_cap():
    """The raise recorded for 2027 is capped from the fee before it: one put in 2026 becomes
    that fee (QA re-test, finding 2: $79.50 put before $86.25 left +8.5% over two years)."""
    lease = capped_lease()
    change(lease, dt.date(2027, 1, 1), "79.50")  # two years from $75.00 at 3%: at most $79.50

    with pytest.raises(ValidationError) as refused:
        change(lease, dt.date(2026, 1, 1), "76.00")  # within its own cap, but 2027 is then +4.6%

    [message] = refused.value.message_dict["fee_monthly"]
    assert "the fee change already recorded for 2027-01-01 ($79.50) would be above" in message
    assert "Give a fee of at least $77.19" in message
    change(lease, dt.date(2026, 1, 1), "77.19")  # as it says: both within the cap
    assert fees_of(lease)[-2:] == [(dt.date(2026, 1, 1), Decimal("77.19")),
                                   (dt.date(2027, 1, 1), Decimal("79.50"))]  # fmt: skip


def test_a_cap_lowered_below_the_raises_on_record_is_refused_on_the_cap():
    lease = capped_lease()
    change(lease, dt.date(2027, 1, 1), "79.50")

    lease.fee_increase_cap_pct = Decimal("1")
    with pytest.raises(ValidationError) as refused:
        lease.full_clean()

    [message] = refused.value.message_dict["fee_increase_cap_pct"]
    assert message == (
        "The fee change on record for 2027-01-01 ($79.50) is above a cap of 1% a year: from "
        "$75.00 on 2025-01-01, at most $76.50. Give the cap the lease was signed with, or "
        "correct that fee change first."
    )
    lease.fee_increase_cap_pct = Decimal("3")
    lease.full_clean()  # the cap it was signed with
