"""Small factories for registry records, shared by the tests.

Each builds one valid record with plausible West Jackson values; keyword arguments override
any field. Records are written straight through the ORM (no named action), so a test that
checks history starts from records with no admin events of their own.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.forms import SplitDateTimeWidget
from django.utils import timezone

from clt.concurrency import FIELD as FINGERPRINT
from clt.roles import apply_roles, grant_role
from leases.models import (
    Appraisal,
    CapitalImprovement,
    GroundLease,
    IndexSeries,
    IndexValue,
    LeaseFeeChange,
    MonitoringEvent,
    Party,
    PartyMember,
    RepairDeduction,
    Resale,
    SourceDocument,
)
from parcels.models import (
    AcquisitionEvent,
    ConservationEasement,
    EasementMonitoringVisit,
    Holding,
    HoldingParcel,
    ImportRun,
    Improvement,
    Overlay,
    Parcel,
)

_serial = itertools.count(1)

# Near the Lumumba Center, 939 W. Capitol St., Jackson MS (lon, lat).
WEST_JACKSON = (-90.2010, 32.2990)

# Simple fixed-rate: 2% a year, not compounded (docs/domain.md example 4).
FIXED_2PCT_SIMPLE = {"type": "fixed_rate", "method": "simple", "rate": "0.02"}


def lot(lon: float = WEST_JACKSON[0], lat: float = WEST_JACKSON[1], side_deg: float = 0.0003):
    """A square lot (about 30 m a side) with its south-west corner at (lon, lat)."""
    x1, y1 = lon + side_deg, lat + side_deg
    ring = ((lon, lat), (x1, lat), (x1, y1), (lon, y1), (lon, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def bow_tie(lon: float = WEST_JACKSON[0], lat: float = WEST_JACKSON[1], side_deg: float = 0.0003):
    """An invalid outline: a ring that crosses itself in the middle of the lot."""
    x1, y1 = lon + side_deg, lat + side_deg
    ring = ((lon, lat), (x1, y1), (x1, lat), (lon, y1), (lon, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def user(username: str | None = None, role: str | None = None, **fields) -> User:
    """A user (password "pw"); with `role`, a staff member holding that role's group."""
    user = User.objects.create_user(username or f"staff{next(_serial)}", password="pw", **fields)
    if role:
        apply_roles()
        grant_role(user, role)
    return user


def parcel(**fields) -> Parcel:
    n = next(_serial)
    values = {
        "apn": f"164-{n:03d}-000",
        "address": f"{900 + n} W Capitol St",
        "owner_of_record": "State of Mississippi",
        "land_use": "RES-VAC",
        "vacancy_status": "vacant",
        "tax_status": "forfeited",
        "geom": lot(),
    }
    return Parcel.objects.create(**{**values, **fields})


def holding(parcels: tuple[Parcel, ...] | list[Parcel] = (), **fields) -> Holding:
    values = {
        "name": f"Holding {next(_serial)}",
        "current_use": "single_family_home",
        "acquired_via": "tax_forfeit_patent",
        "acquired_on": dt.date(2017, 3, 1),
    }
    made = Holding.objects.create(**{**values, **fields})
    for each in parcels:
        HoldingParcel.objects.create(holding=made, parcel=each, began_on=made.acquired_on)
    return made


def party(**fields) -> Party:
    values = {"kind": "household", "name": f"Household {next(_serial)}", "household_size": 3}
    return Party.objects.create(**{**values, **fields})


def lease(
    *, holding_: Holding | None = None, lessees: tuple[Party, ...] = (), **fields
) -> GroundLease:
    """A residential 99-year lease on `holding_` (a new one-lot holding if omitted)."""
    held = holding_ or holding(parcels=[parcel()])
    values = {
        "reference": f"GL-2017-{next(_serial):03d}",
        "holding": held,
        "starts_on": dt.date(2017, 6, 1),
        "permitted_use": "residential",
        "fee_monthly": Decimal("25.00"),
        "purchase_price": Decimal("250000.00"),
        "purchase_date": dt.date(2017, 6, 1),
        "resale_formula": FIXED_2PCT_SIMPLE,
    }
    made = GroundLease.objects.create(**{**values, **fields})
    made.lessees.set(lessees or [party()])
    made.parcels.set(held.parcels.all())
    return made


