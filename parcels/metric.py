"""The trust's metric CRS: where every distance, adjacency and clustering question is asked.

Parcels and overlays keep their outline in EPSG:4326 (`geom`) and, kept by the database, in a
projected CRS in metres (`geom_m`, on GiST indexes): the trust's own state-plane zone or UTM
zone, where lengths and areas are true to a few parts in 10,000 over a county. Mississippi West
(EPSG:26995) suits the demo in Jackson; a trust elsewhere sets `CLT_METRIC_SRID` (Durham, North
Carolina: EPSG:32119, NAD83 / North Carolina in metres), and its land is measured, searched and
accepted on import where that CRS is defined.

The migrations create `geom_m` in EPSG:26995, whatever the setting (a migration is the same
file for every trust). After every migrate, `align_metric_columns` rebuilds a column whose CRS
is not the setting's, so a trust sets one variable and runs `clt migrate`, not a migration of
its own; the fields deconstruct as their migration wrote them (`MetricOutlineField`), so
`makemigrations` sees nothing to do either.
"""

from __future__ import annotations

from collections.abc import Callable

import pyproj
from django.conf import settings
from django.contrib.gis.db import models
from django.core import checks
from django.db import connections, transaction
from django.db.models.expressions import RawSQL

from clt import places

# The CRS the migrations name: the demo's, and the setting's default.
MIGRATED_SRID = 26995


def metric_srid() -> int:
    """The EPSG code of the trust's metric CRS (`CLT_METRIC_SRID`)."""
    return int(getattr(settings, "CLT_METRIC_SRID", MIGRATED_SRID))


def outline_sql(srid: int, inset_m: float = 0) -> str:
    """The SQL of `geom` in EPSG:`srid`, shrunk by `inset_m` metres when given. A shrunk
    outline is a Polygon or, for an area no wider than twice the inset, empty: ST_Multi keeps
    the column's one type (MULTIPOLYGON EMPTY meets nothing)."""
    outline = f"ST_Transform(geom, {int(srid)})"
    if not inset_m:
        return outline
    return f"ST_Multi(ST_Buffer({outline}, {-float(inset_m)!r}))"


def _outline_expression(srid: int, inset_m: float = 0) -> RawSQL:
    return RawSQL(outline_sql(srid, inset_m), [])


class MetricOutlineField(models.GeneratedField):
    """`geom` in the trust's metric CRS, stored by PostgreSQL so bulk loads and raw SQL never
    leave it stale. Its SRID is the setting's; its deconstruction is the migration's
    (EPSG:26995), since `align_metric_columns`, not a migration, moves the column.

    `inset_m` stores the outline shrunk by that many metres instead: what another outline must
    meet to overlap this one by more than the digitising allowance (an overlay's `core_m`).
    A buffer is computed once, when the row is written, never per parcel asked about."""

    def __init__(
        self, *, null: bool = False, srid: int | None = None, inset_m: float = 0, **kwargs
    ) -> None:
        srid = metric_srid() if srid is None else srid
        self.inset_m = inset_m
        kwargs.setdefault("expression", _outline_expression(srid, inset_m))
        kwargs.setdefault("output_field", models.MultiPolygonField(srid=srid, null=null))
        kwargs.setdefault("db_persist", True)
        super().__init__(**kwargs)

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        null = kwargs["output_field"].null
        if "verbose_name" in kwargs:
            kwargs["verbose_name"] = f"outline in metres (EPSG:{MIGRATED_SRID})"
        # The expression as it stands, moved to the migration's CRS: a clone (built from this)
        # keeps its inset, which is not a GeneratedField's argument.
        here = f"ST_Transform(geom, {int(self.output_field.srid)})"
        migrated = f"ST_Transform(geom, {MIGRATED_SRID})"
        kwargs["expression"] = RawSQL(self.expression.sql.replace(here, migrated), [])
        kwargs["output_field"] = models.MultiPolygonField(srid=MIGRATED_SRID, null=null)
        return name, "django.db.models.GeneratedField", args, kwargs


def local_crs_example() -> tuple[int, str]:
    """A CRS to name in an example of the trust's own county files (an `--srid`, an EWKT): the
    demo county's state-plane feet, or elsewhere the trust's metric CRS (its county's own feet
    zone is the county's to name)."""
    srid = metric_srid()
    if srid == MIGRATED_SRID:
        return 2255, "NAD83 / Mississippi West in US feet"
    return srid, pyproj.CRS.from_epsg(srid).name


# --- checking the setting ---------------------------------------------------------------------


def metric_crs_problem(srid: int) -> str | None:
    """Why EPSG:`srid` cannot be the trust's metric CRS (None: it can): clt.places, with the
    UTM zone of the trust's map suggested."""
    return places.metric_crs_problem(srid, settings.MAP_DEFAULT_CENTER)


