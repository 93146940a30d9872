"""Capital improvements on the lease page: the `credit` field says what the formulas use it as."""

import pytest

from clt.roles import EDITOR
from leases.models import CapitalImprovement
from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def test_the_improvement_credit_is_labelled_as_the_value_added_a_formula_may_credit(client):
    client.force_login(factories.user("edna", role=EDITOR))
    lease = factories.registry()["groundlease"]

    response = client.get(change_url(lease))

    [formset] = [
        inline.formset for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is CapitalImprovement
    ]  # fmt: skip
    credit = formset.forms[0].fields["credit"]
    assert credit.label == "Value added (appraised)"
    assert credit.help_text == (
        "Credited instead of the cost when the lease's formula credits improvements at value added"
    )
    html = response.content.decode()
    assert "Value added (appraised)" in html
    assert "Amount credited to the resale price" not in html
