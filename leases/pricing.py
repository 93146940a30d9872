"""A lease's maximum resale price on a date: its formula in force on that date (an amendment
applies to the sales contracted on or after its own: `GroundLease.formula_in_force`), fed from
its own records.

The formulas (`leases.resale`) are pure and take plain values; this module is the one place
that reads a lease's records into those values, so the admin page, the CLI and any report give
the same price for the same lease and date:

* purchase price and date: the lease's (what the current lessee paid, and when);
* appraisal at purchase: the appraisal of the current lessee's purchase (`purchase_appraisal`):
  the "at purchase" appraisal nearest the purchase date, from 12 months before it (the age of
  appraisal lenders accept: Fannie Mae's Selling Guide B4-1.2-02) to 90 days after it, never
  one dated after the sale (the next buyer's lender appraisal is also "at purchase", and is not
  the seller's); else the latest appraisal of any purpose from 12 months before the purchase to
  the purchase date; an earlier owner's never counts. None on record: formulas that need one
  say the input is missing;
* appraisal at resale: the value given by the caller, else the latest other appraisal after
  the purchase date and on or before the sale date. None: formulas that need one say so; one
  more than 12 months before the sale (the same age rule) is not used either, and formulas that
  need it say it is too old (the inputs' `unavailable`), rather than pricing on it;
* where each figure came from (the inputs' `sources`, printed on its line): an appraisal's date
  and appraiser, an index value's source, the HUD limit's year and source;
* capital improvements: those the trust approved by the sale date, at their cost, with the
  credit recorded by staff as the value they added. One approved before the purchase date (an
  earlier owner's, paid for in the current owner's price) is noted as not credited;
* repairs: the deductions assessed during the current owner's tenure;
* index tables: every series the formula names, from the published values on record;
* the lease fee: the fee in force on the sale date (the latest fee change by then);
* a mortgage-based formula's target income: the HUD income limit for its household size and
  percent of median, from the loaded HUD income-limit table of the latest year up to the sale
  (the limits in effect), never computed from the median. A household over 8 persons, which
  HUD's tables do not list, gets HUD's rule on that year's 4- and 8-person limits, shown on a
  line of its own (`leases.resale.income_limits`).

* taxes and insurance (mortgage-based formulas): the monthly figures on the lease; a lease
  without them says they are missing.

An itemized formula's principal paid, closing costs and net proceeds are not on record (they
come from the seller's mortgage and the closing), so such formulas say they are missing unless
the caller gives them.

Errors in the formula or missing inputs raise `leases.resale.FormulaError`, naming the field.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone

from leases.models import Appraisal, AppraisalPurpose, GroundLease, IndexKind, IndexValue
from leases.resale import (
    FormulaError,
    FormulaResult,
    Improvement,
    MissingInput,
    Repair,
    SaleInputs,
    parse_formula,
)
from leases.resale.income_limits import (
    BASE_SIZE,
    LARGEST_LISTED,
    IncomeLimit,
    larger_household_limit,
    sizes_read,
)
from leases.resale.index import latest_key, period_key
from leases.resale.inputs import IndexKey, IndexTable, key_text
from leases.resale.money import format_money

# The sale inputs the registry does not keep (the seller's mortgage and the closing): a caller
# gives them. Every other input of a lease's sale comes from its records (`sale_inputs`).
NOT_ON_RECORD = ("principal_paid", "seller_closing_costs", "seller_net_proceeds")


def max_resale_price(
    lease: GroundLease, *, on: dt.date | None = None, appraisal: Decimal | None = None
) -> FormulaResult:
    """The maximum resale price of `lease` for a sale on `on` (today), with every line.

    `appraisal` prices against that value at resale instead of the latest one on record (a
    what-if, or an appraisal not entered yet).
    """
    return priced_sale(lease, on=on, appraisal=appraisal)[0]


def priced_sale(
    lease: GroundLease, *, on: dt.date | None = None, appraisal: Decimal | None = None
) -> tuple[FormulaResult, SaleInputs]:
    """`max_resale_price` with the inputs it priced from (the appraisal on record it used, for
    a resale to keep beside its price)."""
    on = on or timezone.localdate()
    in_force = lease.formula_in_force(on).formula  # the one of the contract date
    inputs = sale_inputs(lease, on=on, appraisal=appraisal, formula=in_force)
    return parse_formula(in_force).evaluate(inputs), inputs


def not_on_record_needed(lease: GroundLease, *, on: dt.date) -> tuple[str, ...]:
    """Which inputs the registry does not keep (`NOT_ON_RECORD`) `lease`'s formula needs for a
    sale on `on`: all of them, in the order it reads them, not only the first it finds missing.

    The formula is run again with a stand-in for each one it asks for, until it asks for no
    more or fails on something else (which `max_resale_price` reports).
    """
    in_force = lease.formula_in_force(on).formula
    formula = parse_formula(in_force)
    inputs = sale_inputs(lease, on=on, formula=in_force)
    needed: list[str] = []
    while True:
        try:
            formula.evaluate(inputs)
        except MissingInput as exc:
            if exc.field in NOT_ON_RECORD and exc.field not in needed:
                needed.append(exc.field)
                inputs = dataclasses.replace(inputs, **{exc.field: Decimal(0)})
                continue
        except (ValueError, ArithmeticError):
            pass
        return tuple(needed)


def sale_inputs(
    lease: GroundLease, *, on: dt.date, appraisal: Decimal | None = None, formula: Any = None
) -> SaleInputs:
    """The facts of a sale of `lease`'s home on `on`, as the formulas read them. `formula` is
    the lease's formula in force on `on` (its JSON form), for a caller that has it already."""
    if on < lease.purchase_date:
        raise FormulaError(
            "sale_date",
            f"{on.isoformat()} is before the purchase on {lease.purchase_date.isoformat()}",
        )
    if formula is None:
        formula = lease.formula_in_force(on).formula  # an amendment applies from its date
    appraisals, sources, unavailable = appraisal_inputs(lease, on, appraisal)
    sources |= index_sources(formula, lease.purchase_date, on)
    income_limit = target_income(formula, on)
    if income_limit is not None and income_limit.source:
        sources["target_income_annual"] = income_limit.source
    return SaleInputs(
        purchase_price=lease.purchase_price,
        purchase_date=lease.purchase_date,
        sale_date=on,
        **appraisals,
        indexes=index_tables(series_named(formula)),
        # Those approved before the purchase too: the formula notes them as not credited.
        improvements=tuple(
            Improvement(
                description=each.description,
                cost=each.cost,
                completed_on=each.completed_on,
                value_added=each.credit,
                approved_on=each.approved_on,
            )
            for each in lease.improvements.filter(approved_on__lte=on).order_by("approved_on")
        ),
        repairs=tuple(
            Repair(description=each.description, amount=each.amount)
            for each in lease.repairs.filter(
                assessed_on__gte=lease.purchase_date, assessed_on__lte=on
            ).order_by("assessed_on")
        ),
        lease_fee_monthly=fee_on(lease, on),
        taxes_monthly=lease.taxes_monthly,
        insurance_monthly=lease.insurance_monthly,
        **target_income_inputs(income_limit),
        sources=sources or None,
        unavailable=unavailable or None,
    )


