"""The holding page reads the parcels of its rows with the rows, without their outlines: a
20-lot holding's page costs as many queries as a 2-lot one's. Each row's parcel box looked its
parcel up on its own, both outlines included (a 40-lot farm's page ran 52 queries)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from tests.adminpages import change_url

pytestmark = pytest.mark.django_db


def queries_of_page(client, holding) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(change_url(holding))
    assert response.status_code == 200
    return [query["sql"] for query in ctx.captured_queries]


def chosen(parcel) -> str:
    """The option a row's parcel box shows chosen for `parcel`, as Django writes it."""
    return f'<option value="{parcel.pk}" selected>{parcel}</option>'


def test_a_20_parcel_holding_costs_its_page_as_many_queries_as_a_2_parcel_one(editor):
    small = factories.holding(parcels=[factories.parcel() for _ in range(2)])
    large = factories.holding(parcels=[factories.parcel() for _ in range(20)])
    queries_of_page(editor, small)  # the session's and the content types' first reads

    assert len(queries_of_page(editor, large)) == len(queries_of_page(editor, small))


def test_the_rows_are_read_with_their_parcels_but_not_their_outlines(editor):
    holding = factories.holding(parcels=[factories.parcel() for _ in range(3)])

    rows = [
        sql for sql in queries_of_page(editor, holding)
        if sql.startswith('SELECT "parcels_holdingparcel"') and '"parcels_parcel"."apn"' in sql
    ]  # fmt: skip

    assert len(rows) == 1
    assert '"parcels_parcel"."geom"' not in rows[0]
    assert '"parcels_parcel"."geom_m"' not in rows[0]


def test_each_row_names_its_own_parcel(editor):
    lots = [
        factories.parcel(apn="165-124-007", address="1412 Lynch St"),
        factories.parcel(apn="165-124-009", address="1422 Lynch St"),
    ]
    holding = factories.holding(parcels=lots)

    html = editor.get(change_url(holding)).content.decode()

    assert html.count(" selected>165-124-00") == 2
    assert chosen(lots[0]) in html and chosen(lots[1]) in html


def test_a_row_posted_back_with_another_parcel_names_that_parcel(editor):
    """The form shown again (here for a day that does not exist) names the parcel posted, not
    the one the row had."""
    lot = factories.parcel(apn="165-124-007", address="1412 Lynch St")
    other = factories.parcel(apn="165-124-011", address="1426 Lynch St")
    holding = factories.holding(parcels=[lot])
    data = factories.admin_form_data(editor.get(change_url(holding)))
    data["holdingparcel_set-0-parcel"] = str(other.pk)
    data["holdingparcel_set-0-began_on"] = "2019-02-30"

    response = editor.post(change_url(holding), data)

    assert response.status_code == 200  # the form again
    html = response.content.decode()
    assert chosen(other) in html
    assert chosen(lot) not in html
