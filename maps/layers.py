"""The declared map layers: a named query, a title, a style, an audience and a field whitelist.

Every public surface (the map, vector tiles, GeoJSON, the OGC API, downloads) reads layers only
through `Layer.select_sql()`, whose SELECT list is built from the layer's `fields` and nothing
else. A field not declared on a layer cannot reach a response: privacy is a property of the
query, not of each view remembering to drop columns.

Staff layers (`audience = STAFF`) may add private fields (lease status, arrears, open monitoring
events); views must check `layer.visible_to(user)` before serving them. A staff layer declares
the permission of the records it shows (`permission`): being on the staff is not enough, a
staff member sees it only through a role (clt/roles.py) that may view those records, as the
report and the admin already ask.

Layers are built for a day (`all_layers(on)`, the trust's today by default): what the trust holds
and which leases are in force follow the registry's dated rule (`parcels.queries.held_memberships`,
`GroundLeaseQuerySet.in_force`), as the finder and the reports do, so they change at midnight
without any write. Such a layer says so in `as_of`, and every cache of its features keys on that
day as well as on the data versions (maps/versions.py).

A feature is a parcel or an overlay area, except on the staff's lease layer, where it is a lease
in force: its parcels the trust holds, drawn as one MultiPolygon, so a lease's money and counts
are on one feature and a GIS adds them up to the lease register's totals (on a feature per
parcel, a lease of four parcels had its arrears counted four times). Such a layer declares the
parcels its features are made of (`Layer.parts`): a box (a tile, an OGC API `bbox`) finds its
features through their parcels' spatial index, so only the leases in the box are drawn.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.gis.db.models import MultiPolygonField, Union
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, ExtractYear, Greatest
from django.utils import timezone

from leases.models import GroundLease, MonitoringEvent, MonitoringStatus
from leases.queries import status_on
from parcels.models import ConservationEasement, HoldingUse, Overlay, OverlayKind, Parcel
from parcels.queries import held_memberships


class Audience(enum.Enum):
    PUBLIC = "public"
    STAFF = "staff"


@dataclass(frozen=True)
class LayerField:
    """One attribute a layer may show: its public name, how to compute it, its type."""

    name: str
    expression: object  # a Django expression evaluated per feature (a parcel, an area, a lease)
    # For schemas and exports: "string" | "integer" | "number" (a float) | "decimal" (money:
    # exact, in cents, so sums and `arrears > 500` work in a GIS) | "boolean" | "date".
    type: str = "string"
    title: str = ""
    # Its name in a Shapefile, whose field names stop at 10 characters: declared for a longer
    # name, since GDAL's cut ones (`acquired_y` beside `acquired_o`) say nothing to a reader.
    short_name: str = ""

    @property
    def shapefile_name(self) -> str:
        """The field's name in a Shapefile (at most 10 characters, unique in its layer)."""
        return self.short_name or self.name


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
    # Drawn as a dashed line above the parcel layers, with no fill: an area that spans many
    # lots (a conservation easement) drawn under them was hidden by their fills. With no fill,
    # a click inside it reaches the lot under it; one on its line opens the area's popup.
    boundary: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    description: str
    audience: Audience
    queryset: Callable[[], QuerySet]
    fields: tuple[LayerField, ...]
    style: Style = Style()
    id_field: str = "apn"  # the field a reader knows a feature by (the id is the row's key)
    # What the feature id is, for a CSV's column description (CSVW): a parcel's or an area's
    # key in the registry, or on the lease layer the lease's.
    id_title: str = "Feature id"
    # What one feature is, as the map counts them zoomed out ("3 lots", "2 leases").
    feature_noun: str = "lot"
    datetime_field: str | None = None  # a date field, for OGC API `datetime` filters
    min_zoom: int = 0  # below this zoom the map draws nothing for the layer
    # From this zoom a tile carries each feature's outline; from `min_zoom` up to it, one point
    # per cell of the tile with the number of features there (maps/tiles.py): a city's lots are
    # sub-pixel at zoom 12 and 60,000 of them would not fit a tile's time budget.
    detail_zoom: int = 0
    # How the map loads it: "tiles" (vector tiles, for layers that grow with the city) or
    # "geojson" (one small document: overlays of a few dozen areas).
    delivery: str = "tiles"
    # The trust's day the features are computed for, when they depend on it (held now, lease
    # in force); None when only writes change them. Caches key on it (maps/versions.py).
    as_of: dt.date | None = None
    # A staff layer's: the permission ("app_label.codename") to view the records it shows.
    permission: str | None = None
    # For a layer whose features are made of parcels (a lease: its parcels, as one outline),
    # those parcels, each annotated `part_of` with the id of the feature it is part of: every
    # parcel with an outline that the feature's geometry is the union of, and no other. A box
    # then selects features by their parcels, on the parcels' spatial index (`parts_sql`,
    # `geometry_test`), and a search finds a feature by any of its parcels (maps/search.py).
    # Its queryset keeps only features with such a part: their geometry is never NULL.
    parts: Callable[[], QuerySet] | None = None

    def __post_init__(self):
        # Fail closed: a staff layer without a permission would be open to any staff account.
        if not self.is_public and not self.permission:
            raise ValueError(f"staff layer '{self.name}' declares no permission")

    @property
    def is_public(self) -> bool:
        return self.audience is Audience.PUBLIC

    def visible_to(self, user) -> bool:
        """Whether `user` (possibly anonymous) may see this layer: anyone a public one; a staff
        one, active staff who hold its `permission` (through a role, or as superuser)."""
        if self.is_public:
            return True
        return bool(
            user and user.is_authenticated and user.is_staff and user.has_perm(self.permission)
        )

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def rows(self) -> QuerySet:
        """The layer's features: its primary key, geometry and whitelisted fields only."""
        annotations = {f"f_{f.name}": f.expression for f in self.fields}
        features = self.queryset()
        if self.parts is None:
            # A layer made of parts keeps those with one (see `parts`): here, its outline would
            # be built once more per feature, in the WHERE, before any box had narrowed them.
            features = features.filter(geom__isnull=False)
        return features.annotate(**annotations).values("pk", "geom", *annotations)

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

    def parts_sql(self) -> tuple[str, tuple] | None:
        """SQL for `SELECT <feature id> AS id, <parcel id> AS parcel, geom, apn, address` of
        the parcels the layer's features are made of (`parts`), with bound parameters; None
        for a layer whose features are not made of parcels. APN and address are public fields
        of every parcel layer: a search names the parcel of a lease that it found."""
        if self.parts is None:
            return None
        rows = (
            self.parts()
            .filter(geom__isnull=False)
            .order_by()
            .values("pk", "geom", "apn", "address", "part_of")
        )
        sql, params = rows.query.sql_with_params()
        return (
            f"SELECT q.part_of AS id, q.pk AS parcel, q.geom, q.apn, q.address FROM ({sql}) AS q",
            tuple(params),
        )