# How old an appraisal may be and still value the home (Fannie Mae's 12 months): at the
# purchase, for the appraisal at purchase; at the sale, for the appraisal at resale.
APPRAISAL_VALID_MONTHS = 12
# How long after the purchase an appraisal "at purchase" may be dated and still be that
# purchase's: the lender orders it before the closing, but the report (or its entry here) may be
# dated a few weeks after. 90 days takes that in; the next buyer's lender appraisal, years on, is
# another purchase's, and one dated after the sale is never the seller's.
PURCHASE_APPRAISAL_DAYS_AFTER = 90


def appraisal_inputs(
    lease: GroundLease, on: dt.date, given: Decimal | None
) -> tuple[dict[str, Decimal | None], dict[str, str], dict[str, str]]:
    """The appraisals of a sale of `lease` on `on` as sale inputs, where each came from
    (`sources`), and why the one at resale is not given when the latest on record is too old
    (`unavailable`). `given` (the caller's value at resale) replaces the record's."""
    bought = purchase_appraisal(lease, on)
    values = {
        "appraisal_at_purchase": bought.value if bought else None,
        "appraisal_at_resale": given,
    }
    sources: dict[str, str] = {}
    if bought is not None:
        sources["appraisal_at_purchase"] = describe_appraisal(bought, AppraisalPurpose.PURCHASE)
    unavailable: dict[str, str] = {}
    latest = latest_appraisal_since_purchase(lease, on) if given is None else None
    if latest is not None and latest.on < appraisal_valid_from(on, "sale_date"):
        unavailable["appraisal_at_resale"] = (
            f"the latest appraisal since the purchase, on {latest.on.isoformat()} "
            f"({describe_appraisal(latest, AppraisalPurpose.RESALE, dated=False)}), is more than "
            f"{APPRAISAL_VALID_MONTHS} months before the sale on {on.isoformat()}, too old to "
            "value the home at the sale"
        )
    elif latest is not None:
        values["appraisal_at_resale"] = latest.value
        sources["appraisal_at_resale"] = describe_appraisal(latest, AppraisalPurpose.RESALE)
    return values, sources, unavailable


