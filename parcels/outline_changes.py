"""What a change of an outline did, as a history shows it: its area before and after, and how
far it moved when its area stayed the same ("595 m² (0.147 ac) → 616 m² (0.152 ac; +21 m²)").

A history event keeps an outline as GeoJSON (PostGIS's cast of the row to JSON), and "(an
outline) → (an outline)" told staff nothing: not when a neighbour's lot came under an easement,
nor whether a correction was put back. Areas are on the spheroid, as the models' `area_m2`
(ST_Area of the geography); the distance moved is the Hausdorff distance in the trust's metric
CRS (`metric_srid`): the farthest any point of one outline lies from the other.

Every outline of a page of history is measured in one query (`outlines_measured`), so a page of
100 outline changes costs what a page of one does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.core.exceptions import FieldDoesNotExist
from django.db import connection

from parcels.metric import metric_srid
from parcels.queries import SQM_PER_ACRE, without_jit

# Below this, an outline of the same area "moved" only by being redrawn (a vertex added on an
# edge, its rings started elsewhere): the registry's outlines are not surveyed more finely.
REDRAWN_IN_PLACE_M = 0.1

# An outline's GeoJSON as a history event keeps it, as text; None for no outline.
OutlineKey = str | None


@dataclass(frozen=True)
class OutlineChange:
    """An outline before and after one change, measured: either side None when there was no
    outline (an outline added, removed; a row inserted or deleted has only `old_m2`)."""

    old_m2: float | None
    new_m2: float | None
    moved_m: float | None = None  # measured only when the area stayed the same

    def words(self) -> tuple[str, str]:
        """The change as staff read it, old and new: "595 m² (0.147 ac)", "616 m² (0.152 ac;
        +21 m²)"; an outline of the same area says how far it moved."""
        if self.old_m2 is None or self.new_m2 is None:
            return area_words(self.old_m2), area_words(self.new_m2)
        grown_m2 = round(self.new_m2) - round(self.old_m2)
        if grown_m2:
            return area_words(self.old_m2), area_words(self.new_m2, f"{grown_m2:+,} m²")
        return area_words(self.old_m2), area_words(self.new_m2, _moved_words(self.moved_m))


# The outlines a page of history shows, measured: (old, new) -> the change (`outlines_measured`).
Outlines = dict[tuple[OutlineKey, OutlineKey], OutlineChange]


def area_words(area_m2: float | None, note: str = "") -> str:
    """An outline's area as history shows it, in square metres and acres: "616 m² (0.152 ac)";
    "—" for no outline."""
    if area_m2 is None:
        return "—"
    acres = f"{area_m2 / SQM_PER_ACRE:,.3f} ac"
    return f"{area_m2:,.0f} m² ({acres}; {note})" if note else f"{area_m2:,.0f} m² ({acres})"


def _moved_words(moved_m: float | None) -> str:
    if moved_m is None or moved_m < REDRAWN_IN_PLACE_M:
        return "same area, redrawn in place"
    return f"same area, moved up to {moved_m:,.1f} m"


def outline_key(value: Any) -> OutlineKey:
    """An outline from a history event's data or diff (GeoJSON), as the text PostGIS reads and
    `outlines_measured` is keyed by; None for no outline."""
    if value in (None, ""):
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# Outlines without a CRS (none that history keeps: PostGIS writes "EPSG:4326") are taken as
# degrees, the registry's CRS, rather than failing the page.
_MEASURED_SQL = """
WITH given AS (
    SELECT n, ST_Transform(ST_SetSRID(old, COALESCE(NULLIF(ST_SRID(old), 0), 4326)), 4326) AS old,
              ST_Transform(ST_SetSRID(new, COALESCE(NULLIF(ST_SRID(new), 0), 4326)), 4326) AS new
    FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS pair(old_json, new_json, n),
         LATERAL (SELECT ST_GeomFromGeoJSON(old_json) AS old, ST_GeomFromGeoJSON(new_json) AS new) g
), measured AS (
    SELECT n, old, new, ST_Area(old::geography) AS old_m2, ST_Area(new::geography) AS new_m2
    FROM given
)
SELECT n, old_m2, new_m2,
       CASE WHEN round(old_m2) = round(new_m2)
            THEN ST_HausdorffDistance(ST_Transform(old, %s), ST_Transform(new, %s)) END
FROM measured
ORDER BY n
"""


def outlines_measured(
    pairs: Iterable[tuple[OutlineKey, OutlineKey]],
) -> Outlines:
    """Each (old, new) pair of outlines (`outline_key`s; (value, None) for a row's outline
    alone) measured, in one query for them all; no query when there are none."""
    wanted = list(dict.fromkeys(pair for pair in pairs if pair != (None, None)))
    if not wanted:
        return {}
    srid = metric_srid()
    olds, news = [old for old, _ in wanted], [new for _, new in wanted]
    # JIT off: PostGIS's declared costs pass `jit_above_cost` from about 300 outlines (a
    # parcel's whole history), for a query that runs in milliseconds (`without_jit`).
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(_MEASURED_SQL, [olds, news, srid, srid])
        rows = cursor.fetchall()
    return {
        wanted[n - 1]: OutlineChange(old_m2, new_m2, moved) for n, old_m2, new_m2, moved in rows
    }


def outlines_of(events: list, models: list) -> Outlines:
    """Every outline history events show (an update's old and new; an added or deleted row's),
    measured in one query for the whole page (`outlines_measured`), not one per event.
    `models` are the events' tracked models, in the same order (None for one unknown)."""
    pairs = []
    for event, model in zip(events, models, strict=True):
        for name, (old, new) in (event.pgh_diff or {}).items():
            if is_outline(model, name):
                pairs.append((outline_key(old), outline_key(new)))
        if model is None or event.pgh_label not in ("insert", "delete"):
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, GeometryField):
                pairs.append((outline_key((event.pgh_data or {}).get(field.attname)), None))
    return outlines_measured(pairs)


def is_outline(model, name: str) -> bool:
    """Whether `name`, in an event of `model`, is an outline (a geometry field)."""
    try:
        return model is not None and isinstance(model._meta.get_field(name), GeometryField)
    except FieldDoesNotExist:
        return False