def geometry_test(alias: str, test: str, parts: tuple[str, tuple] | None) -> tuple[str, tuple]:
    """SQL for "the feature `alias` (a row of `select_sql()`) passes `test`", with the
    parameters of the parts' query (`test`'s own come after them, in `test`'s order).

    `test` is a condition on `{geom}` that a union of parcels passes when one of them does
    (`ST_Intersects` with a box; `&&` with a box nearly so, see below). On a layer of parcels
    or areas it is asked of the feature's geometry; on a layer made of parts (`parts`, as
    `Layer.parts_sql()` gives it) of the parts, whose spatial index finds the few in the box,
    and only those features' outlines are then built: asked of the union itself, every
    lease's would be built for each tile. `&&` of a part is narrower than `&&` of the union,
    whose bounding box also covers the gaps between its parts: a box that meets only such a
    gap meets none of the feature's outline, so nothing that box draws is lost.
    """
    if parts is None:
        return test.format(geom=f"{alias}.geom"), ()
    sql, params = parts
    inside = test.format(geom="parts.geom")
    return f"{alias}.id IN (SELECT parts.id FROM ({sql}) AS parts WHERE {inside})", params


def box_sql(alias: str, parts: tuple[str, tuple] | None) -> tuple[str, tuple]:
    """SQL for the bounding box (box2d) of the feature `alias`, with its parameters: of its
    geometry; on a layer made of parts, the extent of its parts, the same box without building
    their union (a zoomed-out tile needs only where each feature is: maps/tiles.py)."""
    if parts is None:
        return f"{alias}.geom::box2d", ()
    sql, params = parts
    extent = f"SELECT ST_Extent(parts.geom) FROM ({sql}) AS parts WHERE parts.id = {alias}.id"
    return f"({extent})", params


