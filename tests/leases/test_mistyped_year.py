"""A date typed with a digit too many or too few in its year is said to have a mistyped year,
not only "Enter a valid date." (QA: lease administrator, finding 6; README: "a year typed with
a digit too many is a form error saying so")."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clt.dates import RegistryDateField, mistyped_year
from tests import factories
from tests.adminpages import change_url
from tests.leases.test_admin import new_lease_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "year"),
    [("20266-11-01", "20266"), ("226-11-01", "226"), ("11/01/20266", "20266"),
     ("11/1/226", "226"), ("Nov 1 20266", "20266"), ("1 November, 226", "226")],
)  # fmt: skip
def test_a_date_with_a_year_of_too_many_or_too_few_digits_has_its_year_named(text, year):
    assert mistyped_year(text) == year


@pytest.mark.parametrize("text", ["2026-11-01", "11/01/26", "2026-13-45", "soon", "1/2"])
def test_other_text_is_not_taken_for_a_mistyped_year(text):
    assert mistyped_year(text) is None


def test_the_field_says_the_year_is_mistyped_and_how_to_write_a_date_for_other_text():
    field = RegistryDateField()
    assert field.clean("2026-11-01").isoformat() == "2026-11-01"
    assert form_error(field, "20266-11-01") == [
        "“20266-11-01” has a 5-digit year, 20266: is the year mistyped? The registry keeps "
        "dates from 1800-01-01 to 2199-12-31, written like 2026-11-01."
    ]
    # WCAG 3.3.3: Django's "Enter a valid date." did not say how to write one.
    assert form_error(field, "31/31/2020") == [
        "Enter a valid date, written like 2026-11-01 or 11/01/2026 (month first)."
    ]


def form_error(field, text: str) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        field.clean(text)
    return refused.value.messages


def test_a_monitoring_event_and_a_fee_change_on_the_lease_page_say_the_year_is_mistyped(editor):
    lease = factories.lease()  # no events or fee changes yet: the new rows are the first
    data = factories.admin_form_data(editor.get(change_url(lease)))
    data.update({
        "monitoring-TOTAL_FORMS": "1", "monitoring-0-type": "inspection",
        "monitoring-0-on": "20266-11-01", "monitoring-0-status": "open",
        "monitoring-0-lease": str(lease.pk),
        "fee_changes-TOTAL_FORMS": "1", "fee_changes-0-effective_on": "226-11-01",
        "fee_changes-0-fee_monthly": "30.00", "fee_changes-0-lease": str(lease.pk),
    })  # fmt: skip

    response = editor.post(change_url(lease), data)

    assert response.status_code == 200
    inlines = response.context["inline_admin_formsets"]
    errors = {inline.formset.prefix: inline.formset.errors for inline in inlines}
    assert "20266: is the year mistyped?" in errors["monitoring"][0]["on"][0]
    assert "226: is the year mistyped?" in errors["fee_changes"][0]["effective_on"][0]


def test_a_lease_start_on_the_add_page_says_the_year_is_mistyped(editor):
    response = editor.post(
        reverse("admin:leases_groundlease_add"), new_lease_data(starts_on="20266-12-01")
    )

    assert response.context["adminform"].form.errors["starts_on"] == [
        "“20266-12-01” has a 5-digit year, 20266: is the year mistyped? The registry keeps "
        "dates from 1800-01-01 to 2199-12-31, written like 2026-11-01."
    ]


@pytest.mark.parametrize(
    ("model", "field", "fields"),
    [("Appraisal", "on", {"value": "100000", "purpose": "resale"}),
     ("RepairDeduction", "assessed_on", {"description": "Roof", "amount": "5000"})],
)  # fmt: skip
def test_an_appraisal_or_a_repair_dated_after_today_is_refused(model, field, fields):
    """Typed 2062 for 2026, it dropped out of today's price without a word (QA s19)."""
    import datetime as dt

    from django.apps import apps
    from django.utils import timezone

    lease = factories.lease()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    record = apps.get_model("leases", model)(lease=lease, **{field: tomorrow}, **fields)

    with pytest.raises(ValidationError) as refused:
        record.full_clean()

    [message] = refused.value.message_dict[field]
    assert message.startswith(f"{tomorrow} is after today ({timezone.localdate()}): record ")


def test_a_date_field_says_how_a_date_is_written_before_one_is_refused(editor):
    """WCAG 3.3.2: the format was said only in the error, once a date was refused."""
    page = editor.get(change_url(factories.lease())).content.decode()

    helps = re.findall(r'<div class="help"[^>]*id="id_starts_on_helptext">\s*<div>([^<]*)<', page)
    assert helps == ["Written like 2026-11-01 (or 11/01/2026, month first)."]
    assert 'aria-describedby="id_starts_on_helptext"' in page
