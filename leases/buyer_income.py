"""Whether the "% of AMI" typed on a resale agrees with the buyer's recorded income.

Staff type the buyer's income as a percentage of area median income on the resale; the buyer
party has its certified income and household size, and `clt load-index --kind ami` loads the
area median. Nothing compared them, so 95% was accepted for a household whose $61,000 was
about 79% of the year's median (QA: lease administrator, observation). The comparison is a
warning, never a refusal: the party's income is the one at its last certification, which may
not be the one certified for the sale.

The household's share of the median follows HUD's adjustment for household size, the one HUD
applies to the four-person median to set its limits (FY Income Limits Methodology: 70% for one
person, 80% for two, 90% for three, 100% for four, 108% for five, 116% for six, 124% for seven,
132% for eight, and 8 points more for each person over eight), so a single person earning 70%
of the four-person median is at 100% of AMI for their household.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from leases.models import IndexKind, IndexValue, PartyKind, Resale
from leases.resale.income_limits import BASE_SIZE, LARGEST_LISTED, SHARE_PER_PERSON
from leases.resale.money import format_money, format_rate, to_cent

# The four-person median times these is the median of a household of each size (HUD).
SIZE_ADJUSTMENT = {
    1: Decimal("0.70"), 2: Decimal("0.80"), 3: Decimal("0.90"), 4: Decimal("1.00"),
    5: Decimal("1.08"), 6: Decimal("1.16"), 7: Decimal("1.24"), 8: Decimal("1.32"),
}  # fmt: skip
# Percentage points the typed figure may differ from the recorded income's before staff are
# told: rounding, and an income certified a little apart from the party's last one.
AGREEMENT_POINTS = Decimal(5)


def size_adjustment(household_size: int) -> Decimal:
    """HUD's factor for a household of `household_size` on the four-person median."""
    if household_size <= LARGEST_LISTED:
        return SIZE_ADJUSTMENT[household_size]
    return SIZE_ADJUSTMENT[LARGEST_LISTED] + SHARE_PER_PERSON * (household_size - LARGEST_LISTED)


@dataclass(frozen=True)
class AreaMedian:
    """The area median income of a household's size in a year, from a loaded series."""

    annual: Decimal
    year: int
    series: str
    basis: str  # how it was found: "" for the series' own figure


def area_median(household_size: int, year: int) -> AreaMedian | None:
    """The area median income for a household of `household_size`, in the AMI series loaded for
    the latest year up to `year`: the series' figure for that size if it lists one, else its
    median (four persons) adjusted by HUD's factor for the size. None when no AMI series is
    loaded, or several give that year (which one is the trust's area is not known)."""
    rows = IndexValue.objects.filter(
        Q(household_size__isnull=True) | Q(household_size=household_size),
        series__kind=IndexKind.AREA_MEDIAN_INCOME,
        year__lte=year,
        month__isnull=True,
        percent_of_median__isnull=True,
    )
    latest = rows.order_by("-year").first()
    if latest is None:
        return None
    of_year = list(rows.filter(year=latest.year).select_related("series"))
    if len({row.series_id for row in of_year}) > 1:
        return None
    series = of_year[0].series.name
    own = next((row for row in of_year if row.household_size == household_size), None)
    if own is not None or household_size == BASE_SIZE:
        return AreaMedian(to_cent((own or of_year[0]).value), latest.year, series, basis="")
    factor = size_adjustment(household_size)
    basis = f"HUD's {format_rate(factor)} of the four-person {format_money(of_year[0].value)}"
    return AreaMedian(to_cent(of_year[0].value * factor), latest.year, series, basis=basis)


def income_pct_mismatch(resale: Resale) -> str | None:
    """What staff are told when the buyer's income as % of AMI typed on `resale` differs by
    more than AGREEMENT_POINTS from the buyer's recorded income on the loaded area median,
    naming both figures; None when they agree, or when a figure is missing (the buyer's
    income or household size, an AMI series for the year)."""
    buyer, typed = resale.buyer, resale.buyer_income_pct_ami
    if typed is None or buyer.kind == PartyKind.TRUST or resale.contract_on is None:
        return None
    income, size = buyer.annual_income, buyer.household_size
    if income is None or not size:
        return None
    median = area_median(size, resale.contract_on.year)
    if median is None:
        return None
    recorded = (income * 100 / median.annual).quantize(Decimal("0.1"))
    if abs(recorded - typed) <= AGREEMENT_POINTS:
        return None
    persons = f"{size} person{'s' if size != 1 else ''}"
    how = f"; {median.basis}" if median.basis else ""
    return (
        f"The resale of {resale.lease.reference} gives the buyer's income as {typed}% of area "
        f"median income, but {buyer}'s recorded income, {format_money(income)} for {persons}, "
        f"is {recorded}% of the {median.year} area median income for {persons} "
        f"({format_money(median.annual)}, from {median.series}{how}). Check which is right: "
        "correct “Buyer income pct ami” on the resale, or the income and household size on "
        "the party's page."
    )
