"""What a parcel lies in, for its popup: the public map's area layers (flood zones,
neighbourhoods, conservation easements) that it lies in.

"Is my street in a flood zone?" is a resident's first question of the map, and the map could
not answer it by a tap: the flood zone lies under the neighbourhoods, which took every tap on
it, and a parcel's popup said nothing of either. So the popup asks here, by the parcel's APN.
A parcel lies in an area by the registry's rule, the finder's: overlapping it by more than
TOUCHING_M (`Overlay.core_m`; `ConservationEasementQuerySet.covering`), so a lot beside a flood
zone, sharing a line with it, is not in it.

Each area layer is read through its layer (`Layer.rows`), so only what the layer may show to
the request's user (its name) leaves here, and only layers that user may see. A kind of area
with nothing loaded is not answered: "no mapped flood zone here" would be untrue of a registry
holding no flood map.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.db.models.functions import Upper

from maps.layers import all_layers
from parcels.models import Parcel


@dataclass(frozen=True)
class AreaKind:
    layer: str
    label: str  # as the popup names it, one area
    none: str | None  # said when the parcel lies in none; None: the line is left out
    lies_in: Callable  # (the layer's rows, the parcel's metric outline) -> those it lies in


AREA_KINDS = (
    AreaKind("flood-zones", "Flood zone", "None mapped here",
             lambda rows, outline: rows.filter(core_m__intersects=outline)),
    AreaKind("neighbourhoods", "Neighbourhood", None,
             lambda rows, outline: rows.filter(core_m__intersects=outline)),
    AreaKind("conserved-land", "Conservation easement", None,
             lambda rows, outline: rows.covering(outline)),
)  # fmt: skip


def areas_of_parcel(apn: str, user) -> list[dict[str, str]] | None:
    """The lines a parcel's popup adds, [{"label": "Flood zone", "value": "Zone AE"}, ...],
    in AREA_KINDS' order; None when no parcel the map shows has this APN."""
    outline = _metric_outline(apn)
    if outline is None:
        return None
    lines = []
    layers = all_layers()  # built once: each build reads the settings and the day (~3 ms)
    for kind in AREA_KINDS:
        layer = layers.get(kind.layer)
        if layer is None or not layer.visible_to(user):
            continue
        # Their names only: an overlay's outline (a ragged flood zone's thousands of vertices)
        # is not read for a popup's line.
        found = kind.lies_in(layer.rows(), outline).values_list("f_name", flat=True)
        names = [name or "" for name in found]
        if names:
            lines.append({"label": kind.label, "value": _names_said(names)})
        elif kind.none and layer.queryset().exists():  # "none" only where a map is loaded
            lines.append({"label": kind.label, "value": kind.none})
    return lines


def _metric_outline(apn: str) -> GEOSGeometry | None:
    """The metric outline of the parcel the map shows with this APN (a current one, or one
    the trust holds that a county re-import retired); the first, should two counties share
    the number. Found on the index of upper(apn) (`parcel_apn_prefix`): the unique index
    leads with the jurisdiction, which a popup does not know."""
    return (
        Parcel.objects.active_or_held()
        .alias(apn_upper=Upper("apn")).filter(apn_upper=apn.upper(), apn=apn)
        .order_by("retired_at", "pk").values_list("geom_m", flat=True).first()
    )  # fmt: skip


def _names_said(names: list[str]) -> str:
    """The areas' names, once each, in order: 'Zone AE', 'Poindexter Park, West Jackson'. An
    area named by its row at import ('flood-zone 3', for want of a name in its file) is
    'Yes': a number from a file tells a resident nothing."""
    generated = re.compile(r"^(flood-zone|neighbourhood|zoning|other) \d+$")
    kept = [name for name in dict.fromkeys(names) if name and not generated.match(name)]
    return ", ".join(kept) if kept else "Yes"