# --- the expressions layers are made of -------------------------------------------------


def _membership_held(on: dt.date) -> QuerySet:
    """The outer query's parcel's membership of a holding the trust has on `on`.

    The registry's one dated rule (joined by then, not yet left, of a holding acquired by then
    and not yet ended), shared with the finder and the reports: a holding whose end is dated
    next month is trust land until then, one acquired with a future date is not yet.
    """
    return held_memberships(on).filter(parcel=OuterRef("pk"))


def _current_holding(column: str, on: dt.date) -> Subquery:
    """A column of the holding the parcel belongs to on `on`."""
    membership = _membership_held(on).order_by("-began_on")
    return Subquery(membership.values(f"holding__{column}")[:1])


# The uses whose land is a public place, known by its name: a farm, a garden, a co-op's
# building, the woods. A household's home never is: staff name its holding after the address
# or the family ("Hamer home"), and a name there would say who lives in it.
NAMED_PLACE_USES = (
    HoldingUse.URBAN_FARM, HoldingUse.COMMUNITY_GARDEN, HoldingUse.COMMERCIAL_COOP,
    HoldingUse.COOP_HOUSING, HoldingUse.CONSERVATION,
)  # fmt: skip


def _place_name(on: dt.date) -> Coalesce:
    """The name of the place the parcel is part of on `on` ("Freedom Farm"), for the uses in
    NAMED_PLACE_USES; "" for a home or a held lot (see there)."""
    membership = _membership_held(on).order_by("-began_on")
    named = membership.filter(holding__current_use__in=NAMED_PLACE_USES)
    return Coalesce(Subquery(named.values("holding__name")[:1]), Value(""))


def _joined_on(on: dt.date) -> Subquery:
    """The day the parcel became the trust's: its membership's start, or its holding's
    acquisition if that came later. Not the holding's date alone: a lot added in 2026 to a
    garden acquired in 2025 was published as acquired in 2025, which OGC API `datetime`
    filters, the map and downloads then contradicted `clt holdings` with. (A parcel the county
    renumbered, moved to its new APN, shows the day of the move: the registry cannot tell that
    move from a purchase.)"""
    membership = _membership_held(on).order_by("-began_on")
    joined = membership.annotate(joined_on=Greatest("began_on", "holding__acquired_on"))
    return Subquery(joined.values("joined_on")[:1])


def _contact() -> Value:
    return Value(settings.CLT_CONTACT, output_field=CharField())


def _held_now(on: dt.date, **holding) -> Exists:
    """Whether a parcel belongs on `on` to a holding of the trust (with `holding` conditions on
    the holding, as `holding__available=True`)."""
    return Exists(_membership_held(on).filter(**holding))


def _trust_parcels(on: dt.date, **holding) -> QuerySet:
    """Parcels the trust holds on `on`, retired from the county's file or not: a holding is a
    legal fact that a county re-import does not undo, and the finder and the reports count
    them as trust land too (parcels.queries.HELD_SQL). The import warns staff instead."""
    return Parcel.objects.filter(_held_now(on, **holding))


