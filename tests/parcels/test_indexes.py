"""The indexes the questions need exist and are the ones PostgreSQL can use for them."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from parcels.models import Parcel
from tests import factories

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    # On a near-empty test table a sequential scan is always cheapest, and a full walk of any
    # B-tree is the next resort. Forbid both: what is left is a bitmap scan, which needs an index
    # that can answer the condition itself. Ordering is dropped so no index is chosen for it.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        return queryset.order_by().explain()


def test_search_by_part_of_an_address_can_use_the_trigram_index():
    shown = plan(Parcel.objects.filter(address__folded_contains="o'neal st"))
    assert "parcel_address_trgm" in shown, shown


def test_search_by_apn_or_address_can_use_an_index_for_each():
    # The map's search box (maps.search.candidate_ids): without an index for the APN half, the
    # OR reads the whole table (430 ms at 1M parcels for a search that matches little).
    either = Q(apn__istartswith="133-281") | Q(address__folded_contains="4093 e pearl")
    shown = plan(Parcel.objects.filter(either))
    assert "BitmapOr" in shown, shown
    assert "parcel_apn_prefix" in shown and "parcel_address_trgm" in shown, shown


def test_the_staff_search_by_owner_can_use_its_trigram_index():
    shown = plan(Parcel.objects.filter(owner_of_record__folded_contains="delta properties"))
    assert "parcel_owner_trgm" in shown, shown


def test_the_land_use_codes_are_found_by_skipping_through_their_index():
    from parcels.queries import land_use_codes

    for code in ("V", "R1", "V", "", "C2"):
        factories.parcel(land_use=code)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as captured:
            assert land_use_codes() == ["", "C2", "R1", "V"]
        cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        shown = "\n".join(row[0] for row in cursor.fetchall())
    assert "parcel_land_use" in shown and "Seq Scan" not in shown, shown


def test_finding_vacant_lots_can_use_the_partial_metric_index():
    vacant = Parcel.objects.filter(vacancy_status="vacant", retired_at__isnull=True)
    assert "parcel_vacant" in plan(vacant.filter(geom_m__isnull=False))
