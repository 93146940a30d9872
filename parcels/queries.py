"""Questions asked of parcels and holdings, as composable queryset methods and named queries.

Where the land is: every distance, adjacency and clustering question is asked of `geom_m`, the
outline in the trust's metric CRS (parcels.metric: EPSG:26995, NAD83 / Mississippi West metres,
for the demo) kept by the database, on GiST indexes
(one on every parcel, one partial on active vacant parcels only). Bounding boxes and polygons
given in EPSG:4326 are tested against `geom` and its own GiST index.

The queryset methods compose (`Parcel.objects.vacant().area_between(400, None).nearest(p)`);
adjacency and assemblages are whole-set questions (a join, a cluster), so they are raw SQL in
one function each, every value bound as a parameter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyproj
from django.contrib.gis.db import models
from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.contrib.gis.measure import D
from django.db import connection, transaction
from django.db.models import Case, Exists, F, Func, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from clt.places import metric_domain
from parcels.folding import Folded, fold
from parcels.metric import metric_srid

METRIC_SRID = metric_srid()  # the trust's metric CRS (parcels.metric; parcels.models.METRIC_SRID)
SQM_PER_ACRE = 4046.8564224

# Owner of record -> who owns it. Public owners as Hinds County writes them; everything else
# (people, heirs, LLCs, churches) is private.
OWNER_PATTERNS = {
    "city": r"^(CITY|TOWN|VILLAGE) OF\M",
    "state": r"^STATE OF\M",
    "county": r"\mCOUNTY\M",
    "federal": r"^(UNITED STATES|USA\M|U\.? ?S\.? (OF AMERICA|GOVERNMENT))",
}
OWNER_KINDS = (*OWNER_PATTERNS, "private")

# The score the finder sorts by ("order=score"), a documented rule of thumb for acquisition:
#   + 3    the lot adjoins land the trust holds (within SCORE_ADJOINING_M): Mississippi sells
#          tax-forfeited land by application with priority to adjoining owners
#   + 2    tax-forfeited (the State holds it and sells it), + 1 tax-delinquent (it may be)
#   + 1    publicly owned (city, state, county): Jackson conveys forfeited parcels to housing
#          nonprofits at no cost
#   + 0..2 size: area / 1,000 m², capped at 2 (room for a house and garden, or a farm plot)
# "Touching" allows for the slivers and gaps of real parcel layers (centimetres to half a metre
# where two polygons meant to share an edge were drawn apart), and no more: lots that are not
# neighbours lie farther apart than that (the demo's at least 1.5 m: at 2 m, 165-131-002 and
# 165-131-009, 1.68 m apart, joined two groups into one 7-lot "assemblage"). The default of
# adjacency and assemblages (parcels.finder), and the score's "adjoins trust land".
TOUCHING_M = 0.5
SCORE_ADJOINING_M = TOUCHING_M

# Where a lot stands in the acquisition pipeline (parcels.models.AcquisitionEvent), by its latest
# step: new (no step recorded: never pursued), open (being pursued), dropped, or acquired (the
# last step says so, yet the trust does not hold it: sold on, or its holding never recorded).
PIPELINE_STATES = {
    "new": (),
    "open": ("prospect", "under_review", "offer", "under_contract"),
    "dropped": ("dropped",),
    "acquired": ("acquired",),
}


@contextlib.contextmanager
def without_jit(*, index_lookups: bool = False) -> Iterator[None]:
    """Run the block in a transaction with PostgreSQL's JIT off.

    PostGIS declares its functions expensive, so the planner's cost estimate for a small
    spatial query passes `jit_above_cost` and it spends ~0.5 s compiling a query that then runs
    in milliseconds (measured: assemblages in a 1 km² window, 660 ms with JIT, 25 ms without).

    With `index_lookups`, hash joins are off too: PostGIS cannot estimate a spatial match
    against an outer row (ST_DWithin(t.geom_m, outer.geom_m, 2)), so for the per-lot "adjoins
    trust land" test the planner would hash every holding each time
    (0.85 ms a lot) instead of probing the index for the few parcels around it and matching them
    by key (0.06 ms). That test stays per lot for the score (`with_score`); the filter on lots
    near trust land is asked from the trust land (`near_trust_land_sql`).
    """
    settings = "SET LOCAL jit = off" + (
        "; SET LOCAL enable_hashjoin = off" if index_lookups else ""
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(settings)
        yield


@functools.cache
def _to_metric(srid: int) -> CoordTransform:
    # Built once per process: GDAL takes ~12 ms to set up a transformation, 0.05 ms to apply it.
    return CoordTransform(SpatialReference(srid), SpatialReference(METRIC_SRID))


class OutsideMetricDomain(ValueError):
    """A point lies where the metric CRS is not defined, so no distance to it can be measured."""


def point_m(point: Point) -> Point:
    """`point` (any SRID, EPSG:4326 if unset) in the metric CRS.

    Raises OutsideMetricDomain for a point in EPSG:4326 outside METRIC_DOMAIN: PROJ would
    otherwise fail mid-query ("point outside of projection domain"), or, worse, answer."""
    p = point.clone()
    if p.srid is None:
        p.srid = 4326
    if p.srid == 4326 and not in_metric_domain(p.x, p.y):
        raise OutsideMetricDomain(
            f"{p.x:g},{p.y:g} is outside the area the trust's metric CRS covers "
            f"({metric_domain_text()})"
        )
    if p.srid != METRIC_SRID:
        p.transform(_to_metric(p.srid))
    return p


def trust_land_near(metres: float, on: dt.date | None = None):
    """Memberships held on `on` (`held_memberships`) whose parcel lies within `metres` of the
    outer query's parcel (for Exists): found on the metric index first, then matched to
    memberships and their holdings by key."""
    return held_memberships(on).filter(parcel__geom_m__dwithin=(OuterRef("geom_m"), D(m=metres)))


# An overlay's name as staff type it: folded as their searches fold (parcels.folding: case,
# accents, apostrophes), every run of whitespace one space, none at the ends. So "O'Neal Park"
# finds an imported "O’Neal Park", "bethel" finds "Béthel", and "Belhaven" a "Belhaven  " an
# exported attribute table padded. The spaces are listed rather than `\s`, so that Python and
# PostgreSQL agree on them: ASCII's, and those Unicode's NFKD (in the fold) does not already
# make a plain space, as it does U+00A0 and the fixed-width spaces. Dashes are one dash, with
# no space around it: a name copied from a word processor has an en dash ("Belhaven–Fondren")
# where staff type a hyphen, with or without spaces ("Belhaven - Fondren").
NAME_SPACES = "[\t\n\v\f\r \u0085\u1680\u2028\u2029]+"
NAME_DASHES = " ?[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d] ?"


def overlay_name_key(name: str) -> str:
    """`name` as overlay names are compared: "  o’neal   Park " is "ONEAL PARK", and
    "Belhaven – Fondren" is "BELHAVEN-FONDREN"."""
    spaced = re.sub(NAME_SPACES, " ", fold(name))
    return re.sub(NAME_DASHES, "-", spaced).strip(" ")


def overlay_name_key_sql() -> Func:
    """The database's `overlay_name_key` of an overlay's name, for a filter or an annotation."""
    spaced = Func(Folded(F("name")), Value(NAME_SPACES), Value(" "), Value("g"),
                  function="regexp_replace")  # fmt: skip
    dashed = Func(spaced, Value(NAME_DASHES), Value("-"), Value("g"), function="regexp_replace")
    return Func(dashed, Value(" "), function="BTRIM")


def overlays_named(kind: str, name: str) -> models.QuerySet:
    """The overlays of `kind` called `name` as staff type it (`overlay_name_key`); none for a
    name that folds to nothing ("'"), which would otherwise find the unnamed."""
    from parcels.models import Overlay

    key = overlay_name_key(name)
    if not key:
        return Overlay.objects.none()
    return Overlay.objects.alias(name_key=overlay_name_key_sql()).filter(kind=kind, name_key=key)


class ParcelQuerySet(models.QuerySet):
    def active(self) -> ParcelQuerySet:
        """Parcels still in the county's current file (not retired)."""
        return self.filter(retired_at__isnull=True)

    def active_or_held(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Active parcels, and those the trust holds on `on` (today if omitted) though a county
        re-import retired them: every parcel a map layer can show, as the trust's layers keep
        the land it holds (`held_memberships`, the registry's dated rule).

        The held parcels as `pk IN (...)`, a set PostgreSQL builds once (hundreds of parcels)
        and probes by hash, not an EXISTS per row: ORed with `retired_at IS NULL`, that was
        costed as run on every row a search's index finds, which made a search for "St" look
        expensive enough to JIT-compile (500 ms at 200,000 parcels, for a 20 ms search)."""
        held = held_memberships(on).values("parcel_id")
        return self.filter(Q(retired_at__isnull=True) | Q(pk__in=held))

    def vacant(self) -> ParcelQuerySet:
        """Active parcels with no structure or use on them, by the recorded vacancy status."""
        return self.active().filter(vacancy_status="vacant")

    def held_by_trust(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Parcels the trust holds on `on` (today if omitted), each once: `held_memberships`,
        so a parcel whose holding has ended, or is acquired later, is not held then."""
        return self.filter(pk__in=held_memberships(on).values("parcel_id"))

    def not_held_by_trust(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Parcels the trust does not hold on `on` (today if omitted), by `held_memberships`."""
        return self.exclude(Exists(held_memberships(on).filter(parcel=OuterRef("pk"))))

    def under_easement(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Parcels a conservation easement in force on `on` (today if omitted) covers: land
        kept from development, whoever owns it (`easements_covering`)."""
        return self.filter(Exists(easements_covering(on)))

    def burdened_by(self, easement) -> ParcelQuerySet:
        """Active parcels the protected area of `easement` covers (`covering`), largest
        share first: the parcels its deed burdens, as the county's layer draws them."""
        from parcels.models import ConservationEasement

        protected = ConservationEasement.objects.filter(pk=easement.pk).values("geom_m")
        area = Subquery(protected, output_field=models.GeometryField(srid=METRIC_SRID))
        return (
            self.active()
            .alias(protected=area)
            .covered_by(F("protected"))
            .annotate(covered_m2=_shared_m2(F("geom_m"), _made_valid(F("protected"))))
            .order_by("-covered_m2", "apn")
        )

    def covered_by(self, protected_m) -> ParcelQuerySet:
        """Parcels a protected area covers (`protected_m`: an expression of its metric
        outline): `ConservationEasementQuerySet.covering`'s rule asked from the parcels' side,
        boxes first on their index, then the area shrunk by TOUCHING_M (see MADE_VALID)."""
        covered = self.filter(geom_m__bboverlaps=protected_m)
        return covered.alias(core=_core(protected_m)).filter(geom_m__intersects=F("core"))

    # --- what the land is ----------------------------------------------------------------

    def area_between(self, min_m2: float | None, max_m2: float | None) -> ParcelQuerySet:
        """Parcels whose area (m², on the spheroid) lies in [min_m2, max_m2]; None = open."""
        qs = self
        if min_m2 is not None:
            qs = qs.filter(area_m2__gte=min_m2)
        if max_m2 is not None:
            qs = qs.filter(area_m2__lte=max_m2)
        return qs

    def land_use_in(self, codes: tuple[str, ...]) -> ParcelQuerySet:
        """Parcels with one of the county land-use codes (case as the county writes them)."""
        return self.filter(land_use__in=codes) if codes else self

    def zoning_in(self, codes: tuple[str, ...]) -> ParcelQuerySet:
        """Parcels in one of the zoning districts."""
        return self.filter(zoning__in=codes) if codes else self

    def tax_status_in(self, statuses: tuple[str, ...]) -> ParcelQuerySet:
        """Parcels whose taxes are current, delinquent or forfeited, as asked."""
        return self.filter(tax_status__in=statuses) if statuses else self

    def owned_by(self, kinds: tuple[str, ...]) -> ParcelQuerySet:
        """Parcels whose owner of record is of one of `kinds` (city, state, county, federal,
        private), read from the owner's name (OWNER_PATTERNS)."""
        if not kinds:
            return self
        wanted = Q()
        for kind in kinds:
            if kind == "private":
                public = Q()
                for pattern in OWNER_PATTERNS.values():
                    public |= Q(owner_of_record__iregex=pattern)
                wanted |= ~public
            else:
                wanted |= Q(owner_of_record__iregex=OWNER_PATTERNS[kind])
        return self.filter(wanted)

    # --- where the trust stands with it --------------------------------------------------

    def pipeline_in(self, states: tuple[str, ...]) -> ParcelQuerySet:
        """Parcels whose place in the acquisition pipeline is one of `states` (new, open,
        dropped, acquired: PIPELINE_STATES), by their latest step (`latest_steps`).

        Asked as EXISTS of the parcel's latest step at those stages (or, with "new", NOT
        EXISTS of one at any other), which PostgreSQL plans as a join it can estimate from the
        steps' statistics. As "(latest stage of each lot) = ..." it guessed that 1 lot in 200
        passes, and gathered and sorted every lot instead of reading the nearest: the nearest
        100 new lots took 147 ms instead of 19 (100,000 parcels)."""
        if not states:
            return self
        from parcels.models import AcquisitionEvent

        stages = [stage for state in states for stage in PIPELINE_STATES[state]]
        if "new" not in states:
            return self.filter(Exists(latest_steps().filter(parcel=OuterRef("pk"),
                                                            stage__in=stages)))  # fmt: skip
        if not stages:  # never in the pipeline: no step at all
            return self.exclude(Exists(AcquisitionEvent.objects.filter(parcel=OuterRef("pk"))))
        elsewhere = latest_steps().filter(parcel=OuterRef("pk")).exclude(stage__in=stages)
        return self.exclude(Exists(elsewhere))

    # --- where the land is ---------------------------------------------------------------

    def in_bbox(self, bbox: tuple[float, float, float, float]) -> ParcelQuerySet:
        """Parcels meeting the box (min lon, min lat, max lon, max lat, EPSG:4326)."""
        box = Polygon.from_bbox(bbox)
        box.srid = 4326
        return self.filter(geom__intersects=box)

    def inside(self, polygon: GEOSGeometry) -> ParcelQuerySet:
        """Parcels meeting `polygon` (EPSG:4326 unless it says otherwise)."""
        if polygon.srid is None:
            polygon.srid = 4326
        return self.filter(geom__intersects=polygon)

    def in_overlay(self, kind: str, name: str) -> ParcelQuerySet:
        """Parcels in the overlay polygon(s) of `kind` called `name` (a neighbourhood), as staff
        type it (`overlays_named`): overlapping one by more than TOUCHING_M (`Overlay.core_m`),
        not sharing an edge; in any one of the polygons of that name (a neighbourhood in
        pieces)."""
        # Folded names are compared on the overlays' side alone (a few rows); the parcels' side
        # stays `core_m && geom_m`, on the index of the parcels' outlines.
        overlays = overlays_named(kind, name).filter(core_m__intersects=OuterRef("geom_m"))
        return self.filter(Exists(overlays))

    def outside_overlays(self, kind: str) -> ParcelQuerySet:
        """Parcels in no overlay of `kind` (`in_overlay`'s rule): a lot beside a flood zone,
        or lapping into it by less than TOUCHING_M (digitising), is outside it."""
        from parcels.models import Overlay

        overlays = Overlay.objects.filter(kind=kind, core_m__intersects=OuterRef("geom_m"))
        return self.exclude(Exists(overlays))

    def within_m(self, point: Point, metres: float) -> ParcelQuerySet:
        """Parcels within `metres` of `point`, measured in the trust's metric CRS (`geom_m`,
        on its index)."""
        return self.filter(geom_m__dwithin=(point_m(point), D(m=metres)))

    def near_holdings(self, metres: float, on: dt.date | None = None) -> ParcelQuerySet:
        """Active vacant lots within `metres` of a parcel the trust holds on `on` (touching at
        0), not held: found from the trust land (`near_trust_land_sql`)."""
        near = near_trust_land_sql(metres, on, vacant_only=True)
        return self.filter(pk__in=near).not_held_by_trust(on)

    # --- in what order -------------------------------------------------------------------

    def nearest(self, point: Point) -> ParcelQuerySet:
        """Nearest first, with `distance_m`: a KNN scan (`<->`) of the metric GiST index, which
        reads the nearest lots and stops, instead of measuring every candidate."""
        p = point_m(point)
        distance = RawSQL(
            '"parcels_parcel"."geom_m" <-> ST_GeomFromEWKB(%s)', [bytes(p.ewkb)],
            output_field=models.FloatField(),
        )  # fmt: skip
        # Distance alone: a tie-breaker would stop PostgreSQL ordering by the index.
        return self.annotate(distance_m=distance).order_by("distance_m")

    def by_area(self) -> ParcelQuerySet:
        """Largest first."""
        return self.order_by(F("area_m2").desc(), "id")

    def with_score(
        self, on: dt.date | None = None, *, every_lot: bool = False
    ) -> ParcelQuerySet:
        """Annotate `score`, the acquisition rule of thumb documented at SCORE_ADJOINING_M.

        `every_lot`: the score will be computed for every lot of the query (ordered by it), so
        "adjoins trust land" is asked from the trust land, once (`near_trust_land_sql`), not
        by a probe per lot."""
        # A probe per lot (0.02-0.06 ms) suits a page of the nearest 100 lots, which scores 100
        # lots, while the set costs a probe per held parcel, whatever the page: on 200,000
        # parcels with 1,033 held the finder's nearest 100 took 33-38 ms with the set, 10 ms
        # with the probes. A whole city ordered by score is the other way round: on 150,000
        # parcels (29,856 vacant, 900 held) 586 ms with the probes, 37 ms with the set.
        if every_lot:
            adjoining = Q(pk__in=near_trust_land_sql(SCORE_ADJOINING_M, on, vacant_only=True))
        else:
            adjoining = Exists(trust_land_near(SCORE_ADJOINING_M, on))
        public = Q()
        for kind in ("city", "state", "county"):
            public |= Q(owner_of_record__iregex=OWNER_PATTERNS[kind])
        score = (
            Case(When(adjoining, then=Value(3.0)), default=Value(0.0))
            + Case(
                When(tax_status="forfeited", then=Value(2.0)),
                When(tax_status="delinquent", then=Value(1.0)),
                default=Value(0.0),
            )
            + Case(When(public, then=Value(1.0)), default=Value(0.0))
            + Least(F("area_m2") / Value(1000.0), Value(2.0))
        )
        return self.annotate(score=models.ExpressionWrapper(score, models.FloatField()))

    def by_score(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Highest score first (see `with_score`)."""
        return self.with_score(on, every_lot=True).order_by(F("score").desc(), "id")


def _dated(on: dt.date, starts: str, ends: str) -> Q:
    """The registry's one dated rule, on the fields `starts` and `ends`: begun by `on`, and not
    ended by then (no end, or one after it). A holding (acquired_on, ended_on) and a parcel's
    membership of it (began_on, ended_on) are both current by it."""
    return Q(**{f"{starts}__lte": on}) & (Q(**{f"{ends}__isnull": True}) | Q(**{f"{ends}__gt": on}))


def held_memberships(on: dt.date | None = None):
    """Which parcels the trust holds on `on` (today if omitted), and in which holding: the
    memberships in force then, of holdings the trust has then (`HoldingQuerySet.current`), so
    a membership left open on a holding that has ended does not count as held.

    The one rule every "held by the trust" asks: the map layers, the search, the finder's lots,
    adjacency and assemblages (`HELD_SQL` is compiled from it). Neither date alone will do:
    `holding_end` and the admin now keep a membership inside its holding's dates, but data
    written before they did, or imported, may hold one running past its holding's end or
    beginning before its acquisition (no constraint can compare two tables' dates).

    `HoldingQuerySet.current`'s rule is written here as a join: as `holding IN (current
    holdings)` it made the map's trust-land tiles 8-14% slower at z8-z16, one membership per
    parcel drawn (bench/layer_sql_ab.py)."""
    from parcels.models import HoldingParcel

    on = on or timezone.localdate()
    return HoldingParcel.objects.filter(
        _dated(on, "began_on", "ended_on"), _dated(on, "holding__acquired_on", "holding__ended_on")
    )


def latest_stage(field: str = "stage", parcel: str = "pk") -> Subquery:
    """`field` of the latest acquisition step of the parcel whose id is the outer query's
    `parcel` field (None: it was never in the pipeline): the last by date, then by id for two
    steps on one day. One backward step of the index `acquisition_latest_stage` per parcel
    (LATEST_STAGE_SQL is the same for raw queries)."""
    from parcels.models import LATEST_STEP_FIRST, AcquisitionEvent

    steps = AcquisitionEvent.objects.filter(parcel=OuterRef(parcel)).order_by(*LATEST_STEP_FIRST)
    return Subquery(steps.values(field)[:1])


def latest_steps():
    """Each parcel's latest acquisition step (`latest_stage`), as AcquisitionEvent rows."""
    from parcels.models import AcquisitionEvent

    return AcquisitionEvent.objects.filter(id=latest_stage("id", "parcel_id"))


# `latest_stage` for raw queries (in LATEST_STEP_FIRST's order), as a LEFT JOIN LATERAL on the
# parcel id column {parcel_id}: the step's stage, date (ISO text, as JSON carries it) and reason
# (None when blank).
LATEST_STAGE_SQL = """
    SELECT e.stage AS pipeline_stage, to_char(e."on", 'YYYY-MM-DD') AS pipeline_on,
           NULLIF(e.reason, '') AS pipeline_reason
    FROM parcels_acquisitionevent e
    WHERE e.parcel_id = {parcel_id}
    ORDER BY e."on" DESC, e.id DESC
    LIMIT 1
"""


class HoldingQuerySet(models.QuerySet):
    def current(self, on: dt.date | None = None) -> HoldingQuerySet:
        """Holdings the trust had on `on` (today if omitted): acquired by then, not yet ended."""
        return self.filter(_dated(on or timezone.localdate(), "acquired_on", "ended_on"))

    def holding_land(self, on: dt.date | None = None) -> HoldingQuerySet:
        """`current` holdings with a parcel in them on `on` (`held_memberships`): the holdings
        the trust counts. One whose parcels have all left it, or with none recorded yet, holds
        no land: counted, it made the public page's "N holdings" and the report's one too
        many (the admin now refuses to leave a holding empty; older records may be)."""
        on = on or timezone.localdate()
        held = held_memberships(on).filter(holding=OuterRef("pk"))
        return self.current(on).filter(Exists(held))


def land_use_codes() -> list[str]:
    """The county land-use codes the registry's parcels carry, in order.

    A skip scan of the land_use index: each step asks for the next code after the last one,
    so a county with 40 codes costs 40 index probes, not a read of its million parcels.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE code AS (
                   (SELECT land_use FROM parcels_parcel ORDER BY land_use LIMIT 1)
                   UNION ALL
                   SELECT (SELECT p.land_use FROM parcels_parcel p WHERE p.land_use > code.land_use
                           ORDER BY p.land_use LIMIT 1)
                   FROM code WHERE code.land_use IS NOT NULL
               )
               SELECT land_use FROM code WHERE land_use IS NOT NULL"""
        )
        return [row[0] for row in cursor.fetchall()]


# --- whole-set questions: adjacency and assemblages (raw SQL, parameters bound) -------------


@dataclass(frozen=True)
class Window:
    """Where to look: a box in EPSG:4326 (min lon, min lat, max lon, max lat), or everywhere."""

    bbox: tuple[float, float, float, float] | None = None

    def sql(self, column: str, margin_m: float = 0.0) -> tuple[str, list]:
        """A condition on `column` (metric) for the box, widened by `margin_m`; and its params."""
        if self.bbox is None:
            return "TRUE", []
        envelope, params = self.metric_envelope_sql()
        if envelope is None:  # nowhere the metric CRS reaches, so no parcel of this registry
            return "FALSE", []
        return f"{column} && ST_Expand({envelope}, %s)", [*params, margin_m]

    def metric_envelope_sql(self) -> tuple[str | None, list]:
        """The box (cut to METRIC_DOMAIN) in the metric CRS, as SQL and its params; None when
        it lies outside METRIC_DOMAIN.

        Densified before it is reprojected: in a Transverse Mercator CRS a parallel is a curve,
        so the four corners alone made a box whose straight edges cut inside the true ones
        (by ~6 m at the south edge of a box 0.3° wide across the central meridian), and lots
        just inside it were missed. A constant the planner folds: the GiST index is still used.
        """
        box = clip_to_metric_domain(self.bbox) if self.bbox else None
        if box is None:
            return None, []
        step_deg = max(box[2] - box[0], box[3] - box[1], 1e-6) / 32
        envelope = (
            f"ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s), {METRIC_SRID})"
        )
        return envelope, [*box, step_deg]


METRIC_DOMAIN = metric_domain(METRIC_SRID)


def in_metric_domain(lon: float, lat: float) -> bool:
    """Whether the point (EPSG:4326) lies in METRIC_DOMAIN."""
    west, south, east, north = METRIC_DOMAIN
    return west <= lon <= east and south <= lat <= north


def metric_domain_text() -> str:
    """METRIC_DOMAIN in words, for messages refusing a point outside it."""
    west, south, east, north = METRIC_DOMAIN
    return (
        f"EPSG:{METRIC_SRID}, {pyproj.CRS.from_epsg(METRIC_SRID).name}: "
        f"longitude {west:g} to {east:g}, "
        f"latitude {south:g} to {north:g}"
    )


def clip_to_metric_domain(
    bbox: tuple[float, float, float, float],
) -> tuple[float, float, float, float] | None:
    """`bbox` cut to METRIC_DOMAIN (None when they do not meet). A box over another continent
    would otherwise make ST_Transform fail ("point outside of projection domain")."""
    west, south, east, north = METRIC_DOMAIN
    box = (max(bbox[0], west), max(bbox[1], south), min(bbox[2], east), min(bbox[3], north))
    return box if box[0] <= box[2] and box[1] <= box[3] else None


# Trust land in a window, with outlines: {memberships} is `held_memberships` compiled
# (`_memberships_held_sql`), never the dated rule written again here.
HELD_SQL = """
    SELECT held_now.holding_id, held_now.holding_name, p.id AS parcel_id, p.apn, p.geom_m
    FROM ({memberships}) held_now
    JOIN parcels_parcel p ON p.id = held_now.parcel_id
    WHERE p.geom_m IS NOT NULL AND {held_window}
"""


def _memberships_held_sql(on: dt.date) -> tuple[str, list]:
    """`held_memberships(on)` as SQL for a raw query, and its parameters: one row a membership
    held on `on` (holding_id, holding_name, parcel_id).

    Compiled from the queryset, so adjacency and assemblages count as trust land what the map
    layers and the finder's lots do, by the same `_dated` conditions on both the membership and
    the holding. PostgreSQL pulls the subquery up into the query around it: the plan is the
    join it replaces (memberships by parcel, holdings by key), with the holding's dates added."""
    rows = (
        held_memberships(on)
        .order_by()
        .values("holding_id", "parcel_id", holding_name=F("holding__name"))
    )
    sql, params = rows.query.sql_with_params()
    return sql, list(params)


# Parcels near trust land, found from the trust land: one probe of a metric index per held
# parcel. {memberships} is `held_memberships` compiled (`_memberships_held_sql`); {vacant} keeps
# active vacant lots alone, which puts the probes on the partial vacant index (a fifth of the
# parcels, so a fifth of the rows a wide radius reads).
NEAR_HELD_SQL = """
    SELECT near.id
    FROM ({memberships}) held_now
    JOIN parcels_parcel t ON t.id = held_now.parcel_id
    JOIN parcels_parcel near ON ST_DWithin(near.geom_m, t.geom_m, %s)
    {vacant}
"""
VACANT = "WHERE near.vacancy_status = 'vacant' AND near.retired_at IS NULL"


def near_trust_land_sql(
    metres: float, on: dt.date | None = None, *, vacant_only: bool = False
) -> RawSQL:
    """The ids of parcels (active vacant lots, with `vacant_only`) within `metres` of a parcel
    the trust holds on `on` (today if omitted), as a subquery for `pk__in`; a parcel near
    several held parcels comes once for each.

    Found from the held parcels (hundreds), each looking up the parcels around it on the metric
    index: the cost is (held parcels) x (parcels within `metres` of one). Asked the other way
    round, an EXISTS per lot over the parcels around it, then their memberships, it was
    (lots) x (parcels within `metres` of one, until a held one turns up): on 100,000 parcels
    with 33 held, the finder's `near_holdings_m=1000` took 117 s, and 0.4 s this way
    (BENCHMARKS.md, "Lots near trust land")."""
    memberships, params = _memberships_held_sql(on or timezone.localdate())
    sql = NEAR_HELD_SQL.format(memberships=memberships, vacant=VACANT if vacant_only else "")
    return RawSQL(sql, [*params, metres])


def _held_sql(on: dt.date, window: Window, margin_m: float = 0.0) -> tuple[str, list]:
    """HELD_SQL for `on` in `window` (widened by `margin_m`), and its parameters, in order."""
    memberships, params = _memberships_held_sql(on)
    held_window, window_params = window.sql("p.geom_m", margin_m)
    sql = HELD_SQL.format(memberships=memberships, held_window=held_window)
    return sql, [*params, *window_params]


def under_easement_sql(lot_geom_m: str, on: dt.date | None = None) -> tuple[str, list]:
    """SQL (and its parameters) answering whether a conservation easement in force on `on`
    (today if omitted) covers the lot whose metric outline is the column `lot_geom_m`: the
    finder's `under_easement`, in its list of lots, beside trust land and in assemblages.

    `easements_covering`'s rule as the filter asks it (`in_force`, then `covering`), compiled
    from the same queryset methods, never written again here. Asked of the lots answered (a
    page, the lots found touching, the groups' members), not of every candidate."""
    from parcels.models import ConservationEasement

    lot = RawSQL(lot_geom_m, (), output_field=models.GeometryField(srid=METRIC_SRID))
    covering = ConservationEasement.objects.in_force(on).covering(lot).order_by().values("pk")
    sql, params = covering.query.sql_with_params()
    return f"EXISTS ({sql})", list(params)


def touching_holdings(
    tolerance_m: float,
    *,
    window: Window = Window(),
    candidate_ids: list[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
    on: dt.date | None = None,
) -> list[dict]:
    """Vacant lots within `tolerance_m` of trust land (0 = sharing an edge or a corner), with
    the holdings each touches (`holdings`, names in order, and `holding_ids`, theirs, in the same
    order), the gap in metres and the lot's latest step in the acquisition pipeline
    (`pipeline_stage`, `pipeline_on`, `pipeline_reason`; None when it never was in it), and
    whether a conservation easement in force on `on` covers it (`under_easement`); lots the
    trust already holds excluded.

    The tolerance is needed on real layers: neighbouring county polygons leave slivers and gaps
    of a few centimetres to half a metre (TOUCHING_M). `candidate_ids` restricts the lots (the
    finder's filters). Ordered by gap, then APN (then id: two counties may share an APN), so
    `limit` and `offset` cut the same list each time: a page (`limit` None: every lot).
    """
    on = on or timezone.localdate()
    where, params = window.sql("v.geom_m")
    held_sql, held_params = _held_sql(on, window, tolerance_m)
    candidates = "AND v.id = ANY(%s)" if candidate_ids is not None else ""
    # The page is cut before anything is written out: the outline as GeoJSON, the holdings, the
    # stage and the easements are read for the page's lots alone (by key, and on the easements'
    # metric index). Written for every lot found, a county at 100 m was 86,047 outlines (53 MB).
    under_easement, easement_params = under_easement_sql("t.geom_m", on)
    sql = f"""
        WITH held AS ({held_sql}),
        touching AS (
            SELECT v.id, v.apn, v.address, v.owner_of_record, v.land_use, v.zoning,
                   v.tax_status, v.area_m2, v.geom_m, v.geom,
                   array_agg(DISTINCT held.holding_id) AS held_by,
                   array_agg(DISTINCT held.apn ORDER BY held.apn) AS touches_apns,
                   round(min(ST_Distance(v.geom_m, held.geom_m))::numeric, 2)::float AS gap_m
            FROM held
            JOIN parcels_parcel v
              ON ST_DWithin(v.geom_m, held.geom_m, %s)
             AND v.vacancy_status = 'vacant' AND v.retired_at IS NULL
            WHERE {where} {candidates}
              AND NOT EXISTS (SELECT 1 FROM held h2 WHERE h2.parcel_id = v.id)
            GROUP BY v.id
            ORDER BY gap_m, v.apn, v.id
            LIMIT %s OFFSET %s
        )
        SELECT t.id, t.apn, t.address, t.owner_of_record, t.land_use, t.zoning, t.tax_status,
               t.area_m2, t.gap_m, holdings.names AS holdings, holdings.ids AS holding_ids,
               t.touches_apns, {under_easement} AS under_easement,
               stage.pipeline_stage, stage.pipeline_on, stage.pipeline_reason,
               ST_AsGeoJSON(ST_ForcePolygonCCW(t.geom), 6) AS geometry
        FROM touching t
        CROSS JOIN LATERAL (
            SELECT array_agg(h.name ORDER BY h.name, h.id) AS names,
                   array_agg(h.id ORDER BY h.name, h.id) AS ids
            FROM parcels_holding h WHERE h.id = ANY(t.held_by)
        ) holdings
        LEFT JOIN LATERAL ({LATEST_STAGE_SQL.format(parcel_id="t.id")}) stage ON TRUE
        ORDER BY t.gap_m, t.apn, t.id
    """
    all_params = [*held_params, tolerance_m, *params]
    if candidate_ids is not None:
        all_params.append(candidate_ids)
    return _dicts(sql, [*all_params, limit, offset, *easement_params])


def assemblages(
    tolerance_m: float,
    *,
    min_lots: int = 2,
    min_area_m2: float = 0.0,
    window: Window = Window(),
    candidate_ids: list[int] | None = None,
    touches_trust_land: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    on: dt.date | None = None,
) -> list[dict]:
    """Groups of vacant lots that touch one another (connected components at `tolerance_m`),
    largest combined area first (`limit` of them, after the first `offset`): member count, APNs
    and their parcel ids (`parcel_ids`, in the same order), combined area (m², acres), the
    merged outline (GeoJSON, always a MultiPolygon, so that a download has one geometry type;
    outer rings counter-clockwise as RFC 7946 §3.1.6 asks; ST_Union winds them clockwise),
    whether the group touches land the trust holds (and which holdings: `holdings` and
    `holding_ids`, in the same order), its lots in the acquisition pipeline (`pipeline`: each
    one's APN and latest step), and the APNs of its lots a conservation easement in force on
    `on` covers (`under_easement_apns`, in order; empty when none).

    ST_ClusterDBSCAN with minpoints 1 is exactly "connected components of the graph whose
    edges join lots closer than eps", computed in metres on the index. The outline closes
    gaps up to the tolerance (buffer out by half, union, buffer back). Lots the trust already
    holds are not candidates (they are the land a group may touch).

    The window picks the groups (those with a lot in it); each is measured whole, with every
    lot it reaches beyond the window, up to REACH_BEYOND_WINDOW_M (`_reach_sql`): clustered in
    the window alone, a group across its edge came back cut, smaller, beside no trust land, or
    under `min_lots`.
    `candidate_ids` (the finder's other filters) bounds the lots a group may take in.
    `touches_trust_land` (None: either) keeps the groups beside trust land, or those apart from
    it, before the page is cut (`_beside_trust_land_sql`), so every such group can be reached.
    """
    on = on or timezone.localdate()
    memberships, memberships_params = _memberships_held_sql(on)  # trust land beside the groups
    reach_sql, reach_params = _reach_sql(tolerance_m, window, candidate_ids, memberships,
                                         memberships_params)  # fmt: skip
    beside, beside_params = _beside_trust_land_sql(tolerance_m, window, on, touches_trust_land)
    wanted = "AND bool_or(beside) = %s" if touches_trust_land is not None else ""
    wanted_params = [touches_trust_land] if touches_trust_land is not None else []
    half = tolerance_m / 2
    under_easement, easement_params = under_easement_sql("m.geom_m", on)
    # Members are fetched back by primary key, and trust land near them found on the metric
    # index of all parcels, and easements over them on the easements' own, so the cost follows
    # the groups returned, not the lots clustered.
    sql = f"""
        WITH RECURSIVE {reach_sql},
        lots AS (
            SELECT v.id, v.apn, v.area_m2,
                   ST_ClusterDBSCAN(v.geom_m, eps := %s, minpoints := 1) OVER () AS cluster,
                   {beside} AS beside
            FROM parcels_parcel v WHERE v.id = ANY(ARRAY(SELECT id FROM reach))
        ),
        groups AS (
            SELECT cluster, count(*) AS lots, sum(area_m2) AS area_m2,
                   array_agg(apn ORDER BY apn) AS apns, array_agg(id ORDER BY apn) AS ids
            FROM lots GROUP BY cluster
            HAVING count(*) >= %s AND sum(area_m2) >= %s {wanted}
            ORDER BY sum(area_m2) DESC, min(apn)
            LIMIT %s OFFSET %s
        )
        SELECT g.cluster, g.lots, g.area_m2, g.apns, g.ids AS parcel_ids,
               ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Multi(ST_Transform(outline.geom, 4326))), 6)
                   AS geometry,
               touching.holdings, touching.holding_ids, pipeline.steps AS pipeline,
               easement.apns AS under_easement_apns
        FROM groups g
        CROSS JOIN LATERAL (
            SELECT CASE WHEN %s > 0
                        THEN ST_Buffer(ST_Union(ST_Buffer(m.geom_m, %s, 'join=mitre')), -%s,
                                       'join=mitre')
                        ELSE ST_Union(m.geom_m) END AS geom
            FROM parcels_parcel m WHERE m.id = ANY(g.ids)
        ) outline
        CROSS JOIN LATERAL (
            SELECT array_agg(near.name ORDER BY near.name, near.id) AS holdings,
                   array_agg(near.id ORDER BY near.name, near.id) AS holding_ids
            FROM (SELECT DISTINCT hp.holding_id AS id, hp.holding_name AS name
                  FROM parcels_parcel m
                  JOIN parcels_parcel t ON ST_DWithin(t.geom_m, m.geom_m, %s)
                  JOIN ({memberships}) hp ON hp.parcel_id = t.id
                  WHERE m.id = ANY(g.ids)) near
        ) touching
        CROSS JOIN LATERAL (
            SELECT coalesce(json_agg(json_build_object(
                       'apn', m.apn, 'stage', stage.pipeline_stage, 'on', stage.pipeline_on,
                       'reason', stage.pipeline_reason) ORDER BY m.apn), '[]'::json) AS steps
            FROM parcels_parcel m
            CROSS JOIN LATERAL ({LATEST_STAGE_SQL.format(parcel_id="m.id")}) stage
            WHERE m.id = ANY(g.ids)
        ) pipeline
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(m.apn ORDER BY m.apn), '{{}}') AS apns
            FROM parcels_parcel m
            WHERE m.id = ANY(g.ids) AND {under_easement}
        ) easement
        ORDER BY g.area_m2 DESC, g.apns[1]
    """
    all_params = [*reach_params, tolerance_m, *beside_params, min_lots, min_area_m2,
                  *wanted_params, limit, offset, tolerance_m, half, half, tolerance_m,
                  *memberships_params, *easement_params]  # fmt: skip
    rows = _dicts(sql, all_params)
    for row in rows:
        row["acres"] = row["area_m2"] / SQM_PER_ACRE
        row["touches_trust_land"] = bool(row["holdings"])
        row["holdings"] = row["holdings"] or []
        row["holding_ids"] = row["holding_ids"] or []
    return rows


def _beside_trust_land_sql(
    tolerance_m: float, window: Window, on: dt.date, touches: bool | None
) -> tuple[str, list]:
    """Whether the lot `v` lies within `tolerance_m` of trust land held on `on`, as SQL (and
    its params) for the lots a group is made of, when `touches` asks which groups are beside
    trust land (True) or apart from it (False); NULL, unasked. The rule of the groups'
    `holdings`: a lot within the tolerance of a held parcel. The lots near trust land are found
    once, from the held parcels within reach of the window (a probe of the vacant index each, as
    `near_trust_land_sql`), and each lot looked up among them by hash."""
    if touches is None:
        return "NULL::boolean", []
    held_sql, held_params = _held_sql(on, window, REACH_BEYOND_WINDOW_M + tolerance_m)
    sql = f"""v.id IN (
        SELECT near.id FROM ({held_sql}) held
        JOIN parcels_parcel near ON ST_DWithin(near.geom_m, held.geom_m, %s)
        {VACANT})"""
    return sql, [*held_params, tolerance_m]


# The lots of every group with a lot in the window: the window's lots, then, for as long as new
# ones turn up, the lots within the tolerance of those found last (ST_DWithin on the partial
# vacant index). UNION drops a lot found before, so the growth stops at the groups' edges.
# Only lots near the window's edge can reach a lot outside it, so only they, and the lots found
# outside, are looked around (`probe`); a lot is found outside once, a window's lot never again.
# OFFSET 0 keeps the growing step's "not held" a lookup by key for each lot it finds (a few):
# PostgreSQL guesses ten times the window's lots there, and would hash every membership of the
# registry each time instead (3 ms with 5,000 held parcels).
REACH_SQL = """
    reach (id, probe) AS (
        SELECT v.id, NOT ({inner})
        FROM parcels_parcel v
        WHERE v.vacancy_status = 'vacant' AND v.retired_at IS NULL AND {seed_window}
          {v_candidates} AND NOT EXISTS ({held} held_now.parcel_id = v.id)
        UNION
        SELECT n.id, TRUE
        FROM reach r
        JOIN parcels_parcel p ON p.id = r.id
        JOIN parcels_parcel n ON ST_DWithin(n.geom_m, p.geom_m, %s)
         AND n.vacancy_status = 'vacant' AND n.retired_at IS NULL
        WHERE r.probe AND NOT ({n_window}) AND {n_reach} {n_candidates}
          AND NOT EXISTS ({held} held_now.parcel_id = n.id OFFSET 0)
    )
"""
# How far beyond the window a group is followed. A group of touching lots is a block or two
# (the demo's largest is 300 m across); at the finder's widest tolerance (100 m) a dense city's
# vacant lots are one group, and following it whole took 10-18 s for a 1 km² window on 200,000
# parcels. So a group is measured up to a kilometre beyond the view, which bounds the cost and
# cuts only a group no one would call an assemblage.
REACH_BEYOND_WINDOW_M = 1000.0
# A lot whose box lies inside the window shrunk by the tolerance: nothing it touches is outside.
INSIDE_SQL = """ST_XMin(v.geom_m) > ST_XMin({envelope}) + %s
    AND ST_YMin(v.geom_m) > ST_YMin({envelope}) + %s
    AND ST_XMax(v.geom_m) < ST_XMax({envelope}) - %s
    AND ST_YMax(v.geom_m) < ST_YMax({envelope}) - %s"""


def _reach_sql(
    tolerance_m: float,
    window: Window,
    candidate_ids: list[int] | None,
    memberships: str,
    memberships_params: list,
) -> tuple[str, list]:
    """The CTE `reach` (REACH_SQL), the ids of the unheld vacant lots (among `candidate_ids`,
    when given) of every group with a lot in `window`; and its params. Without a window it is
    every such lot, none of them looked around."""
    envelope, box_params = window.metric_envelope_sql()
    if envelope is None:  # everywhere (nothing beyond to reach), or nowhere
        inner, inner_params = "TRUE", []
    else:
        inner = INSIDE_SQL.format(envelope=envelope)
        inner_params = [p for _ in range(4) for p in (*box_params, tolerance_m)]
    seed_window, seed_params = window.sql("v.geom_m")
    n_window, n_params = window.sql("n.geom_m")
    n_reach, reach_params = window.sql("n.geom_m", REACH_BEYOND_WINDOW_M)
    in_candidates = "AND {}.id = ANY(%s)" if candidate_ids is not None else ""
    sql = REACH_SQL.format(
        held=f"SELECT 1 FROM ({memberships}) held_now WHERE", inner=inner,
        seed_window=seed_window, n_window=n_window, n_reach=n_reach,
        v_candidates=in_candidates.format("v"), n_candidates=in_candidates.format("n"),
    )  # fmt: skip
    candidates = [candidate_ids] if candidate_ids is not None else []
    params = [*inner_params, *seed_params, *candidates, *memberships_params,
              tolerance_m, *n_params, *reach_params, *candidates,
              *memberships_params]  # fmt: skip
    return sql, params


def _dicts(sql: str, params: list) -> list[dict]:
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- conservation easements ----------------------------------------------------------------
#
# An easement burdens a parcel its protected area covers, not one it only touches: outlines from
# the deed and from the county's parcel layer never share edges exactly, so "intersects" would
# also name every neighbour along the boundary, through slivers. A parcel is covered when it
# meets the protected area shrunk by TOUCHING_M, the registry's allowance for digitising (see
# above): a neighbour overlapped by less than that is not burdened, a 10 m stream buffer across
# a 100-acre farm (0.3% of it) is. Distances in metres, on `geom_m`.

# Holders monitor every easement at least once a year (Land Trust Alliance Standards and
# Practices 11.C): a visit is due on the anniversary of the last one, or of the recording.
MONITORING_INTERVAL = "1 year"


def _shared_m2(first, second) -> models.Func:
    """The area in m² of the land two metric outlines share."""
    shared = models.Func(first, second, function="ST_Intersection",
                         output_field=models.GeometryField(srid=METRIC_SRID))  # fmt: skip
    return models.Func(shared, function="ST_Area", output_field=models.FloatField())


# An easement's outline is valid where it was drawn (EPSG:4326: a CHECK), yet its copy in metres
# may not be: a union of neighbouring lots keeps slivers a few nanometres wide, which the
# projection folds over (one in six of 300 unions of a synth county's lots). GEOS's predicates
# and overlays refuse such an outline (TopologyException: a 500 on the finder and the parcel
# page), so the easements' metric outline is asked only through a buffer (`_core`), which GEOS
# builds from it all the same, or made valid first (`_made_valid`). A parcel is one lot, not
# a union, and is read the usual way (the import repairs the county's invalid outlines).
MADE_VALID = "ST_MakeValid"


def _made_valid(outline) -> models.Func:
    return models.Func(outline, function=MADE_VALID,
                       output_field=models.GeometryField(srid=METRIC_SRID))  # fmt: skip


def _core(outline) -> models.Func:
    """A metric outline shrunk by TOUCHING_M: what a parcel must meet to be covered by it."""
    return models.Func(outline, Value(-TOUCHING_M), function="ST_Buffer",
                       output_field=models.GeometryField(srid=METRIC_SRID))  # fmt: skip


class ConservationEasementQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> ConservationEasementQuerySet:
        """Easements recorded by `on` (the trust's today if omitted) and not ended by then:
        the registry's dated rule, as holdings and memberships."""
        return self.filter(_dated(on or timezone.localdate(), "began_on", "ended_on"))

    def with_last_visit(self, on: dt.date | None = None) -> ConservationEasementQuerySet:
        """Each easement with `last_visit_on`, its latest monitoring visit by `on` (None:
        never visited), and `visit_due_on`, the day the next one is due by it."""
        from parcels.models import EasementMonitoringVisit

        on = on or timezone.localdate()
        visits = EasementMonitoringVisit.objects.filter(easement=OuterRef("pk"), on__lte=on)
        last = Subquery(visits.order_by("-on").values("on")[:1])
        since = Coalesce(F("last_visit_on"), F("began_on"))
        # date + interval '1 year' keeps the day of the month (29 February: 28 February).
        due = models.Func(
            since, template=f"(%(expressions)s + interval '{MONITORING_INTERVAL}')::date",
            output_field=models.DateField(),
        )  # fmt: skip
        return self.annotate(last_visit_on=last).annotate(visit_due_on=due)

    def monitoring_due(self, on: dt.date | None = None) -> ConservationEasementQuerySet:
        """Easements in force on `on` whose yearly visit is due by then: none in the year
        before it (counted from the recording for one never visited)."""
        on = on or timezone.localdate()
        return self.in_force(on).with_last_visit(on).filter(visit_due_on__lte=on)

    def covering(self, parcel_geom_m) -> ConservationEasementQuerySet:
        """Easements whose protected area covers the parcel with outline `parcel_geom_m` (an
        expression: OuterRef("geom_m") in a parcel query): those it overlaps by more than
        TOUCHING_M (see above)."""
        # Boxes first, on the GiST index; then only through `_core`, a buffer, which GEOS
        # builds from an invalid outline too: see MADE_VALID.
        covering = self.filter(geom_m__bboverlaps=parcel_geom_m)
        return covering.alias(core=_core(F("geom_m"))).filter(core__intersects=parcel_geom_m)


def merged_with_trust_land(parcels, on: dt.date | None = None) -> ConservationEasementQuerySet:
    """The easements the trust holds, in force on `on` (today if omitted), over any of
    `parcels` that it holds then: merged with its ownership of the land, they protect nothing
    (`ConservationEasement.clean` refuses one recorded so; this finds those the trust came to
    by buying land under them). `parcels`: a Parcel queryset (every parcel: all merged)."""
    from parcels.models import ConservationEasement

    over = parcels.held_by_trust(on).covered_by(OuterRef("geom_m"))
    trusts = ConservationEasement.objects.in_force(on).filter(holder__kind="trust")
    return trusts.filter(Exists(over))


def easements_covering(on: dt.date | None = None) -> ConservationEasementQuerySet:
    """The easements in force on `on` that cover the outer query's parcel (an Exists of it
    is "under a conservation easement")."""
    from parcels.models import ConservationEasement

    return ConservationEasement.objects.in_force(on).covering(OuterRef("geom_m"))