def purchase_appraisal(lease: GroundLease, on: dt.date) -> Appraisal | None:
    """The appraisal of the current lessee's purchase, for a sale on `on`, if one is on record.

    The lease's purchase date is the current lessee's (a closing moves it to the buyer's:
    `leases.actions.lease_take_purchase`), so the seller's own purchase is the one appraised.
    An appraisal "at purchase" counts from 12 months before the purchase date (the age lenders
    accept: Fannie Mae's Selling Guide B4-1.2-02) to `PURCHASE_APPRAISAL_DAYS_AFTER` days after
    it, and never after the sale on `on`; of those, the one nearest the purchase date (one
    before it on a tie: appraisals are ordered before the closing). The next buyer's lender
    appraisal, also "at purchase", is another purchase's: the latest one is not the seller's.
    With none, the latest appraisal of any purpose from 12 months before the purchase to the
    purchase date. An earlier owner's appraisal never counts.
    """
    earliest = appraisal_valid_from(lease.purchase_date, "purchase_date")
    latest = min(lease.purchase_date + dt.timedelta(days=PURCHASE_APPRAISAL_DAYS_AFTER), on)
    made_for_it = lease.appraisals.filter(
        purpose=AppraisalPurpose.PURCHASE, on__gte=earliest, on__lte=latest
    )
    if made_for_it:
        return min(made_for_it, key=lambda a: (distance_days(a.on, lease.purchase_date), -a.pk))
    return (
        lease.appraisals.filter(on__gte=earliest, on__lte=lease.purchase_date)
        .order_by("-on", "-pk")
        .first()
    )


def distance_days(on: dt.date, purchase_date: dt.date) -> tuple[int, bool]:
    """How far `on` is from the purchase date, in days, an appraisal after it last on a tie."""
    return abs((on - purchase_date).days), on > purchase_date


def appraisal_valid_from(on: dt.date, field: str) -> dt.date:
    """The earliest date an appraisal may bear and still value the home on `on` (12 months)."""
    try:
        return months_before(on, APPRAISAL_VALID_MONTHS)
    except ValueError:  # before year 1: no calendar date to look back to
        raise FormulaError(
            field,
            f"{on.isoformat()} is too early to look back {APPRAISAL_VALID_MONTHS} months for "
            "its appraisal (the calendar starts in year 1); check the "
            + ("lease's purchase date" if field == "purchase_date" else "sale date"),
        ) from None


