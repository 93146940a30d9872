"""The declared map layers: a named query, a title, a style, an audience and a field whitelist.

Every public surface (the map, vector tiles, GeoJSON, the OGC API, downloads) reads layers only
through `Layer.select_sql()`, whose SELECT list is built from the layer's `fields` and nothing
else. A field not declared on a layer cannot reach a response: privacy is a property of the
query, not of each view remembering to drop columns.

Staff layers (`audience = STAFF`) may add private fields (lease status, arrears, open monitoring
events); views must check `layer.visible_to(user)` before serving them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, ExtractYear

from leases.models import GroundLease, MonitoringEvent
from parcels.models import HoldingParcel, Overlay, OverlayKind, Parcel


class Audience(enum.Enum):
    PUBLIC = "public"
    STAFF = "staff"


@dataclass(frozen=True)
class LayerField:
    """One attribute a layer may show: its public name, how to compute it, its type."""

    name: str
    expression: object  # a Django expression evaluated per parcel
    type: str = "string"  # "string" | "integer" | "number" | "date" (for schemas and exports)
    title: str = ""


@dataclass(frozen=True)
class Style:
    """How a layer is drawn: a fill and stroke, or a fill per value of one field."""

    fill: str = "#2f6b3a"
    stroke: str = "#1d2b1f"
    opacity: float = 0.6
    by_field: str | None = None
    fills: dict[str, str] = field(default_factory=dict)
    # Zoomed out, draw the layer's cells as rings: a subset of land drawn under it (homes
    # available now, leases) marked around the colours of its uses instead of covering them.
    cell_ring: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    description: str
    audience: Audience
    queryset: Callable[[], QuerySet]
    fields: tuple[LayerField, ...]
    style: Style = Style()
    id_field: str = "apn"
    datetime_field: str | None = None  # a date field, for OGC API `datetime` filters
    min_zoom: int = 0  # below this zoom the map draws nothing for the layer
    # From this zoom a tile carries each feature's outline; from `min_zoom` up to it, one point
    # per cell of the tile with the number of features there (maps/tiles.py): a city's lots are
    # sub-pixel at zoom 12 and 60,000 of them would not fit a tile's time budget.
    detail_zoom: int = 0
    # How the map loads it: "tiles" (vector tiles, for layers that grow with the city) or
    # "geojson" (one small document: overlays of a few dozen areas).
    delivery: str = "tiles"

    @property
    def is_public(self) -> bool:
        return self.audience is Audience.PUBLIC

    def visible_to(self, user) -> bool:
        """Whether `user` (possibly anonymous) may see this layer."""
        return self.is_public or bool(user and user.is_authenticated and user.is_staff)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def rows(self) -> QuerySet:
        """The layer's features: its primary key, geometry and whitelisted fields only."""
        annotations = {f"f_{f.name}": f.expression for f in self.fields}
        return (
            self.queryset()
            .filter(geom__isnull=False)
            .annotate(**annotations)
            .values("pk", "geom", *annotations)
        )

    def select_sql(self) -> tuple[str, tuple]:
        """SQL for `SELECT pk AS id, geom, <field> AS "<name>", ...` with bound parameters.

        Tiles and exports wrap this in ST_AsMVT / ST_AsGeoJSON; the column names are the public
        field names, so the database serialises exactly the whitelist.
        """
        sql, params = self.rows().query.sql_with_params()
        # The inner SELECT names its first two columns "pk" and "geom".
        columns = ", ".join(
            ["q.pk AS id", "q.geom", *(f'q."f_{f.name}" AS "{f.name}"' for f in self.fields)]
        )
        return f"SELECT {columns} FROM ({sql}) AS q", params


# --- the expressions layers are made of -------------------------------------------------


def _current_holding(column: str) -> Subquery:
    """A column of the holding a parcel currently belongs to."""
    memberships = HoldingParcel.objects.filter(
        parcel=OuterRef("pk"), ended_on__isnull=True, holding__ended_on__isnull=True
    )
    return Subquery(memberships.values(f"holding__{column}")[:1])