def _lease_parcels(on: dt.date) -> QuerySet:
    """The parcels of the outer query's lease that the trust holds on `on`: those it is drawn
    from. A parcel the trust has let go since the lease was signed is no trust land, on the
    map or in the finder, though the lease still names it."""
    return _trust_parcels(on).filter(leases=OuterRef("pk"))


def _per_lease(parcels: QuerySet, aggregate, output_field) -> Subquery:
    """`aggregate` of `parcels` (those of the outer query's lease): one value per lease."""
    grouped = parcels.order_by().values("leases").annotate(value=aggregate).values("value")
    return Subquery(grouped, output_field=output_field)


def _lease_outline(on: dt.date) -> Subquery:
    """The lease's outline: the union of its parcels held on `on`, as one MultiPolygon in
    EPSG:4326 (adjacent lots merge into one polygon; apart, they stay parts of one feature)."""
    outline = Func(Union("geom"), function="ST_Multi", output_field=MultiPolygonField(srid=4326))
    outlined = _lease_parcels(on).filter(geom__isnull=False)
    return _per_lease(outlined, outline, MultiPolygonField(srid=4326))


def _leases_drawn(on: dt.date) -> QuerySet:
    """The leases in force on `on` with a parcel the trust holds then that has an outline, each
    with its outline as `geom`: the staff lease layer's features, one per lease.

    Every lease in force is its own feature, even two on the same lots (a co-op building may
    carry a lease per unit): each one's money is on its own feature, where the layer of parcels
    showed the latest begun of them and left the other's arrears out of every sum."""
    # "Has an outline" as a scalar subquery, not EXISTS: PostgreSQL makes an EXISTS a join,
    # which it planned over every lease in force (30 ms a z16 tile at 5,000 leases) before a
    # tile's box had picked the few in it; a subquery is asked only of the leases the box keeps.
    outlined = _lease_parcels(on).filter(geom__isnull=False).values("pk")[:1]
    return (
        GroundLease.objects.in_force(on)
        .alias(outlined_parcel=Subquery(outlined))
        .filter(outlined_parcel__isnull=False)
        .annotate(geom=_lease_outline(on))
    )


def _lease_parts(on: dt.date) -> QuerySet:
    """The parcels the lease features are drawn from (`Layer.parts`): each parcel the trust
    holds on `on`, once per lease naming it, with that lease's id as `part_of`."""
    return _trust_parcels(on).filter(leases__isnull=False).annotate(part_of=F("leases"))


def _lease_column(name: str) -> ExpressionWrapper:
    """A column of the lease, typed as its model field (an OGC API filter on `arrears` reads
    the field's digits and places from it: maps.ogcapi.params._capacity)."""
    return ExpressionWrapper(F(name), output_field=GroundLease._meta.get_field(name).clone())


OPEN_MONITORING = (MonitoringStatus.OPEN.value, MonitoringStatus.IN_PROGRESS.value)


def _open_monitoring_count() -> Coalesce:
    """How many monitoring events of the lease are open: only its own, so a terminated
    lease's open events, which belong to the previous household, are not the new lease's."""
    events = (
        MonitoringEvent.objects.filter(lease=OuterRef("pk"), status__in=OPEN_MONITORING)
        .order_by()
        .values("lease")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(events, output_field=IntegerField()), 0)


def _lease_fields(on: dt.date) -> tuple[LayerField, ...]:
    """The staff lease layer's fields: each a fact of the lease, once per lease."""
    parcels = _lease_parcels(on)
    apns = StringAgg("apn", ", ", order_by="apn")
    addresses = StringAgg("address", "; ", distinct=True, filter=~Q(address=""),
                          order_by="address")
    return (
        LayerField("lease", _lease_column("reference"), title="Lease (its reference)"),
        # The status on the day, by the rule the lease list's "status today" and the report
        # read, not the status field: a lease recorded terminated that ends next month is
        # active until then. (One past its term or not yet begun is not in force: not here.)
        LayerField("lease_status", status_on(on), title="Lease status", short_name="status"),
        LayerField("arrears", _lease_column("arrears"), "decimal",
                   title="Fees in arrears on the lease ($)"),
        LayerField("open_monitoring", _open_monitoring_count(), "integer",
                   title="Open monitoring events of the lease", short_name="open_evts"),
        LayerField("parcels", _per_lease(parcels, Count("pk"), IntegerField()), "integer",
                   title="Parcels of the lease the trust holds"),
        LayerField("apns", _per_lease(parcels, apns, CharField()),
                   title="Their parcel numbers (APNs)"),
        LayerField("addresses", _per_lease(parcels, addresses, CharField()),
                   title="Their addresses"),
    )


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


