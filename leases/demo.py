"""Load the demo neighbourhood's parties, ground leases and their records from fixtures/.

The files (`fixtures/west_jackson/`: parties.csv, party_members.csv, leases.csv, formulas/,
fee_changes.csv, appraisals.csv, capital_improvements.csv, repairs.csv, monitoring.csv,
resales.csv, easements.geojson, easement_visits.csv; and the index tables in `fixtures/indexes/`)
are in the format a trust brings its own records in with (`clt.registry_files`), and are read by
the same code (`leases.registry_import`), inside the demo's one transaction (`parcels.demo`).
What is the demo's alone is here: its index tables, which a trust loads itself with `clt
load-index`, and forgetting an earlier demo on `load-demo --force`.
"""

from __future__ import annotations

from pathlib import Path

from django.db.models import Exists, OuterRef, Q, QuerySet

from clt.history import recorded
from clt.registry_files import Origin
from leases.indexes import IndexFileError, load_index_folder
from leases.models import GroundLease, Party, Resale
from leases.registry_import import LeaseFiles, LeaseFilesSummary
from parcels.demo import DemoDataError
from parcels.models import ConservationEasement, Holding

DEMO_ACTION = "demo_load"


DEMO_ORIGIN = Origin(action=DEMO_ACTION, source="demo")


def load_demo_leases(folder: Path, holdings: dict[str, Holding]) -> LeaseFilesSummary:
    """Load the lease files in `folder` onto the demo's `holdings` (by name); the caller holds
    the transaction, so a bad row leaves nothing behind."""
    try:
        index_series = len(load_index_folder())
    except IndexFileError as exc:
        raise DemoDataError(f"fixtures/indexes/{exc}") from exc
    return LeaseFiles(folder, holdings, DEMO_ORIGIN, optional=False).load(index_series)


def forget_demo_leases(demo_parcels: QuerySet) -> None:
    """Remove the leases on the demo's holdings, with their records and their parties (an
    explicit `load-demo --force`); leases elsewhere and parties they share are kept."""
    easement_parties = _forget_demo_easements(demo_parcels)
    lease_ids = list(
        GroundLease.objects.filter(holding__parcels__in=demo_parcels)
        .values_list("pk", flat=True)
        .distinct()
    )
    if not lease_ids:
        return
    leases = GroundLease.objects.filter(pk__in=lease_ids)
    resales = Resale.objects.filter(lease__in=leases)
    party_ids = {
        *easement_parties,
        *leases.values_list("lessees", flat=True),
        *resales.values_list("seller", flat=True),
        *resales.values_list("buyer", flat=True),
    }
    with recorded("demo_forget"):
        resales.delete()
        leases.delete()  # cascades to fees, monitoring, appraisals, improvements, repairs
        Party.objects.filter(pk__in=party_ids).filter(
            Q(leases__isnull=True), Q(sales__isnull=True), Q(purchases__isnull=True),
            Q(easements_held__isnull=True), Q(easements_granted__isnull=True),
        ).delete()


def _forget_demo_easements(demo_parcels: QuerySet) -> set[int]:
    """Remove the conservation easements over the demo's parcels (with their visits); the ids
    of their holders and grantors, for `forget_demo_leases` to remove with the others."""
    over_demo = Exists(demo_parcels.filter(geom__intersects=OuterRef("geom")))
    easements = ConservationEasement.objects.filter(over_demo)
    parties = {
        *easements.values_list("holder", flat=True),
        *easements.exclude(grantor=None).values_list("grantor", flat=True),
    }
    with recorded("demo_forget"):
        easements.delete()
    return parties