def _contact() -> Value:
    return Value(settings.CLT_CONTACT, output_field=CharField())


def _held_now() -> Exists:
    """Whether a parcel belongs to a current holding of the trust."""
    return Exists(
        HoldingParcel.objects.filter(
            parcel=OuterRef("pk"), ended_on__isnull=True, holding__ended_on__isnull=True
        )
    )


def _trust_parcels() -> QuerySet:
    return Parcel.objects.active().filter(_held_now())


def _current_lease(column: str) -> Subquery:
    leases = GroundLease.objects.in_force().filter(parcels=OuterRef("pk")).order_by("-starts_on")
    return Subquery(leases.values(column)[:1])


def _open_monitoring_count() -> Subquery:
    events = (
        MonitoringEvent.objects.filter(
            lease__parcels=OuterRef("pk"), status__in=["open", "in_progress"]
        )
        .order_by()
        .values("lease__parcels")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(events, output_field=IntegerField()), 0)


USE_FILLS = {
    "single_family_home": "#c2703d",
    "coop_housing": "#b3475a",
    "urban_farm": "#4f8a2b",
    "community_garden": "#7fbf3f",
    "commercial_coop": "#6a4fb3",
    "conservation": "#2f7d6b",
    "held_vacant": "#c9b458",
}

# The zoom from which the trust's own layers carry outlines (below it, cells: maps/tiles.py).
TRUST_DETAIL_ZOOM = 13

# Overlay areas: public context drawn under the parcels (maps.layers reads parcels.Overlay).
OVERLAY_FIELDS = (
    LayerField("name", F("name"), title="Name"),
    LayerField("kind", F("kind"), title="Kind"),
)

PUBLIC_PARCEL_FIELDS = (
    LayerField("apn", F("apn"), title="Parcel number (APN)"),
    LayerField("address", F("address"), title="Address"),
)


def _trust_land_fields() -> tuple[LayerField, ...]:
    return (
        *PUBLIC_PARCEL_FIELDS,
        LayerField("use", _current_holding("current_use"), title="Current use code"),
        LayerField("available", Cast(_current_holding("available"), CharField()),
                   title="Available now"),
        LayerField("acquired_year", ExtractYear(_current_holding("acquired_on")), "integer",
                   title="Year the trust acquired it"),
        # The deed's date is public record; it is what OGC API `datetime` filters on.
        LayerField("acquired_on", _current_holding("acquired_on"), "date",
                   title="Date the trust acquired it"),
        LayerField("area_m2", Cast(F("area_m2"), IntegerField()), "integer", title="Area (m²)"),
        LayerField("contact", _contact(), title="Contact the trust"),
    )


