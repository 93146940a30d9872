"""The indexes the questions need exist and are the ones PostgreSQL can use for them."""

import re

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from parcels.models import Parcel
from tests import factories

pytestmark = pytest.mark.django_db


def plan(queryset, **options) -> str:
    # On a near-empty test table a sequential scan is always cheapest, and a full walk of any
    # B-tree is the next resort. Forbid both: what is left is a bitmap scan, which needs an index
    # that can answer the condition itself. Ordering is dropped so no index is chosen for it.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        return queryset.order_by().explain(**options)


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


def test_two_letters_at_a_word_start_are_looked_up_in_the_trigram_index():
    """Searches that start with a short word (parcels.folding.FoldedSearch: the map's search,
    the staff's lists, the finder's address). In "%QZ%" QZ's start and end are unknown, so it
    has no trigram: the index hands back every row to be rechecked (0.9 s at 1M parcels). At a
    word's start it has "  Q" and " QZ"."""
    for number in range(3):
        factories.parcel(address=f"{number} Main St")

    def rechecked(condition: Q) -> int:
        shown = plan(Parcel.objects.filter(condition), analyze=True, costs=False, timing=False)
        assert "parcel_address_trgm" in shown, shown
        found = re.search(r"Rows Removed by Index Recheck: (\d+)", shown)
        return int(found.group(1)) if found else 0

    assert rechecked(Q(address__folded_contains="QZ")) == 3  # every row
    assert rechecked(Q(address__folded_starts_word="QZ")) == 0
    assert rechecked(Q(address__folded_search="QZ")) == 0  # the admin's search, for short words


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
    # Most parcels are not vacant, and the statistics say so: on an empty table the planner's
    # choice between this index and the whole table's metric index is a tie that rows left
    # behind by another test's rolled-back inserts could tip.
    for n in range(20):
        factories.parcel(vacancy_status="vacant" if n < 2 else "occupied")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE parcels_parcel")
    vacant = Parcel.objects.filter(vacancy_status="vacant", retired_at__isnull=True)
    assert "parcel_vacant" in plan(vacant.filter(geom_m__isnull=False))
