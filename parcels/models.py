"""Parcels (LADM spatial units) and what the trust holds (LADM BA units: holdings).

A parcel is the county's record of a piece of land, keyed by jurisdiction + APN. A holding is
the trust's own record: one or more parcels it acquired together, how and when. Parcels are
never deleted: a parcel gone from the county file is marked retired, so history stays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GistIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import InternalError, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from clt.dates import check_registry_date, check_year_built, refuse_after_today
from clt.history import AnyChangeRestorable
from parcels.jurisdictions import Jurisdiction, JurisdictionField  # noqa: F401 (maps.search)
from parcels.metric import MetricOutlineField, metric_srid
from parcels.queries import (
    PIPELINE_STATES,
    TOUCHING_M,
    ConservationEasementQuerySet,
    HoldingQuerySet,
    ParcelQuerySet,
    in_metric_domain,
    metric_domain_text,
)


# Every change to these records, by any route (admin, import, bulk SQL), leaves an event row
# written by a database trigger, tagged with the user and action in `pghistory.context`.
def tracked() -> tuple:
    """Fresh trackers for one model (pghistory binds each tracker to the model it decorates)."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


# The trust's metric CRS (CLT_METRIC_SRID; the demo's is NAD83 / Mississippi West in metres,
# EPSG:26995): see parcels.metric.
METRIC_SRID = metric_srid()

NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


MONEY_DIGITS, MONEY_PLACES = 14, 2


def money(**kwargs) -> models.DecimalField:
    """A dollar amount: exact decimal, cents, never negative."""
    return models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, validators=NON_NEGATIVE, **kwargs
    )


def is_money(field) -> bool:
    """Whether `field` was made by `money` (a history page shows its values with a $)."""
    return isinstance(field, models.DecimalField) and (
        (field.max_digits, field.decimal_places) == (MONEY_DIGITS, MONEY_PLACES)
    )


class VacancyStatus(models.TextChoices):
    VACANT = "vacant", "Vacant"
    OCCUPIED = "occupied", "Occupied (has a structure or use)"
    UNKNOWN = "unknown", "Unknown"


class TaxStatus(models.TextChoices):
    CURRENT = "current", "Taxes current"
    DELINQUENT = "delinquent", "Tax delinquent"
    FORFEITED = "forfeited", "Forfeited to the State"


