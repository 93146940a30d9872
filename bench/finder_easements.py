"""What conservation easements cost the finder: the `under_easement` flag on each lot of a page
and the `easement=exclude` filter, against the same page with no easement on record, in the same
run (BENCHMARKS.md, "Easements in the finder").

    DATABASE_URL=... .venv/bin/python bench/finder_easements.py [--easements 300] [--runs 9]

On a registry with a `clt synth` county imported (no easement yet: the first measurements are
the page without any). The script then records `--easements` easements, each over the lots
within 60 m of a random vacant lot (a few lots, like a farm's), and measures again:

1. the finder's first page by score (`vacant_lots_json({})`, 100 lots, each flagged), with no
   easement on record and with them;
2. the same page with `easement=exclude` (every candidate lot asked);
3. the reference: the bare EXISTS of the cover rule for the page's 100 lots, in SQL.

The easements it records are named "bench easement N" and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.timing import p50_ms  # noqa: E402
from parcels import finder  # noqa: E402
from parcels.models import ConservationEasement  # noqa: E402
from parcels.queries import TOUCHING_M  # noqa: E402

RECORD_EASEMENTS = """
WITH seeds AS (
    SELECT id, geom_m FROM parcels_parcel
    WHERE vacancy_status = 'vacant' AND retired_at IS NULL
    ORDER BY md5(id::text) LIMIT %(count)s
)
INSERT INTO parcels_conservationeasement
    (name, purpose, public_access, holder_id, began_on, recording_reference, terms, geom)
SELECT 'bench easement ' || s.id, 'farmland', 'unknown', %(holder)s, DATE '2020-01-01', '', '',
       (SELECT ST_Multi(ST_Union(p.geom)) FROM parcels_parcel p
        WHERE ST_DWithin(p.geom_m, s.geom_m, 60))
FROM seeds s
"""

# The cover rule for the page's lots, bare: what the flag asks of each (boxes, then the core: a
# union's outline folded by the projection breaks ST_Intersects itself, see parcels.queries).
BARE_FLAGS = f"""
SELECT count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM parcels_conservationeasement e
    WHERE e.began_on <= CURRENT_DATE AND (e.ended_on IS NULL OR e.ended_on > CURRENT_DATE)
      AND e.geom_m && p.geom_m
      AND ST_Intersects(ST_Buffer(e.geom_m, -{TOUCHING_M}), p.geom_m)))
FROM parcels_parcel p WHERE p.id = ANY(%s)
"""


def first_page(params: dict) -> dict:
    return json.loads(finder.vacant_lots_json(params))


def holder_id() -> int:
    from leases.models import Party

    trust, _ = Party.objects.get_or_create(kind="trust", name="bench trust")
    return trust.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--easements", type=int, default=300)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if ConservationEasement.objects.exists():
        sys.exit("this registry has easements already: run on one without (a synth county)")

    first_page({})  # warm
    none_ms = p50_ms(lambda: first_page({}), args.runs)
    with connection.cursor() as cursor:
        cursor.execute(RECORD_EASEMENTS, {"count": args.easements, "holder": holder_id()})
        cursor.execute("ANALYZE parcels_conservationeasement")
    try:
        page = first_page({})
        ids = [feature["id"] for feature in page["features"]]
        flagged = sum(f["properties"]["under_easement"] for f in page["features"])
        with_ms = p50_ms(lambda: first_page({}), args.runs)
        exclude_ms = p50_ms(lambda: first_page({"easement": "exclude"}), args.runs)

        def bare() -> None:
            with connection.cursor() as cursor:
                cursor.execute(BARE_FLAGS, [ids])
                cursor.fetchone()

        bare_ms = p50_ms(bare, args.runs)
        recorded = ConservationEasement.objects.count()
    finally:
        ConservationEasement.objects.filter(name__startswith="bench easement ").delete()
    # Without them again, so the page's own drift between the runs (a noisy machine) shows.
    none_after_ms = p50_ms(lambda: first_page({}), args.runs)
    lots = len(ids)
    print(f"{recorded} easements; page of {lots} lots, {flagged} under one")
    print(f"first page by score, no easement on record  p50 {none_ms:8.1f} ms, "
          f"{none_after_ms:.1f} ms after")  # fmt: skip
    none_ms = (none_ms + none_after_ms) / 2
    print(f"first page by score, easements flagged      p50 {with_ms:8.1f} ms  "
          f"(x{with_ms / none_ms:.2f} the page with none)")  # fmt: skip
    print(f"first page, easement=exclude                p50 {exclude_ms:8.1f} ms  "
          f"(x{exclude_ms / none_ms:.2f})")  # fmt: skip
    print(f"bare cover rule for the page's {lots} lots      p50 {bare_ms:8.2f} ms  "
          f"(the flag's added cost: {with_ms - none_ms:.2f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
