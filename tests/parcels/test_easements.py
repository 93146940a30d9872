"""Conservation easements: what is in force, which parcels one burdens, when a visit is due."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from parcels.models import ConservationEasement, EasementMonitoringVisit, Parcel
from tests import factories
from tests.factories import WEST_JACKSON, lot

pytestmark = pytest.mark.django_db

LON, LAT = WEST_JACKSON
SIDE = 0.0003  # a factory lot's side in degrees (about 28 m east-west, 33 m north-south)
METRE_DEG = 1 / 94_000  # about a metre of longitude at Jackson's latitude, in degrees


def test_in_force_from_its_recording_until_the_day_it_ends():
    term = factories.easement(began_on=dt.date(2020, 1, 1), ended_on=dt.date(2030, 1, 1))
    in_force = ConservationEasement.objects.in_force

    assert term not in in_force(dt.date(2019, 12, 31))
    assert term in in_force(dt.date(2020, 1, 1))
    assert term in in_force(dt.date(2029, 12, 31))
    assert term not in in_force(dt.date(2030, 1, 1))  # the day it ends, as a holding's
    assert factories.easement(began_on=dt.date(2020, 1, 1)).perpetual


def test_a_household_cannot_hold_an_easement():
    easement = factories.easement()
    easement.holder = factories.party(kind="household", name="Evers household")

    with pytest.raises(ValidationError) as refused:
        easement.full_clean()

    (reason,) = refused.value.message_dict["holder"]
    assert "the trust or another conservation organisation" in reason


def test_an_easement_cannot_end_before_it_was_recorded():
    easement = factories.easement(began_on=dt.date(2020, 1, 1))
    easement.ended_on = dt.date(2019, 1, 1)

    with pytest.raises(ValidationError) as refused:
        easement.full_clean()
    assert "2019-01-01 is not after the easement was recorded" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        easement.save()


def test_an_invalid_protected_area_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.easement(geom=factories.bow_tie())
    assert not ConservationEasement.objects.exists()


def test_it_burdens_the_parcels_it_covers_not_its_neighbours():
    covered = factories.parcel(geom=lot(LON, LAT))
    neighbour = factories.parcel(geom=lot(LON + SIDE, LAT))  # shares the east edge
    easement = factories.easement(geom=lot(LON, LAT))

    assert list(Parcel.objects.burdened_by(easement)) == [covered]
    assert neighbour not in Parcel.objects.under_easement()
    assert covered in Parcel.objects.under_easement()


def test_a_digitising_sliver_does_not_burden_a_neighbour():
    # The deed's outline reaches 0.3 m into the next lot: a sliver, not a burden.
    factories.parcel(geom=lot(LON, LAT))
    neighbour = factories.parcel(geom=lot(LON + SIDE, LAT))
    reach = lot(LON, LAT, side_deg=SIDE)
    reach = reach.union(lot(LON + SIDE, LAT, side_deg=0.3 * METRE_DEG))
    easement = factories.easement(geom=_multi(reach))

    assert neighbour not in Parcel.objects.burdened_by(easement)


def test_a_narrow_strip_across_a_large_parcel_burdens_it():
    # A 10 m stream buffer along the edge of a 400 m farm field: under 3% of it, still burdened.
    farm = factories.parcel(geom=lot(LON, LAT, side_deg=400 * METRE_DEG))
    strip = lot(LON, LAT, side_deg=10 * METRE_DEG).union(
        lot(LON + 10 * METRE_DEG, LAT, side_deg=10 * METRE_DEG)
    )
    easement = factories.easement(purpose="water", geom=_multi(strip))

    burdened = list(Parcel.objects.burdened_by(easement))
    assert burdened == [farm]
    assert 150 < burdened[0].covered_m2 < 250  # two 10 m squares, in square metres


def test_an_easement_not_yet_recorded_or_ended_burdens_nothing_then():
    lot_ = factories.parcel(geom=lot(LON, LAT))
    factories.easement(
        geom=lot(LON, LAT), began_on=dt.date(2020, 1, 1), ended_on=dt.date(2025, 1, 1)
    )

    assert lot_ not in Parcel.objects.under_easement(dt.date(2019, 12, 31))
    assert lot_ in Parcel.objects.under_easement(dt.date(2024, 12, 31))
    assert lot_ not in Parcel.objects.under_easement(dt.date(2025, 1, 1))


def test_a_visit_is_due_a_year_after_the_recording_then_after_each_visit():
    easement = factories.easement(began_on=dt.date(2024, 2, 29))
    due = ConservationEasement.objects.monitoring_due

    assert easement not in due(dt.date(2025, 2, 27))
    assert easement in due(dt.date(2025, 2, 28))  # 29 February's anniversary
    EasementMonitoringVisit.objects.create(easement=easement, on=dt.date(2025, 3, 10))
    assert easement not in due(dt.date(2026, 3, 9))
    assert easement in due(dt.date(2026, 3, 10))
    # A visit dated after the day asked about does not count on that day.
    EasementMonitoringVisit.objects.create(easement=easement, on=dt.date(2026, 4, 1))
    assert easement in due(dt.date(2026, 3, 31))
    shown = ConservationEasement.objects.with_last_visit(dt.date(2026, 3, 31)).get()
    assert (shown.last_visit_on, shown.visit_due_on) == (dt.date(2025, 3, 10), dt.date(2026, 3, 10))


def test_an_ended_easement_is_not_due_for_monitoring():
    easement = factories.easement(began_on=dt.date(2010, 1, 1), ended_on=dt.date(2020, 1, 1))

    assert easement not in ConservationEasement.objects.monitoring_due(dt.date(2024, 1, 1))


def test_a_visit_before_the_easement_or_resolved_before_it_is_refused():
    easement = factories.easement(began_on=dt.date(2020, 1, 1))
    early = EasementMonitoringVisit(easement=easement, on=dt.date(2019, 5, 1))
    with pytest.raises(ValidationError, match="before the easement was recorded"):
        early.full_clean()

    backwards = EasementMonitoringVisit(
        easement=easement, on=dt.date(2021, 5, 1), finding="minor", resolved_on=dt.date(2021, 4, 1)
    )
    with pytest.raises(ValidationError, match="cannot be resolved before the visit"):
        backwards.full_clean()

    nothing = EasementMonitoringVisit(
        easement=easement, on=dt.date(2021, 5, 1), resolved_on=dt.date(2021, 6, 1)
    )
    with pytest.raises(ValidationError, match="found no issue has nothing to resolve"):
        nothing.full_clean()


def test_every_change_to_an_easement_is_kept_in_its_history():
    easement = factories.easement(name="Town Creek buffer")
    easement.name = "Town Creek riparian buffer"
    easement.save()

    names = list(easement.events.order_by("pgh_id").values_list("name", flat=True))
    assert names == ["Town Creek buffer", "Town Creek riparian buffer"]


def _multi(geom):
    from django.contrib.gis.geos import MultiPolygon

    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon(geom, srid=4326)


# From a union of a synth county's lots (bench/finder_easements.py), reduced to what still
# breaks: valid in EPSG:4326, folded over itself in EPSG:26995, where GEOS refused to say
# whether it meets the lot beside it (TopologyException: a 500 on the finder and the parcel
# page). Three slivers of the union, and that lot.
FOLDED_BY_THE_PROJECTION = (
    "MULTIPOLYGON (((-90.2276016116654205 32.3036855569663075, "
    "-90.2276010371398769 32.3041803328655988, -90.2270675881461841 32.3036851085613179, "
    "-90.2276016116654205 32.3036855569663075)), ((-90.2279894199989485 32.3041806575655741, "
    "-90.2276010371398769 32.3041803328655988, -90.2276015382546035 32.3037487783333788, "
    "-90.2279894199989485 32.3041806575655741)), ((-90.2261439219434891 32.3047563430714320, "
    "-90.2261444073245968 32.3043440298819462, -90.2264033296832082 32.3043442494699988, "
    "-90.2261439219434891 32.3047563430714320)))"
)
LOT_BESIDE_IT = (
    "MULTIPOLYGON(((-90.22617795331524 32.303340761818006,-90.22585430393666 32.30334048667971,"
    "-90.22585389837407 32.303684081057575,-90.22617754897392 32.30368435619951,"
    "-90.22617795331524 32.303340761818006)))"
)


def test_an_easement_valid_where_drawn_but_folded_in_metres_still_answers(client):
    from django.contrib.gis.geos import GEOSGeometry
    from django.db import connection

    from parcels import finder
    from tests.adminpages import change_url

    area = GEOSGeometry(FOLDED_BY_THE_PROJECTION, srid=4326)
    beside = factories.parcel(geom=GEOSGeometry(LOT_BESIDE_IT, srid=4326))
    under = factories.parcel(geom=_multi(area[0].envelope))  # the first sliver's box
    easement = factories.easement(geom=area)
    with connection.cursor() as cursor:  # the case: valid as drawn, invalid in metres
        cursor.execute("SELECT ST_IsValid(geom), ST_IsValid(geom_m) FROM "
                       "parcels_conservationeasement WHERE id = %s", [easement.pk])  # fmt: skip
        assert cursor.fetchone() == (True, False)

    assert list(Parcel.objects.under_easement()) == [under]
    assert list(Parcel.objects.burdened_by(easement)) == [under]
    flags = {f["properties"]["apn"]: f["properties"]["under_easement"]
             for f in finder.vacant_lots_geojson({})["features"]}  # fmt: skip
    assert flags == {under.apn: True, beside.apn: False}
    client.force_login(factories.user(role="read-only"))
    assert client.get(change_url(beside)).status_code == 200
    assert client.get(change_url(easement)).status_code == 200


def _multi(geom):
    from django.contrib.gis.geos import MultiPolygon

    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon(geom, srid=4326)


# --- what cannot be recorded ----------------------------------------------------------------


def test_the_trust_cannot_hold_an_easement_on_land_it_holds():
    # The two interests merge: an easement the trust held on its own garden protects nothing.
    garden = factories.parcel(apn="164-104-003", geom=lot(LON, LAT))
    factories.holding(parcels=[garden], acquired_on=dt.date(2015, 1, 1))
    trust = factories.party(kind="trust", name="The trust")
    easement = ConservationEasement(
        name="Garden", purpose="open_space", holder=trust, began_on=dt.date(2020, 1, 1),
        geom=lot(LON, LAT),
    )  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        easement.full_clean()
    (reason,) = refused.value.message_dict["holder"]
    assert reason.startswith("The trust holds 164-104-003 on 2020-01-01, inside this area")
    assert "Name another organisation (a conservancy) as the holder" in reason

    easement.holder = factories.party(kind="organisation", name="Pearl River Conservancy")
    easement.grantor = trust
    easement.full_clean()  # the trust grants it to a conservancy: the farm's way


def test_the_trust_may_hold_one_on_its_neighbours_land_or_land_it_bought_later():
    neighbour = factories.parcel(geom=lot(LON + SIDE, LAT))  # the easement's edge touches it
    factories.holding(parcels=[neighbour], acquired_on=dt.date(2015, 1, 1))
    later = factories.parcel(geom=lot(LON, LAT))
    factories.holding(parcels=[later], acquired_on=dt.date(2024, 1, 1))
    easement = ConservationEasement(
        name="Meadow", purpose="open_space", holder=factories.party(kind="trust", name="T"),
        grantor=factories.party(name="Heirs"), began_on=dt.date(2020, 1, 1), geom=lot(LON, LAT),
    )  # fmt: skip

    easement.full_clean()


def test_an_easement_is_not_granted_by_its_holder():
    conservancy = factories.party(kind="organisation", name="Conservancy")
    easement = factories.easement(holder=conservancy)
    easement.grantor = conservancy

    with pytest.raises(ValidationError, match="named as holder and as grantor"):
        easement.full_clean()


def test_a_visit_or_a_resolution_dated_after_today_is_refused(settings):
    from django.utils import timezone

    today = timezone.localdate()
    easement = factories.easement(began_on=dt.date(2020, 1, 1))
    ahead = EasementMonitoringVisit(easement=easement, on=today + dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="is after today .*once it has happened"):
        ahead.full_clean()
    resolved_ahead = EasementMonitoringVisit(
        easement=easement, on=today, finding="violation",
        resolved_on=today + dt.timedelta(days=30),
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        resolved_ahead.full_clean()
    assert "resolved_on" in refused.value.message_dict
    EasementMonitoringVisit(easement=easement, on=today).full_clean()  # today is fine


def test_a_baseline_dated_after_today_is_refused():
    from django.utils import timezone

    easement = factories.easement(baseline_on=timezone.localdate() + dt.timedelta(days=90))

    with pytest.raises(ValidationError) as refused:
        easement.full_clean()
    assert "once its documentation is signed" in refused.value.message_dict["baseline_on"][0]


def test_a_source_stands_behind_one_record_of_a_kind_it_has_recorded_by_today():
    from django.utils import timezone

    from leases.models import SourceDocument

    easement = factories.easement()
    lease_deed = SourceDocument(kind="recorded_lease", reference="Book 1", easement=easement)
    with pytest.raises(ValidationError, match="The source of an easement is one of"):
        lease_deed.full_clean()
    ahead = SourceDocument(kind="monitoring_report", reference="Report", easement=easement,
                           recorded_on=timezone.localdate() + dt.timedelta(days=1))  # fmt: skip
    with pytest.raises(ValidationError, match="a document is recorded once it exists"):
        ahead.full_clean()
    two = SourceDocument(kind="deed", reference="Book 2", easement=easement,
                         holding=factories.holding())  # fmt: skip
    with pytest.raises(ValidationError, match="not holding and easement"):
        two.full_clean()
    SourceDocument(kind="baseline_report", reference="Baseline", easement=easement).full_clean()