# geom_m and import_hash are derived (from geom; from the source row): history keeps their inputs.
@pghistory.track(
    pghistory.InsertEvent(),
    # Compares the outline as bytes, so `pg_restore` can recreate the trigger (clt.history).
    pghistory.UpdateEvent(condition=AnyChangeRestorable()),
    pghistory.DeleteEvent(),
    exclude=["area_m2", "updated_at", "geom_m", "import_hash"],
    # History is read by parcel, never by place: its outlines need no spatial index (one costs
    # 1.2 s in a county's first load, and a GiST insertion in every change after).
    attrs={"geom": models.MultiPolygonField(srid=4326, null=True, blank=True, spatial_index=False)},
)
class Parcel(models.Model):
    """A county parcel: where it is, what the assessor says of it, and whether it is vacant."""

    jurisdiction = JurisdictionField()  # one of CLT_JURISDICTIONS, its first by default
    apn = models.CharField("APN", max_length=64, help_text="County parcel number")
    # EPSG:4326 is canonical; NULL while a record is still being researched.
    geom = models.MultiPolygonField(srid=4326, null=True, blank=True)
    # Kept by the database itself, so bulk loads and raw SQL can never leave it stale.
    area_m2 = models.GeneratedField(
        expression=RawSQL("COALESCE(ST_Area(geom::geography), 0)", []),
        output_field=models.FloatField(),
        db_persist=True,
        verbose_name="area (m²)",
    )
    address = models.CharField(max_length=200, blank=True)
    owner_of_record = models.CharField(max_length=200, blank=True)
    land_use = models.CharField(max_length=32, blank=True, help_text="County land-use code")
    zoning = models.CharField(max_length=32, blank=True)
    assessed_land = money(null=True, blank=True)
    assessed_improvement = money(null=True, blank=True)

    vacancy_status = models.CharField(
        max_length=16, choices=VacancyStatus.choices, default=VacancyStatus.UNKNOWN
    )
    vacancy_source = models.CharField(max_length=100, blank=True, help_text="e.g. county land use")
    vacancy_as_of = models.DateField(validators=[check_registry_date], null=True, blank=True)
    vacancy_confidence = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True, help_text="0 to 1"
    )
    tax_status = models.CharField(
        max_length=16, choices=TaxStatus.choices, default=TaxStatus.CURRENT
    )

    source_srid = models.PositiveIntegerField(
        null=True, blank=True, help_text="EPSG code of the file this record came from"
    )
    source_file = models.CharField(max_length=300, blank=True)
    retired_at = models.DateTimeField(
        validators=[check_registry_date],
        null=True, blank=True, help_text="When the parcel disappeared from the county file"
    )
    # The outline in the trust's metric CRS (parcels.metric), kept by the database: every
    # distance, adjacency and clustering question is asked here, on a GiST index, so queries
    # compare metres without casting to geography or transforming per row.
    geom_m = MetricOutlineField(null=True, verbose_name=f"outline in metres (EPSG:{METRIC_SRID})")
    geom_note = models.CharField(
        max_length=300, blank=True, help_text="What the import did to the outline (repairs)"
    )
    # No database constraint: import runs are never deleted, and a county load writes this on
    # a million rows, where a per-row foreign-key check would cost more than the row itself.
    import_run = models.ForeignKey(
        "ImportRun",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="parcels",
        help_text="The county import that last wrote this record",
    )
    # md5 of the mapped source row (attributes + source geometry + mapping): an unchanged row
    # in the next county file is recognised without touching its geometry.
    import_hash = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ParcelQuerySet.as_manager()

    class Meta:
        ordering = ["jurisdiction", "apn"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "apn"], name="parcel_unique_apn"),
            models.CheckConstraint(
                condition=Q(geom__isnull=True) | Q(geom__isvalid=True),
                name="parcel_geom_valid",
                violation_error_message="The parcel outline is not a valid polygon.",
                violation_error_code="invalid_outline",
            ),
        ]
        indexes = [
            models.Index(fields=["address"], name="parcel_address"),
            models.Index(fields=["land_use"], name="parcel_land_use"),  # queries.land_use_codes
            # Also `parcel_address_trgm`, a trigram GIN index on the folded address
            # (parcels.folding) for search by part of an address, `parcel_apn_prefix`, a B-tree
            # on UPPER(apn) for search by the start of an APN, and `parcel_owner_trgm` for the
            # staff's search by owner; created in SQL by migrations 0003, 0005, 0006, 0010 and
            # 0011 (see there why).
            models.Index(
                fields=["vacancy_status"],
                name="parcel_vacant",
                condition=Q(vacancy_status="vacant", retired_at__isnull=True),
            ),
            GistIndex(fields=["geom_m"], name="parcel_geom_m"),
            # The finder's index: only the lots it can return (a fifth of a city), in metres, so a
            # KNN scan (ORDER BY geom_m <-> point) reads the nearest vacant lots and nothing else.
            GistIndex(
                fields=["geom_m"],
                name="parcel_vacant_geom_m",
                condition=Q(vacancy_status="vacant", retired_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        """ "164-102-005 1022 Rose St", marked "(retired 2026-11-24)" once the county's file no
        longer has it: the label of every parcel lookup (autocomplete, lists), where a retired
        parcel beside the current one it became read the same and was acquired twice."""
        label = f"{self.apn} {self.address}".strip()
        if self.retired_at is not None:
            label += f" (retired {self.retired_on})"
        return label

    @property
    def retired_on(self) -> dt.date | None:
        """The trust's day the parcel left the county's file (None while it is in it)."""
        return None if self.retired_at is None else timezone.localdate(self.retired_at)

    def renumbered_as(self) -> Parcel | None:
        """The current parcel that is this retired one's land under a new number, if one is:
        it covers RENUMBERED_SHARE of this one's area, and this one as much of its own (the
        county import's test for the held parcels it retires, parcels.importing)."""
        from parcels.importing import RENUMBERED_SHARE  # parcels.importing imports this module

        if self.geom is None:
            return None
        params = {"id": self.pk, "share": RENUMBERED_SHARE}
        try:  # GEOS raises its topology errors as XX000: a hint is not worth a 500
            with transaction.atomic():
                return next(iter(Parcel.objects.raw(RENUMBERED_AS_SQL, params)), None)
        except InternalError:
            return None

    def validate_constraints(self, exclude=None) -> None:
        # Without an outline there is nothing for parcel_geom_valid to hold. Django checks the
        # constraint in Python by asking PostGIS ST_IsValid(NULL), which fails (a TypeError, a
        # 500 for a parcel saved while its outline is researched); the database's CHECK still
        # holds, and the admin's form gives GEOS's reason for an invalid outline.
        if self.geom is None:
            exclude = {*(exclude or ()), "geom"}
        super().validate_constraints(exclude=exclude)

    @property
    def acres(self) -> float:
        return (self.area_m2 or 0) / 4046.8564224


# The current parcel of the same jurisdiction sharing the most land with a retired one, if that
# is most of both (areas in metres, on `geom_m`'s index).
RENUMBERED_AS_SQL = """
SELECT p.*
FROM parcels_parcel retired
JOIN parcels_parcel p
  ON p.geom_m && retired.geom_m AND p.jurisdiction = retired.jurisdiction
 AND p.retired_at IS NULL AND p.id <> retired.id
CROSS JOIN LATERAL (
    SELECT ST_Area(ST_Intersection(p.geom_m, retired.geom_m)) AS shared_m2 OFFSET 0
) overlap
WHERE retired.id = %(id)s
  AND overlap.shared_m2 >= %(share)s * ST_Area(retired.geom_m)
  AND overlap.shared_m2 >= %(share)s * ST_Area(p.geom_m)
ORDER BY overlap.shared_m2 DESC, p.apn
LIMIT 1
"""


class HoldingUse(models.TextChoices):
    SINGLE_FAMILY_HOME = "single_family_home", "Single-family home"
    COOP_HOUSING = "coop_housing", "Co-op housing"
    URBAN_FARM = "urban_farm", "Urban farm"
    COMMUNITY_GARDEN = "community_garden", "Community garden"
    COMMERCIAL_COOP = "commercial_coop", "Commercial co-op"
    CONSERVATION = "conservation", "Conservation"
    HELD_VACANT = "held_vacant", "Held vacant"


class AcquisitionMethod(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    DONATION = "donation", "Donation"
    TAX_FORFEIT_PATENT = "tax_forfeit_patent", "Tax-forfeit land patent"
    CITY_TRANSFER = "city_transfer", "City transfer"


@pghistory.track(*tracked())
class Holding(models.Model):
    """What the trust holds: one or more parcels acquired together, and how they came."""

    name = models.CharField(max_length=200)
    parcels = models.ManyToManyField(Parcel, through="HoldingParcel", related_name="holdings")
    current_use = models.CharField(max_length=32, choices=HoldingUse.choices)
    acquired_via = models.CharField(max_length=32, choices=AcquisitionMethod.choices)
    acquired_on = models.DateField(validators=[check_registry_date])
    price = money(default=Decimal("0"), help_text="What the trust paid (0 for a donation)")
    deed_reference = models.CharField(max_length=100, blank=True, help_text="Book/page or doc no.")
    available = models.BooleanField(
        default=False, help_text="Offered now to a household, co-op or farm (shown publicly)"
    )
    ended_on = models.DateField(
        validators=[check_registry_date],
        null=True, blank=True, help_text="When the trust stopped holding it (rare: sold, taken)"
    )
    notes = models.TextField(blank=True)

    objects = HoldingQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("acquired_on")),
                name="holding_ends_after_it_begins",
                violation_error_message="A holding cannot end before it was acquired.",
                violation_error_code="ends_before_it_begins",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.ended_on and self.acquired_on and self.ended_on < self.acquired_on:
            raise ValidationError(
                {"ended_on": f"{self.ended_on} is before the holding was acquired, on "
                             f"{self.acquired_on}."},
                code="ends_before_it_begins",
            )  # fmt: skip
        self._check_its_leases()

    def _check_its_leases(self) -> None:
        """The holding's dates keep its leases inside them (a lease checks the same from its
        side): moving the acquisition after a lease began, or the end before one began,
        would leave leases that can no longer be saved."""
        if self.pk is None or self.acquired_on is None:
            return
        leases = self.leases.order_by("starts_on").values_list("reference", "starts_on")
        first = leases.first()
        if first and first[1] < self.acquired_on:
            raise ValidationError(
                {"acquired_on": f"Lease {first[0]} on this holding starts on {first[1]}, "
                                "before this date."},
                code="lease_before_acquisition",
            )  # fmt: skip
        last = leases.last()
        if self.ended_on and last and last[1] > self.ended_on:
            raise ValidationError(
                {"ended_on": f"Lease {last[0]} on this holding starts on {last[1]}, after "
                             "this date."},
                code="lease_after_the_end",
            )  # fmt: skip

    def area_m2(self) -> float:
        return self.parcels.aggregate(total=models.Sum("area_m2"))["total"] or 0.0


@pghistory.track(*tracked())
class HoldingParcel(models.Model):
    """A parcel's membership of a holding, with its own lifespan (parcels can be split off)."""

    holding = models.ForeignKey(Holding, on_delete=models.CASCADE)
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT)
    began_on = models.DateField(validators=[check_registry_date])
    ended_on = models.DateField(validators=[check_registry_date], null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["parcel"],
                condition=Q(ended_on__isnull=True),
                name="parcel_in_one_current_holding",
                violation_error_message="This parcel is already a current parcel of a holding.",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("began_on")),
                name="membership_ends_after_it_begins",
                violation_error_message="A parcel cannot leave a holding before it joined it.",
                violation_error_code="ends_before_it_begins",
            ),
        ]

    def __str__(self) -> str:
        """ "In the holding from 2019-03-01 to 2024-06-30" (it said "HoldingParcel object (1)"):
        a row under its holding, beside the parcel it names; not the parcel, a query per row."""
        until = f" to {self.ended_on}" if self.ended_on else ""
        return f"In the holding from {self.began_on}{until}"

    def clean(self) -> None:
        """The membership ends after it begins, and the parcel is in no other holding (nor
        twice in this one) for any part of the same period."""
        super().clean()
        if self.began_on and self.ended_on and self.ended_on < self.began_on:
            raise ValidationError(
                {"ended_on": f"{self.ended_on} is before the parcel joined, {self.began_on}."},
                code="ends_before_it_begins",
            )
        if self.parcel_id:
            self._check_the_parcel_is_current()
        other = self.overlapping() if self.parcel_id and self.began_on else None
        if other is not None:
            raise ValidationError(
                {"began_on": f"The parcel is in {other.holding} {membership_period(other)}; "
                             "a parcel belongs to one holding at a time."},
                code="overlapping_membership",
            )  # fmt: skip

    def _check_the_parcel_is_current(self) -> None:
        """A parcel the county has retired joins no holding: its land is on record under the
        parcel that replaced it (renumbered, split or merged), and holding both counted it twice
        (two outlines on the trust's layer, its acres twice in the report).

        A membership saved with its parcel before the county retired it stays valid (the import
        warns of those), and so does one ending by the day it was retired: history, not land
        held twice."""
        retired_on = self.parcel.retired_on
        if retired_on is None or (self.ended_on is not None and self.ended_on <= retired_on):
            return
        saved = HoldingParcel.objects.filter(pk=self.pk, parcel=self.parcel_id)
        if self.pk is not None and saved.exists():
            return
        refusal = retired_parcel_refusal(self.parcel)
        raise ValidationError({"parcel": refusal}, code="retired_parcel")

    def overlapping(self) -> HoldingParcel | None:
        """Another membership of the same parcel whose period overlaps this one's."""
        others = HoldingParcel.objects.filter(parcel=self.parcel_id).exclude(pk=self.pk)
        others = others.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=self.began_on))
        if self.ended_on is not None:
            others = others.filter(began_on__lt=self.ended_on)
        return others.select_related("holding").order_by("began_on").first()