def _trust_land_fields(on: dt.date) -> tuple[LayerField, ...]:
    return (
        *PUBLIC_PARCEL_FIELDS,
        LayerField("place", _place_name(on), title="Name of the place (a farm, a garden, a co-op)"),
        LayerField("use", _current_holding("current_use", on), title="Current use code"),
        LayerField("available", _current_holding("available", on), "boolean",
                   title="Available now"),
        LayerField("acquired_year", ExtractYear(_joined_on(on)), "integer",
                   title="Year the trust acquired it", short_name="acq_year"),
        # The deed's date is public record; it is what OGC API `datetime` filters on.
        LayerField("acquired_on", _joined_on(on), "date",
                   title="Date the trust acquired it", short_name="acq_date"),
        LayerField("area_m2", Cast(F("area_m2"), IntegerField()), "integer", title="Area (m²)"),
        LayerField("contact", _contact(), title="Contact the trust"),
    )


def _is(condition: Q) -> ExpressionWrapper:
    """Whether the feature meets `condition`, as a boolean field (never NULL)."""
    return ExpressionWrapper(condition, output_field=BooleanField())


def _easement_fields() -> tuple[LayerField, ...]:
    """A conservation easement's public facts: where, why, whether one may visit, since when
    and for how long, whether the trust holds it, and the trust's contact (read when the layer
    is built, as trust land's). Never who holds it otherwise (Party.name is private, as are the
    grantor, the terms and the monitoring visits): `held_by_trust` is asked of the holder's
    kind, so the holder's row is read but none of its columns is shown."""
    return (
        LayerField("name", F("name"), title="Name"),
        LayerField("purpose", F("purpose"), title="Conservation purpose code"),
        LayerField("public_access", F("public_access"), title="Public access code",
                   short_name="access"),
        LayerField("held_by_trust", _is(Q(holder__kind="trust")), "boolean",
                   title="Held by the trust", short_name="by_trust"),
        LayerField("perpetual", _is(Q(ended_on__isnull=True)), "boolean",
                   title="Perpetual (no end date)"),
        # A term easement's end is recorded with it (public record, as the recording is).
        LayerField("ends_on", F("ended_on"), "date",
                   title="Date it ends (a term easement; none when perpetual)"),
        LayerField("recorded_year", ExtractYear("began_on"), "integer",
                   title="Year it was recorded", short_name="rec_year"),
        # The recording is public record; it is what OGC API `datetime` filters on.
        LayerField("recorded_on", F("began_on"), "date", title="Date it was recorded",
                   short_name="rec_date"),
        LayerField("area_m2", Cast(F("area_m2"), IntegerField()), "integer", title="Area (m²)"),
        LayerField("contact", _contact(), title="Contact the trust"),
    )