def easement(**fields) -> ConservationEasement:
    """A perpetual farmland easement held by the trust, over one lot (`lot()`) if no area."""
    values = {
        "name": f"Easement {next(_serial)}",
        "purpose": "farmland",
        "holder": fields.pop("holder", None) or party(kind="trust", name="The trust"),
        "began_on": dt.date(2019, 6, 1),
        "geom": lot(),
    }
    return ConservationEasement.objects.create(**{**values, **fields})


def registry() -> dict[str, Any]:
    """One record of every registry model, each linked to the others as in real use."""
    lot_ = parcel()
    held = holding(parcels=[lot_])
    household = party(name="Hamer household")
    buyer = party(name="Evers household")
    lease_ = lease(holding_=held, lessees=(household,))
    easement_ = easement(grantor=buyer, geom=lot_.geom)
    series = IndexSeries.objects.create(
        name="jackson-ms-ami", kind="ami", area="Jackson, MS MSA", source="HUD FY2024"
    )
    return {
        "parcel": lot_,
        "holding": held,
        "acquisitionevent": AcquisitionEvent.objects.create(
            parcel=lot_, stage="acquired", on=held.acquired_on, holding=held
        ),
        "improvement": Improvement.objects.create(holding=held, kind="house", dwelling_units=1),
        "overlay": Overlay.objects.create(kind="neighbourhood", name="West Jackson", geom=lot()),
        "importrun": ImportRun.objects.create(
            jurisdiction="hinds-ms", source_file="hinds_parcels_2025.gpkg", source_sha256="0" * 64
        ),
        "party": household,
        "partymember": PartyMember.objects.create(party=household, name="Fannie Lou"),
        "groundlease": lease_,
        "leasefeechange": LeaseFeeChange.objects.create(
            lease=lease_, effective_on=lease_.starts_on, fee_monthly=lease_.fee_monthly
        ),
        "monitoringevent": MonitoringEvent.objects.create(
            lease=lease_, type="occupancy_certification", on=dt.date(2024, 1, 15)
        ),
        "appraisal": Appraisal.objects.create(
            lease=lease_, on=dt.date(2017, 5, 1), value=Decimal("350000"), purpose="purchase"
        ),
        "capitalimprovement": CapitalImprovement.objects.create(
            lease=lease_,
            description="New roof",
            approved_on=dt.date(2020, 4, 1),
            cost=Decimal("6000"),
            credit=Decimal("6000"),
        ),
        "repairdeduction": RepairDeduction.objects.create(
            lease=lease_,
            description="Porch steps",
            assessed_on=dt.date(2024, 2, 1),
            amount=Decimal("1200"),
        ),
        "resale": Resale.objects.create(
            lease=lease_,
            seller=household,
            buyer=buyer,
            contract_on=dt.date(2025, 3, 1),
            formula_price=Decimal("290000"),
            agreed_price=Decimal("285000"),
        ),
        "indexseries": series,
        "indexvalue": IndexValue.objects.create(series=series, year=2024, value=Decimal("74300")),
        "sourcedocument": SourceDocument.objects.create(
            kind="deed", reference="Book 6789 Page 12", holding=held
        ),
        "conservationeasement": easement_,
        "easementmonitoringvisit": EasementMonitoringVisit.objects.create(
            easement=easement_, on=dt.date(2024, 5, 2), monitor="Staff", finding="minor",
            notes="Dumped tyres by the creek",
        ),
    }


def admin_form_data(response) -> dict[str, Any]:
    """The POST body an admin change page would send back unchanged (form and inlines)."""
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.extend(formset.forms)
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()  # as the widget would render it (prepare_value)
            if value is None or value is False:
                continue
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif isinstance(field.widget, SplitDateTimeWidget):
                moment = timezone.localtime(value)
                data[f"{key}_0"], data[f"{key}_1"] = str(moment.date()), str(moment.time())
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)
    data.update(hidden_fingerprint(response))
    return data


def hidden_fingerprint(response) -> dict[str, str]:
    """The record's fingerprint (`clt.concurrency`), as the browser posts it back: a hidden
    input of the page, outside the form's fields. {} on a page without one (an add page)."""
    found = re.search(
        rf'<input type="hidden" name="{FINGERPRINT}" value="([^"]*)"', response.content.decode()
    )
    return {FINGERPRINT: html.unescape(found[1])} if found else {}


# An itemized formula capped by the seller's net proceeds (docs/resale-formulas.md).
ITEMIZED_CAPPED = {
    "type": "itemized",
    "inflation_rate": "0.02",
    "inflation_method": "compound",
    "improvement_share": "0.5",
    "capped_by_net_proceeds": True,
}