def retired_parcel_refusal(parcel: Parcel) -> str:
    """Why a retired parcel cannot join a holding, and the parcel to add instead if the county
    seems to have renumbered it ("164-102-005 was retired by the county import of 2026-11-24
    (it looks renumbered as 164-102-905): add the current parcel instead.")."""
    by = "by the county import of" if parcel.import_run_id else "on"
    current = parcel.renumbered_as()
    if current is None:
        return (
            f"{parcel.apn} was retired {by} {parcel.retired_on}: add the parcel the county's "
            "file has for this land now instead."
        )
    return (
        f"{parcel.apn} was retired {by} {parcel.retired_on} (it looks renumbered as "
        f"{current.apn}): add the current parcel instead."
    )


def membership_period(membership: HoldingParcel) -> str:
    """'from 2015-08-21' or 'from 2019-01-01 to 2020-06-30', as an error names it."""
    if membership.ended_on is None:
        return f"from {membership.began_on}"
    return f"from {membership.began_on} to {membership.ended_on}"


class AcquisitionStage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    UNDER_REVIEW = "under_review", "Under review"
    OFFER = "offer", "Offer made"
    UNDER_CONTRACT = "under_contract", "Under contract"
    ACQUIRED = "acquired", "Acquired"
    DROPPED = "dropped", "Dropped"