def _layers(today: dt.date) -> tuple[Layer, ...]:
    trust_fields = _trust_land_fields(today)
    return (
        Layer(
            name="trust-land",
            title="Land held by the trust",
            description="Every parcel the land trust holds, by its current use.",
            audience=Audience.PUBLIC,
            queryset=lambda: _trust_parcels(today),
            fields=trust_fields,
            style=Style(by_field="use", fills=USE_FILLS),
            datetime_field="acquired_on",
            # A lot is under a pixel wide below z13. Whole-city tiles of 10,000 holdings' outlines
            # were 0.5-0.8 MB and 120-150 ms at z8-10; their cells (by use) are 1-5 kB.
            detail_zoom=TRUST_DETAIL_ZOOM,
            as_of=today,
        ),
        Layer(
            name="available",
            title="Homes and lots available now",
            description="Trust homes and lots offered now to a household, co-op or farm.",
            audience=Audience.PUBLIC,
            queryset=lambda: _trust_parcels(today, holding__available=True),
            fields=trust_fields,
            # Apart from every use's fill: its yellow was all but the "held vacant" one.
            style=Style(fill="#17becf", stroke="#0b5f68", opacity=0.8, cell_ring=True),
            datetime_field="acquired_on",
            detail_zoom=TRUST_DETAIL_ZOOM,
            as_of=today,
        ),
        Layer(
            name="vacant-lots",
            title="Vacant lots in the city",
            description="Vacant parcels from the county's data that the trust does not hold.",
            audience=Audience.PUBLIC,
            # NOT EXISTS per lot, not NOT IN (every trust parcel): a tile reads only its own lots.
            queryset=lambda: Parcel.objects.vacant().exclude(_held_now(today)),
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
            as_of=today,
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
            # A lot's outline is all that shows of it: 3:1 against the base map (#f2efe9;
            # WCAG 1.4.11), where #8a8a8a was 2.6:1.
            style=Style(fill="#ffffff", stroke="#6e6e6e", opacity=0.05),
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
            name="conserved-land",
            title="Land under conservation easement",
            description="Land a conservation easement in force keeps from development, "
            "whoever owns it: its purpose, public access and when it was recorded, and whether "
            "the trust holds it (never another holder, the landowner or the easement's terms).",
            audience=Audience.PUBLIC,
            # A few dozen areas, which an ended easement leaves and one recorded later joins
            # on its day without a write: built for the day, as the trust's land is.
            queryset=lambda: ConservationEasement.objects.in_force(today),
            fields=_easement_fields(),
            # A dashed dark green line over the lots it covers (`Style.boundary`): the area
            # reads as a boundary over their uses, apart from the "conservation" use's fill.
            style=Style(fill="#7fc97f", stroke="#1b5e20", opacity=0.15, boundary=True),
            id_field="name",
            feature_noun="easement",
            datetime_field="recorded_on",
            delivery="geojson",
            as_of=today,
        ),
        Layer(
            name="leases",
            title="Ground leases (staff)",
            description="One feature per ground lease in force: the parcels of it the trust "
            "holds, as one MultiPolygon, with the lease's status, arrears and open monitoring "
            "events, each once, so sums over the features are the lease register's. The "
            "feature id is the lease's id in the registry (it stays the lease's while the "
            "lease lasts, whatever its parcels); `lease` is its reference, `apns` its parcels.",
            audience=Audience.STAFF,
            queryset=lambda: _leases_drawn(today),
            parts=lambda: _lease_parts(today),
            fields=_lease_fields(today),
            style=Style(fill="#1f5fa8", stroke="#0d2c52", cell_ring=True),
            id_field="lease",
            id_title="Feature id: the lease's id in the registry, the same while it lasts",
            feature_noun="lease",
            detail_zoom=TRUST_DETAIL_ZOOM,
            as_of=today,
            permission="leases.view_groundlease",
        ),
    )


def all_layers(on: dt.date | None = None) -> dict[str, Layer]:
    """Every declared layer by name, as of the trust's day `on` (`timezone.localdate()` if
    omitted, the day the registry reads everywhere). Built on demand: expressions read settings
    and the day."""
    return {layer.name: layer for layer in _layers(on or timezone.localdate())}


def get_layer(name: str, on: dt.date | None = None) -> Layer | None:
    return all_layers(on).get(name)


def layers_for(user) -> list[Layer]:
    """The layers `user` may see, public first."""
    return [layer for layer in all_layers().values() if layer.visible_to(user)]


def staff_layers_for(user) -> list[Layer]:
    """The staff layers `user` may see (none for a staff member without a role)."""
    return [layer for layer in layers_for(user) if not layer.is_public]