def _layers() -> tuple[Layer, ...]:
    trust_fields = _trust_land_fields()
    return (
        Layer(
            name="trust-land",
            title="Land held by the trust",
            description="Every parcel the land trust holds, by its current use.",
            audience=Audience.PUBLIC,
            queryset=_trust_parcels,
            fields=trust_fields,
            style=Style(by_field="use", fills=USE_FILLS),
            datetime_field="acquired_on",
            # A lot is under a pixel wide below z13. Whole-city tiles of 10,000 holdings' outlines
            # were 0.5-0.8 MB and 120-150 ms at z8-10; their cells (by use) are 1-5 kB.
            detail_zoom=TRUST_DETAIL_ZOOM,
        ),
        Layer(
            name="available",
            title="Homes and lots available now",
            description="Trust homes and lots offered now to a household, co-op or farm.",
            audience=Audience.PUBLIC,
            queryset=lambda: _trust_parcels().filter(
                holdingparcel__ended_on__isnull=True, holdingparcel__holding__available=True
            ),
            fields=trust_fields,
            # Apart from every use's fill: its yellow was all but the "held vacant" one.
            style=Style(fill="#17becf", stroke="#0b5f68", opacity=0.8, cell_ring=True),
            datetime_field="acquired_on",
            detail_zoom=TRUST_DETAIL_ZOOM,
        ),
        Layer(
            name="vacant-lots",
            title="Vacant lots in the city",
            description="Vacant parcels from the county's data that the trust does not hold.",
            audience=Audience.PUBLIC,
            # NOT EXISTS per lot, not NOT IN (every trust parcel): a tile reads only its own lots.
            queryset=lambda: Parcel.objects.vacant().exclude(_held_now()),
            fields=(
                *PUBLIC_PARCEL_FIELDS,
                LayerField("land_use", F("land_use"), title="County land use"),
                LayerField("zoning", F("zoning"), title="Zoning"),
                LayerField("tax_status", F("tax_status"), title="Tax status"),
                LayerField("area_m2", Cast(F("area_m2"), IntegerField()), "integer",
                           title="Area (m²)"),
            ),
            style=Style(fill="#9e9e9e", stroke="#616161", opacity=0.5),
            min_zoom=12,
            detail_zoom=14,
        ),
        Layer(
            name="parcels",
            title="All parcels (county records)",
            description="Every active parcel in the county's file: number, address, land use "
            "and zoning (never the owner of record).",
            audience=Audience.PUBLIC,
            queryset=lambda: Parcel.objects.active(),
            fields=(
                *PUBLIC_PARCEL_FIELDS,
                LayerField("land_use", F("land_use"), title="County land use"),
                LayerField("zoning", F("zoning"), title="Zoning"),
                LayerField("area_m2", Cast(F("area_m2"), IntegerField()), "integer",
                           title="Area (m²)"),
            ),
            style=Style(fill="#ffffff", stroke="#8a8a8a", opacity=0.05),
            min_zoom=12,
            detail_zoom=15,  # a 40-ft lot is 1-3 pixels wide at zoom 14
        ),
        Layer(
            name="neighbourhoods",
            title="Neighbourhoods",
            description="Neighbourhood boundaries.",
            audience=Audience.PUBLIC,
            queryset=lambda: Overlay.objects.filter(kind=OverlayKind.NEIGHBOURHOOD),
            fields=OVERLAY_FIELDS,
            style=Style(fill="#5b6b8c", stroke="#3d4a66", opacity=0.04),
            id_field="name",
            delivery="geojson",
        ),
        Layer(
            name="flood-zones",
            title="Flood zones",
            description="Flood hazard areas.",
            audience=Audience.PUBLIC,
            queryset=lambda: Overlay.objects.filter(kind=OverlayKind.FLOOD_ZONE),
            fields=OVERLAY_FIELDS,
            style=Style(fill="#3b8fd9", stroke="#1f5f99", opacity=0.25),
            id_field="name",
            delivery="geojson",
        ),
        Layer(
            name="leases",
            title="Ground leases (staff)",
            description="Trust parcels with their lease status, arrears and open monitoring.",
            audience=Audience.STAFF,
            queryset=lambda: _trust_parcels().filter(
                Exists(GroundLease.objects.in_force().filter(parcels=OuterRef("pk")))
            ),
            fields=(
                *PUBLIC_PARCEL_FIELDS,
                LayerField("lease", _current_lease("reference"), title="Lease"),
                LayerField("lease_status", _current_lease("status"), title="Lease status"),
                LayerField("arrears", Cast(_current_lease("arrears"), CharField()),
                           title="Fees in arrears ($)"),
                LayerField("open_monitoring", _open_monitoring_count(), "integer",
                           title="Open monitoring events"),
            ),
            style=Style(fill="#1f5fa8", stroke="#0d2c52", cell_ring=True),
            detail_zoom=TRUST_DETAIL_ZOOM,
        ),
    )


def all_layers() -> dict[str, Layer]:
    """Every declared layer by name (built on demand: expressions read settings)."""
    return {layer.name: layer for layer in _layers()}


def get_layer(name: str) -> Layer | None:
    return all_layers().get(name)


def layers_for(user) -> list[Layer]:
    """The layers `user` may see, public first."""
    return [layer for layer in all_layers().values() if layer.visible_to(user)]