# The stages of a pipeline still being pursued; "acquired" and "dropped" close it. The finder's
# "open" (its `pipeline` filter) is the same list.
OPEN_STAGES = PIPELINE_STATES["open"]

# A parcel's steps, latest first: by date, then by id for two steps on one day. The index
# `acquisition_latest_stage` answers it backwards; LATEST_STAGE_SQL (parcels.queries) spells the
# same order for raw queries.
LATEST_STEP_FIRST = ("-on", "-id")


def latest_acquisition_step(parcel_id: int) -> AcquisitionEvent | None:
    """The parcel's latest step in the acquisition pipeline (None: never pursued): the last by
    date, then by id for two steps on one day (as `parcels.queries.latest_stage`)."""
    steps = AcquisitionEvent.objects.filter(parcel=parcel_id).select_related("parcel")
    return steps.order_by(*LATEST_STEP_FIRST).first()


@pghistory.track(*tracked())
class AcquisitionEvent(models.Model):
    """One dated step of the acquisition pipeline for a parcel the trust is pursuing."""

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="acquisition_events")
    stage = models.CharField(max_length=16, choices=AcquisitionStage.choices)
    on = models.DateField(validators=[check_registry_date])
    reason = models.TextField(blank=True, help_text="Required when dropped")
    # PROTECT: an "acquired" step names its holding (acquired_names_its_holding), so deleting
    # the holding cannot leave the step without one; the admin lists the steps that keep it.
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.PROTECT,
        help_text="The holding the parcel joined (required when acquired)",
    )  # fmt: skip

    class Meta:
        ordering = ["parcel", "on", "id"]
        # A parcel's latest stage (parcels.queries.latest_stage) is one backward step of it.
        indexes = [models.Index(fields=["parcel", "on", "id"], name="acquisition_latest_stage")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage="dropped") | ~Q(reason=""),
                name="dropped_needs_a_reason",
                violation_error_message="Say why the acquisition was dropped.",
                violation_error_code="dropped_without_a_reason",
            ),
            # "Acquired" is trust land: without a holding the pipeline said so of land that no
            # count, map or finder treated as the trust's (the demo pipeline never reaches it).
            models.CheckConstraint(
                condition=~Q(stage="acquired") | Q(holding__isnull=False),
                name="acquired_names_its_holding",
                violation_error_message="Name the holding an acquired parcel joined.",
                violation_error_code="acquired_without_a_holding",
            ),
        ]

    def __str__(self) -> str:
        """ "165-124-009: under contract on 2025-05-22" (it said "AcquisitionEvent object (26)"
        in every message and list); a query for the parcel unless it was selected with it."""
        apn = self.parcel.apn if self.parcel_id else "(no parcel)"
        return f"{apn}: {self.get_stage_display().lower()} on {self.on}"

    def clean(self) -> None:
        # The holding an acquisition became holds the parcel: an event naming another holding
        # is a slip of the lookup, and would show the parcel's story ending in the wrong place.
        super().clean()
        if self.stage == AcquisitionStage.ACQUIRED and self.holding_id is None:
            apn = self.parcel.apn if self.parcel_id else "the parcel"
            raise ValidationError(
                {"holding": f"An acquired parcel is in a holding: choose the holding {apn} "
                            f"joined, or add the holding with {apn} in it (Holdings, Add), "
                            "which records this step itself."},
                code="acquired_without_a_holding",
            )  # fmt: skip
        if self.holding_id is None or self.parcel_id is None:
            return
        memberships = HoldingParcel.objects.filter(holding=self.holding_id, parcel=self.parcel_id)
        if not memberships.exists():
            raise ValidationError(
                {"holding": f"{self.holding} does not hold parcel {self.parcel.apn}: add the "
                            "parcel to the holding first, or choose the holding that has it."},
                code="holding_without_the_parcel",
            )  # fmt: skip