def months_before(on: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, or the month's last day if it has no such day."""
    year, month_index = divmod(on.year * 12 + on.month - 1 - months, 12)
    month = month_index + 1
    return dt.date(year, month, min(on.day, calendar.monthrange(year, month)[1]))


def latest_appraisal_since_purchase(lease: GroundLease, on: dt.date) -> Appraisal | None:
    """The latest appraisal after the purchase date, on or before `on`, not one made for a
    purchase (the next buyer's), however old: the caller checks its age."""
    return (
        lease.appraisals.filter(on__gt=lease.purchase_date, on__lte=on)
        .exclude(purpose=AppraisalPurpose.PURCHASE)
        .order_by("-on", "-pk")
        .first()
    )


def describe_appraisal(appraisal: Appraisal, made_for: str, *, dated: bool = True) -> str:
    """Where an appraised value came from, for the household and the board to check: its
    date, its appraiser, and its purpose when it was not made for this (`made_for`):
    "2018-04-20, Smith Appraisals"; "2026-04-14, Capitol City Valuations, purpose Refinance"."""
    parts = [appraisal.on.isoformat()] if dated else [format_money(appraisal.value)]
    if appraisal.appraiser.strip():
        parts.append(appraisal.appraiser.strip())
    if appraisal.purpose != made_for:
        parts.append(f"purpose “{appraisal.get_purpose_display()}”")
    return ", ".join(parts)


def fee_on(lease: GroundLease, on: dt.date) -> Decimal:
    """The monthly lease fee in force on `on`."""
    change = lease.fee_changes.filter(effective_on__lte=on).order_by("-effective_on", "-pk").first()
    return change.fee_monthly if change else lease.fee_monthly


def series_named(formula: Any) -> set[str]:
    """The index series a formula's JSON form names (`"series": ...`), at any depth."""
    return {node["series"] for node in _nodes(formula) if isinstance(node.get("series"), str)}


def index_periods_read(
    formula: Any, series: str, on: dt.date, keys: set[IndexKey] | None = None
) -> set[IndexKey]:
    """The periods of `series` a formula's index parts read for the date `on` (its year, or
    its (year, month) for a monthly part). Each part reads the purchase date and the sale date.
    A part reading the latest value (`"read": "latest"`) reads, when `on`'s period is not among
    `keys` (the series' periods on record), the latest of them before it."""
    read: set[IndexKey] = set()
    for node in _nodes(formula):
        if node.get("type") != "index" or node.get("series") != series:
            continue
        key = period_key(on, node.get("period", "year"))
        if node.get("read") == "latest" and keys is not None and key not in keys:
            key = latest_key(keys, key) or key
        read.add(key)
    return read


def index_tables(names: set[str]) -> dict[str, IndexTable]:
    """The published tables of the series `names`: {year or (year, month): value}.

    Income-limit rows (by household size or percent of median) are not index points and are
    left out; a series with no values on record is left out, so the formula names what is
    missing.
    """
    tables: dict[str, dict] = {}
    rows = IndexValue.objects.filter(
        series__name__in=names, household_size__isnull=True, percent_of_median__isnull=True
    ).values_list("series__name", "year", "month", "value")
    for name, year, month, value in rows:
        tables.setdefault(name, {})[year if month is None else (year, month)] = value
    return tables


def index_sources(formula: Any, purchase_date: dt.date, on: dt.date) -> dict[str, str]:
    """Where the index values a formula reads for a sale on `on` came from, by series, as the
    sale inputs' sources name them ({"indexes.<series>": text}): each value's own source (a
    series loaded year by year has one per load), else the series'."""
    sources: dict[str, str] = {}
    for name in sorted(series_named(formula)):
        rows = [
            (year if month is None else (year, month), source, series_source)
            for year, month, source, series_source in IndexValue.objects.filter(
                series__name=name, household_size__isnull=True, percent_of_median__isnull=True
            ).values_list("year", "month", "source", "series__source")
        ]
        keys = {key for key, _, _ in rows}
        read = index_periods_read(formula, name, purchase_date, keys)
        read |= index_periods_read(formula, name, on, keys)
        by_source: dict[str, list[IndexKey]] = {}
        for key, source, series_source in rows:
            if key in read:
                text = source.strip() or series_source.strip() or "source not recorded"
                by_source.setdefault(text, []).append(key)
        if by_source:
            sources[f"indexes.{name}"] = describe_sources(by_source)
    return sources


def describe_sources(by_source: dict[str, list[IndexKey]]) -> str:
    """One source as it is; several each with the periods it gave, in date order
    ("2019: HUD FY2019 table; 2024: HUD FY2024 table")."""
    if len(by_source) == 1:
        return next(iter(by_source))
    periods = {text: sorted(keys, key=sort_key) for text, keys in by_source.items()}
    return "; ".join(
        f"{', '.join(key_text(key) for key in keys)}: {text}"
        for text, keys in sorted(periods.items(), key=lambda item: sort_key(item[1][0]))
    )


def sort_key(key: IndexKey) -> tuple[int, int]:
    """A year or (year, month) key in date order (a year before its months)."""
    return (key, 0) if isinstance(key, int) else key


def target_income(formula: Any, on: dt.date) -> IncomeLimit | None:
    """The HUD income limit a mortgage-based formula targets, for a sale on `on`.

    None when the formula names no target household (no mortgage-based part, or one without
    `percent_of_median` and `household_size`): the engine then says the income is missing.
    A household over 8 persons, which HUD's tables do not list, gets the limit HUD's rule
    derives from the same year's 4- and 8-person limits (`larger_household_limit`).
    """
    target = income_limit_target(formula)
    return None if target is None else hud_income_limit(*target, on)


def hud_income_limit(percent: int, size: int, on: dt.date) -> IncomeLimit:
    """HUD's income limit at `percent` of median for a household of `size`, in the latest table
    loaded for the year of `on` or before, with the table's year and source; a FormulaError
    saying what to load when there is none. The one lookup: the formulas, their lines and the
    resale's buyer income warning all read it."""
    rows = IndexValue.objects.filter(
        series__kind=IndexKind.HUD_INCOME_LIMIT,
        household_size__in={size, *sizes_read(size)},
        percent_of_median=percent,
        year__lte=on.year,
    ).select_related("series").order_by("-year", "-month")
    latest = rows.first()
    if latest is None:
        load_both = "; load HUD's table with both"
        raise FormulaError(
            "target_income_annual",
            f"no HUD income limit is loaded for {percent}% of median, {size} persons, "
            f"in {on.year} or before{larger_household_hint(size, load_both)}",
        )
    series = set(rows.filter(year=latest.year).values_list("series__name", flat=True))
    if len(series) > 1:
        raise FormulaError(
            "target_income_annual",
            f"{len(series)} HUD income-limit tables give {latest.year} limits for "
            f"{percent}% of median, {size} persons ({', '.join(sorted(series))}); "
            "keep the one for the trust's area",
        )
    limits = dict(rows.filter(year=latest.year).values_list("household_size", "value"))
    source = f"{latest.year} ({_source_of(latest)})"
    if size in limits:
        return IncomeLimit(limits[size].quantize(Decimal("0.01")), source=source)
    missing = [f"{each}-person" for each in (BASE_SIZE, LARGEST_LISTED) if each not in limits]
    if missing:
        raise FormulaError(
            "target_income_annual",
            f"no HUD income limit is loaded for {percent}% of median, {size} persons, in "
            f"{on.year} or before{larger_household_hint(size, '')}; the {latest.year} table has "
            f"no {' or '.join(missing)} limit: load HUD's full table for {latest.year}",
        )
    derived = larger_household_limit(
        size, four_person=limits[BASE_SIZE], eight_person=limits[LARGEST_LISTED]
    )
    return dataclasses.replace(derived, source=source)


def _source_of(value: IndexValue) -> str:
    """Where an index value came from: its own source, else its series', else said missing."""
    return value.source.strip() or value.series.source.strip() or "source not recorded"


def larger_household_hint(size: int, then: str) -> str:
    """How a household over 8 persons gets its limit, and `then` what to load, for the error
    saying it has none; nothing for a household HUD's tables list."""
    if size <= LARGEST_LISTED:
        return ""
    return (
        f": HUD's tables list 1 to {LARGEST_LISTED} persons, and a larger household's limit is "
        f"derived from one year's {BASE_SIZE}- and {LARGEST_LISTED}-person limits{then}"
    )


def target_income_inputs(limit: IncomeLimit | None) -> dict[str, Any]:
    """The sale inputs a target income limit gives: the income, and how it was derived."""
    if limit is None:
        return {"target_income_annual": None}
    return {"target_income_annual": limit.annual, "target_income_basis": limit.basis}


def income_limit_target(formula: Any) -> tuple[int, int] | None:
    """The (percent of median, household size) of the HUD income limit a mortgage-based formula
    targets; None when it names none (the first mortgage-based part that names both counts)."""
    for node in _nodes(formula):
        if node.get("type") != "mortgage_based":
            continue
        percent, size = node.get("percent_of_median"), node.get("household_size")
        if percent is not None and size is not None:
            return percent, size
    return None


def _nodes(node: Any) -> Iterator[dict]:
    """Every JSON object in a formula's JSON form, the formula itself first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)
