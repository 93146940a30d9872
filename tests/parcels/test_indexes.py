"""The indexes the questions need exist and are the ones PostgreSQL can use for them."""

import pytest
from django.db import connection

from parcels.models import Parcel

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
    assert "parcel_address_trgm" in plan(Parcel.objects.filter(address__icontains="rose st"))


def test_finding_vacant_lots_can_use_the_partial_metric_index():
    vacant = Parcel.objects.filter(vacancy_status="vacant", retired_at__isnull=True)
    assert "parcel_vacant" in plan(vacant.filter(geom_m__isnull=False))