class ImprovementKind(models.TextChoices):
    HOUSE = "house", "House"
    APARTMENT_BUILDING = "apartment_building", "Apartment building"
    UNIT = "unit", "Dwelling unit"
    COMMERCIAL_BUILDING = "commercial_building", "Commercial building"
    FARM_STRUCTURE = "farm_structure", "Farm structure"


@pghistory.track(*tracked())
class Improvement(models.Model):
    """A building or unit on trust land, owned by the lessee (the trust owns the land)."""

    holding = models.ForeignKey(Holding, on_delete=models.CASCADE, related_name="improvements")
    kind = models.CharField(max_length=32, choices=ImprovementKind.choices)
    description = models.CharField(max_length=200, blank=True)
    year_built = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[check_year_built]
    )
    dwelling_units = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.description or self.get_kind_display()


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (nothing changed)"
    DRY_RUN = "dry_run", "Dry run (nothing changed)"


class ImportRun(models.Model):
    """One county parcel file read into the registry: where from, and what became of each row.

    Written outside the import's own transaction, so a failed import is on record too.
    """

    jurisdiction = JurisdictionField()
    source_file = models.CharField(max_length=500)
    source_layer = models.CharField(max_length=200, blank=True)
    source_sha256 = models.CharField(max_length=64)
    source_crs = models.CharField(
        max_length=200, blank=True, help_text="The CRS as declared by the file (or --srid)"
    )
    source_srid = models.PositiveIntegerField(null=True, blank=True)
    mapping = models.JSONField(default=dict, help_text="Source column for each parcel field")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    features_read = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text="Includes retired ones restored")
    unchanged = models.PositiveIntegerField(default=0)
    retired = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0, help_text="Imported with a mended outline")
    rejected = models.PositiveIntegerField(default=0)
    reject_file = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.source_file} ({self.status})"

    def counts(self) -> dict[str, int]:
        names = ("features_read", "new", "changed", "unchanged", "retired", "repaired", "rejected")
        return {name: getattr(self, name) for name in names}