@checks.register()
def check_metric_crs(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`CLT_METRIC_SRID` names a projected CRS in metres, and the map's centre lies where it is
    used. The settings already refuse a wrong CRS set in the environment (clt/settings.py);
    this catches one set otherwise, and warns of the centre (run by `check`, the development
    server, and `clt migrate`, which says it)."""
    srid = metric_srid()
    problem = metric_crs_problem(srid)
    if problem:
        return [checks.Error(problem, id="clt.E010")]
    outside = places.centre_outside_problem(srid, settings.MAP_DEFAULT_CENTER)
    if outside:
        return [checks.Warning(outside, hint=places.CENTRE_FIX, id="clt.W011")]
    return []


# What to do about land on record outside the metric CRS (`land_outside_problem`).
LAND_FIX = (
    "If that land is another place's (the demo's West Jackson, loaded before the trust set its "
    "place), start the trust's registry from an empty database; if it is the trust's, set "
    "CLT_METRIC_SRID to its state-plane zone in metres or UTM zone, then clt migrate"
)

# Current parcels whose outline is not inside a box (west, south, east, north): a scan of the
# table's boxes (`@`, contained by), for `clt doctor` and after `clt migrate`, never per request.
OUTSIDE_SQL = """
SELECT count(*) FROM parcels_parcel
WHERE retired_at IS NULL AND geom IS NOT NULL
  AND NOT geom @ ST_MakeEnvelope(%s, %s, %s, %s, 4326)
"""


def land_outside_problem(srid: int, using: str = "default") -> str | None:
    """Why the land on record and the metric CRS disagree (None: they agree): current parcels
    outside where EPSG:`srid` is used (`places.metric_domain`) are measured with distortion,
    and the finder refuses a point on them. A registry that loaded the demo, then set a place
    of its own, had 385 such parcels and no word of it (what to do: LAND_FIX)."""
    with connections[using].cursor() as cursor:
        cursor.execute(OUTSIDE_SQL, list(places.metric_domain(srid)))
        (outside,) = cursor.fetchone()
    if not outside:
        return None
    name = pyproj.CRS.from_epsg(srid).name
    parcels = "1 current parcel lies" if outside == 1 else f"{outside:,} current parcels lie"
    return (f"{parcels} outside where CLT_METRIC_SRID's EPSG:{srid} ({name}) is used: measured "
            "in it they are distorted, and the finder refuses points on them")  # fmt: skip


# --- keeping the columns in the setting's CRS ---------------------------------------------------


def _metric_columns() -> list[tuple[str, str, bool, float]]:
    """(table, column, nullable, inset in metres) of every `MetricOutlineField`."""
    from django.apps import apps

    return [
        (model._meta.db_table, field.column, field.output_field.null, field.inset_m)
        for model in apps.get_models()
        for field in model._meta.local_fields
        if isinstance(field, MetricOutlineField)
    ]


def column_srid(cursor, table: str, column: str) -> int:
    """The SRID PostGIS declares for `table`.`column` (0 when it has none)."""
    cursor.execute(
        "SELECT srid FROM geometry_columns WHERE f_table_schema = current_schema() "
        "AND f_table_name = %s AND f_geometry_column = %s", [table, column]
    )  # fmt: skip
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _rebuild(
    cursor, table: str, column: str, nullable: bool, srid: int, inset_m: float = 0
) -> None:
    """Drop `column` and add it back generated in EPSG:`srid`, with the indexes it had (their
    definitions read back from the catalogue, so partial indexes keep their conditions)."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s AND indexdef ~ %s", [table, rf'\m{column}\M']
    )  # fmt: skip
    indexes = [row[0] for row in cursor.fetchall()]
    kind = f"geometry(MultiPolygon, {int(srid)})" + ("" if nullable else " NOT NULL")
    cursor.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    cursor.execute(
        f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind} '
        f"GENERATED ALWAYS AS ({outline_sql(srid, inset_m)}) STORED"
    )
    for definition in indexes:
        cursor.execute(definition)


def align_metric_columns(using: str = "default", log: Callable[[str], None] = print) -> list[str]:
    """Rebuild each metric column whose CRS is not `CLT_METRIC_SRID`'s (all in one transaction,
    so a failure leaves them as they were); what was moved, as the lines `log` was given."""
    srid = metric_srid()
    if metric_crs_problem(srid):
        return []  # the system check has said why; nothing is moved to a CRS that cannot serve
    moved = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for table, column, nullable, inset_m in _metric_columns():
            was = column_srid(cursor, table, column)
            if was in (0, srid):
                continue  # not migrated yet, or already there
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            rows = cursor.fetchone()[0]
            _rebuild(cursor, table, column, nullable, srid, inset_m)
            moved.append(f"{table}.{column}: EPSG:{was} -> EPSG:{srid} ({rows:,} rows)")
    for line in moved:
        log(f"  metric CRS (CLT_METRIC_SRID): {line}")
    return moved


def align_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: the metric columns follow the setting after every migrate. A move is said
    at any verbosity (`clt migrate` runs Django's at 0): it rewrites every parcel row."""
    align_metric_columns(using)
