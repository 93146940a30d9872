"""The parcels pages say a year typed with a digit too many or too few looks mistyped, as the
lease pages do (`clt.dates.RegistryDateFields`, on every registry admin page through
`RecordedAdmin` and on the holding's inlines), not only "Enter a valid date."."""

import pytest

from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db

MISTYPED = (
    "“20266-01-01” has a 5-digit year, 20266: is the year mistyped? The registry keeps dates "
    "from 1800-01-01 to 2199-12-31, written like 2026-11-01."
)


def test_a_holdings_acquired_on_with_a_five_digit_year_is_said_to_be_mistyped(editor):
    holding = factories.holding(parcels=[factories.parcel()])
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data["acquired_on"] = "20266-01-01"

    response = editor.post(change_url(holding), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["acquired_on"] == [MISTYPED]


def test_a_parcels_row_in_a_holding_with_a_five_digit_year_is_said_to_be_mistyped(editor):
    holding = factories.holding(parcels=[factories.parcel()])
    data = factories.admin_form_data(editor.get(change_url(holding)))
    [row] = [key for key in data if key.endswith("-began_on")]
    data[row] = "20266-01-01"

    response = editor.post(change_url(holding), data)

    assert response.status_code == 200
    [parcels] = [inline.formset for inline in response.context["inline_admin_formsets"]
                 if inline.formset.model._meta.model_name == "holdingparcel"]  # fmt: skip
    assert parcels.errors[0]["began_on"] == [MISTYPED]