class OverlayKind(models.TextChoices):
    NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"
    FLOOD_ZONE = "flood-zone", "Flood zone"
    ZONING = "zoning", "Zoning district"
    OTHER = "other", "Other"


class Overlay(models.Model):
    """A polygon from another layer (neighbourhood, flood zone, zoning) used to filter parcels.

    A parcel is in an overlay when it overlaps it by more than TOUCHING_M, the registry's
    allowance for digitising: when it meets `core_m`, the overlay shrunk by that much
    (`ParcelQuerySet.in_overlay`). Neighbourhoods are often drawn on lot lines, and a lot
    sharing only an edge with one, or lapping into it by a sliver, is not in it."""

    kind = models.CharField(max_length=16, choices=OverlayKind.choices)
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    geom = models.MultiPolygonField(srid=4326)
    geom_m = MetricOutlineField()
    core_m = MetricOutlineField(inset_m=TOUCHING_M)
    source_file = models.CharField(max_length=500, blank=True)
    source_layer = models.CharField(
        max_length=300, blank=True,
        help_text="Which of the file's layers or datasets, when it holds several",
    )  # fmt: skip
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        indexes = [
            models.Index(fields=["kind", "name"], name="overlay_kind_name"),
            GistIndex(fields=["geom_m"], name="overlay_geom_m"),
            GistIndex(fields=["core_m"], name="overlay_core_m"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


# --- conservation easements (LADM: a restriction on the burdened land) ----------------------
#
# A conservation easement keeps land from development for good (or for a term): the landowner
# grants it, a qualified organisation holds and enforces it. A community land trust holds them
# on its own farms and woods and on land it does not own (a neighbour's farm whose owner gave
# the trust the development rights), so an easement is an area of its own, not a holding: its
# outline is the protected land as recorded, and the parcels it burdens are those it covers
# (`ConservationEasementQuerySet.burdening`). Purposes and public access follow the National
# Conservation Easement Database (NCED), so the layer reads as planners' other easement data.


class EasementPurpose(models.TextChoices):
    FARMLAND = "farmland", "Farmland"
    FOREST = "forest", "Forest"
    HABITAT = "habitat", "Wildlife habitat"
    WATER = "water", "Water quality (stream, wetland)"
    OPEN_SPACE = "open_space", "Open space"
    HISTORIC = "historic", "Historic or cultural"


class PublicAccess(models.TextChoices):
    OPEN = "open", "Open to the public"
    RESTRICTED = "restricted", "By arrangement"
    CLOSED = "closed", "No public access"
    UNKNOWN = "unknown", "Unknown"


# Parties that may hold an easement: a qualified organisation (the trust itself, or another
# land trust or agency), never a household.
HOLDER_KINDS = ("trust", "organisation")


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=AnyChangeRestorable()),
    pghistory.DeleteEvent(),
    exclude=["area_m2", "geom_m"],
    attrs={"geom": models.MultiPolygonField(srid=4326, spatial_index=False)},
)
class ConservationEasement(models.Model):
    """A conservation easement: land kept from development, by whom, why and until when."""

    name = models.CharField(max_length=200, help_text="Shown on the public map")
    purpose = models.CharField(max_length=16, choices=EasementPurpose.choices)
    public_access = models.CharField(
        max_length=16, choices=PublicAccess.choices, default=PublicAccess.UNKNOWN
    )
    holder = models.ForeignKey(
        "leases.Party",
        on_delete=models.PROTECT,
        related_name="easements_held",
        help_text="Who holds and enforces it: the trust, or another conservation organisation",
    )
    grantor = models.ForeignKey(
        "leases.Party",
        on_delete=models.PROTECT,
        related_name="easements_granted",
        null=True,
        blank=True,
        help_text="The landowner who granted it (private: never shown publicly)",
    )
    began_on = models.DateField(
        "recorded on", validators=[check_registry_date], help_text="The day it took effect"
    )
    ended_on = models.DateField(
        validators=[check_registry_date],
        null=True,
        blank=True,
        help_text="Blank while it lasts (a perpetual easement); a term easement's expiry, or the "
        "day a court extinguished it",
    )
    recording_reference = models.CharField(
        max_length=100, blank=True, help_text="Book/page or instrument no. of the recorded deed"
    )
    terms = models.TextField(
        blank=True, help_text="What it permits and prohibits, in brief (staff only)"
    )
    # Land Trust Alliance Standards and Practices 11.B: the land's condition when the easement
    # was granted, documented and signed by the landowner, is what every later visit and any
    # enforcement is measured against.
    baseline_on = models.DateField(
        "baseline documented on",
        validators=[check_registry_date],
        null=True,
        blank=True,
        help_text="The day the baseline documentation (the land's condition at the grant) was "
        "signed; attach the report under Sources",
    )
    # The protected land as the deed describes it, EPSG:4326; its parcels are those it covers.
    geom = models.MultiPolygonField(srid=4326, verbose_name="protected area")
    area_m2 = models.GeneratedField(
        expression=RawSQL("ST_Area(geom::geography)", []),
        output_field=models.FloatField(),
        db_persist=True,
        verbose_name="area (m²)",
    )
    geom_m = MetricOutlineField(verbose_name=f"protected area in metres (EPSG:{METRIC_SRID})")

    objects = ConservationEasementQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(geom__isvalid=True),
                name="easement_geom_valid",
                violation_error_message="The protected area is not a valid polygon.",
                violation_error_code="invalid_outline",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gt=models.F("began_on")),
                name="easement_ends_after_it_begins",
                violation_error_message="An easement cannot end before it was recorded.",
                violation_error_code="ends_before_it_begins",
            ),
        ]
        indexes = [GistIndex(fields=["geom_m"], name="easement_geom_m")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.began_on and self.ended_on and self.ended_on <= self.began_on:
            raise ValidationError(
                {"ended_on": f"{self.ended_on} is not after the easement was recorded, on "
                             f"{self.began_on}."},
                code="ends_before_it_begins",
            )  # fmt: skip
        if self.holder_id and self.holder.kind not in HOLDER_KINDS:
            raise ValidationError(
                {"holder": f"{self.holder} is a {self.holder.get_kind_display().lower()}; an "
                           "easement is held by the trust or another conservation "
                           "organisation (add the organisation as a party of that kind)."},
                code="holder_not_an_organisation",
            )  # fmt: skip
        refuse_after_today(
            "baseline_on", self.baseline_on, "record the baseline once its documentation is signed."
        )
        if self.holder_id and self.holder_id == self.grantor_id:
            raise ValidationError(
                {"grantor": f"{self.holder} is named as holder and as grantor: an easement is "
                            "granted by the landowner to another party."},
                code="granted_to_itself",
            )  # fmt: skip
        self._check_where_the_registry_keeps_land()
        self._check_no_merger()

    def _check_where_the_registry_keeps_land(self) -> None:
        """An area far from the registry's land (a file in another CRS read as degrees, lon
        and lat swapped) is refused, as a county file would be: measured in the metric CRS it
        is distorted, and nothing it could burden is on record there."""
        if not self.geom or self.geom.empty:
            return
        west, south, east, north = self.geom.extent
        if not (in_metric_domain(west, south) and in_metric_domain(east, north)):
            raise ValidationError(
                {"geom": f"The area lies at lon {self.geom.centroid.x:.2f}, lat "
                         f"{self.geom.centroid.y:.2f}, outside where this registry keeps land "
                         f"({metric_domain_text()}): is it in another CRS, or are longitude "
                         "and latitude swapped?"},
                code="outside_the_registry",
            )  # fmt: skip

    def _check_no_merger(self) -> None:
        """The trust does not hold an easement on land it holds: the two interests merge and
        the easement protects nothing (its own farm's easement is held by a conservancy, the
        trust granting it). Asked of the parcels the trust holds on the recording day that the
        area covers (beyond the digitising allowance, `covering`'s rule)."""
        if not (self.holder_id and self.began_on and self.geom) or self.holder.kind != "trust":
            return
        if not self.geom.valid:
            return  # the form says why first
        area = self.geom.transform(METRIC_SRID, clone=True)  # not saved yet: no geom_m
        protected_m = models.Value(area, output_field=models.GeometryField(srid=METRIC_SRID))
        held = Parcel.objects.held_by_trust(self.began_on).covered_by(protected_m)
        apns = sorted(held.values_list("apn", flat=True))
        if apns:
            named = ", ".join(apns[:5]) + (f" and {len(apns) - 5} more" if len(apns) > 5 else "")
            raise ValidationError(
                {"holder": f"The trust holds {named} on {self.began_on}, inside this area: an "
                           "easement the trust held on its own land would merge into its "
                           "ownership and protect nothing. Name another organisation (a "
                           "conservancy) as the holder, with the trust as the grantor."},
                code="merged_with_the_land",
            )  # fmt: skip

    @property
    def perpetual(self) -> bool:
        return self.ended_on is None

    @property
    def acres(self) -> float:
        return (self.area_m2 or 0) / 4046.8564224


class VisitFinding(models.TextChoices):
    COMPLIANT = "compliant", "No issues"
    MINOR = "minor", "Minor issue"
    VIOLATION = "violation", "Violation"


@pghistory.track(*tracked())
class EasementMonitoringVisit(models.Model):
    """A stewardship visit to an easement's land: what the monitor found, and when an issue
    found was resolved. Holders monitor every easement at least once a year (Land Trust
    Alliance Standards and Practices 11.C); `ConservationEasementQuerySet.monitoring_due`
    lists those whose year has run out."""

    easement = models.ForeignKey(
        ConservationEasement, on_delete=models.CASCADE, related_name="visits"
    )
    on = models.DateField("visited on", validators=[check_registry_date])
    monitor = models.CharField(max_length=100, blank=True, help_text="Who visited")
    finding = models.CharField(
        max_length=16, choices=VisitFinding.choices, default=VisitFinding.COMPLIANT
    )
    notes = models.TextField(blank=True)
    resolved_on = models.DateField(
        validators=[check_registry_date], null=True, blank=True,
        help_text="When an issue found was put right",
    )  # fmt: skip

    class Meta:
        ordering = ["easement", "-on", "-id"]
        indexes = [models.Index(fields=["easement", "on"], name="easement_visit_latest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=models.F("on")),
                name="visit_resolved_after_it",
                violation_error_message="An issue cannot be resolved before the visit found it.",
                violation_error_code="resolved_before_found",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | ~Q(finding="compliant"),
                name="visit_resolves_an_issue",
                violation_error_message="A visit that found no issue has nothing to resolve.",
                violation_error_code="nothing_to_resolve",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_finding_display()} on {self.on}"

    def clean(self) -> None:
        super().clean()
        began = self.easement.began_on if self.easement_id else None
        if self.on and began and self.on < began:
            raise ValidationError(
                {"on": f"{self.on} is before the easement was recorded, on {began}."},
                code="visit_before_the_easement",
            )
        # A visit is recorded once it has happened: one dated ahead (a mistyped year) became
        # the last visit on its day, and the easement left "visit due" with no one gone.
        for name in ("on", "resolved_on"):
            refuse_after_today(
                name, getattr(self, name), "record a visit, or an issue put right, once it has "
                "happened."
            )  # fmt: skip
