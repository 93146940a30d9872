"""A small block of lots for the map and tile tests, with private values planted in it.

The block is a grid of lots centred on the corner shared by four zoom-16 tiles, so z16 tiles
clip features and carry some twice (in their buffers), and one z12/z14 tile holds them all.
Each kind of lot the layers tell apart is there: trust land of every use (one available, one
leased), vacant lots the trust does not hold, occupied lots, a retired lot, a lot without an
outline, and two overlay areas. The leased home carries distinctive private values (a lessee
name, an income, a fee, arrears, notes...) that no public response may ever contain.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from leases.models import MonitoringEvent, PartyMember
from maps.tiles import TileAddress
from parcels.models import Overlay, Parcel
from tests import factories

# The corner shared by z16 tiles (16345..16346, 26549..26550), in West Jackson.
CORNER_TILE = (16, 16346, 26550)
LOT_W_DEG, LOT_H_DEG, GAP_DEG = 0.0004, 0.0003, 0.00004
COLUMNS, ROWS = range(-4, 4), range(-3, 3)


def tile_corner(z: int, x: int, y: int) -> tuple[float, float]:
    """The north-west corner (lon, lat) of tile z/x/y."""
    n = 2**z
    lon = x / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon, lat


def lot(column: int, row: int) -> MultiPolygon:
    """The outline of the lot at (column, row) of the block; (0, 0) is north-east of the corner."""
    lon0, lat0 = tile_corner(*CORNER_TILE)
    x0 = lon0 + column * (LOT_W_DEG + GAP_DEG) + GAP_DEG / 2
    y0 = lat0 + row * (LOT_H_DEG + GAP_DEG) + GAP_DEG / 2
    x1, y1 = x0 + LOT_W_DEG, y0 + LOT_H_DEG
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


# Values that must never leave the staff side. Each is distinctive enough that finding it
# anywhere in a public response can only mean a leak.
PRIVATE = {
    "lessee": "Zebulon Quartermaine-Okafor",
    "member": "Philippa Wrexham-Duval",
    "email": "zq.private@example.org",
    "phone": "601-555-0199",
    "mailing_address": "PO Box 7731 Privateville",
    "income": Decimal("73519.37"),
    "fee": Decimal("417.29"),
    "arrears": Decimal("1234.56"),
    "purchase_price": Decimal("187654.32"),
    "holding_price": Decimal("45678.91"),
    "lease_reference": "GL-SECRET-0042",
    "lease_notes": "PRIVATE-LEASE-NOTE roof leak",
    "party_notes": "PRIVATE-PARTY-NOTE",
    "monitoring_notes": "PRIVATE-MONITORING-NOTE late",
    "holding_notes": "PRIVATE-HOLDING-NOTE",
    "deed": "Book 9431 Page 8812",
    "owner": "QUIMBY HORTENSE PRIVATE-OWNER",
}


def private_needles() -> list[str]:
    """Every planted value as text, in the forms a leak would take (raw, with commas)."""
    needles = []
    for value in PRIVATE.values():
        needles.append(str(value))
        if isinstance(value, Decimal):
            needles.append(f"{value:,}")  # 73,519.37
            if value >= 10_000:  # shorter whole numbers turn up by chance in coordinates
                needles.append(str(int(value)))  # 73519
    return needles


@dataclass
class Block:
    trust: list[Parcel] = field(default_factory=list)  # every trust parcel (trust-land layer)
    available: list[Parcel] = field(default_factory=list)
    leased: Parcel | None = None
    vacant: list[Parcel] = field(default_factory=list)  # vacant, not held (vacant-lots layer)
    occupied: list[Parcel] = field(default_factory=list)
    retired: Parcel | None = None
    no_outline: Parcel | None = None

    @property
    def active(self) -> list[Parcel]:
        return [*self.trust, *self.vacant, *self.occupied]


# The trust's holdings in the block: (columns, row, use, available).
HOLDINGS = (
    ((0,), 0, "single_family_home", False),  # leased: the planted private values
    ((1, 2), 0, "urban_farm", False),
    ((-1,), 0, "community_garden", False),
    ((-2,), -1, "held_vacant", True),
    ((0,), -1, "coop_housing", False),
    ((3,), -3, "commercial_coop", False),
)


def block() -> Block:
    """Build the block (about 50 parcels) with its holdings, one lease and two overlays."""
    made = Block()
    taken: set[tuple[int, int]] = set()
    for number, (columns, row, use, available) in enumerate(HOLDINGS):
        parcels = []
        for column in columns:
            parcels.append(
                factories.parcel(
                    apn=f"170-{number:03d}-{column + 10:03d}",
                    address=f"{1200 + 2 * column} Trust Way",
                    geom=lot(column, row),
                    vacancy_status="occupied",
                    land_use="R1",
                    owner_of_record=PRIVATE["owner"],
                )
            )
            taken.add((column, row))
        held = factories.holding(
            parcels=parcels,
            name=f"Holding {use}",
            current_use=use,
            available=available,
            price=PRIVATE["holding_price"],
            deed_reference=PRIVATE["deed"],
            notes=PRIVATE["holding_notes"],
            acquired_on=dt.date(2016 + number, 3, 1),
        )
        made.trust.extend(parcels)
        if available:
            made.available.extend(parcels)
        if number == 0:
            made.leased = parcels[0]
            _plant_lease(held)
    for column in COLUMNS:
        for row in ROWS:
            if (column, row) in taken:
                continue
            vacant = (column + row) % 3 == 0
            made_parcel = factories.parcel(
                apn=f"171-{row + 10:03d}-{column + 10:03d}",
                address=f"{1300 + 2 * column} {'North' if row >= 0 else 'South'} St",
                geom=lot(column, row),
                vacancy_status="vacant" if vacant else "occupied",
                land_use="V" if vacant else "R1",
                zoning="R-1",
                tax_status="forfeited" if vacant and column < 0 else "current",
                owner_of_record=PRIVATE["owner"],
            )
            (made.vacant if vacant else made.occupied).append(made_parcel)
    made.retired = factories.parcel(
        apn="172-000-001", address="1 Gone St", geom=lot(-4, 3), retired_at=timezone.now()
    )
    made.no_outline = factories.parcel(apn="172-000-002", address="2 Unmapped St", geom=None)
    west, south = lot(COLUMNS[0], ROWS[0]).extent[:2]
    east, north = lot(COLUMNS[-1], ROWS[-1]).extent[2:]
    Overlay.objects.create(
        kind="neighbourhood",
        name="Trust Way Neighbourhood",
        geom=MultiPolygon(Polygon.from_bbox((west, south, east, north)), srid=4326),
    )
    Overlay.objects.create(
        kind="flood-zone",
        name="Zone AE (Town Creek)",
        geom=MultiPolygon(Polygon.from_bbox((west, south, west + 0.001, north)), srid=4326),
    )
    return made


def _plant_lease(held) -> None:
    household = factories.party(
        name=PRIVATE["lessee"],
        email=PRIVATE["email"],
        phone=PRIVATE["phone"],
        mailing_address=PRIVATE["mailing_address"],
        annual_income=PRIVATE["income"],
        notes=PRIVATE["party_notes"],
    )
    PartyMember.objects.create(party=household, name=PRIVATE["member"], is_contact=True)
    lease = factories.lease(
        holding_=held,
        lessees=(household,),
        reference=PRIVATE["lease_reference"],
        fee_monthly=PRIVATE["fee"],
        arrears=PRIVATE["arrears"],
        purchase_price=PRIVATE["purchase_price"],
        notes=PRIVATE["lease_notes"],
    )
    MonitoringEvent.objects.create(
        lease=lease,
        type="late_fee_payment",
        on=dt.date(2025, 1, 10),
        notes=PRIVATE["monitoring_notes"],
    )


def tile_of(parcel, z: int = 16) -> tuple[int, int, int]:
    """(z, x, y) of the web-mercator tile with a point of the parcel in it."""
    address = TileAddress.containing(*parcel.geom.point_on_surface.coords, z)
    return address.z, address.x, address.y


# The trust's day the dated layers' tests are set on: not the machine's date, so the layers
# must read the trust's clock.
LAYER_DAY = dt.date(2030, 3, 14)
