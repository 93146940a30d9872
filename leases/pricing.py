"""A lease's maximum resale price on a date: its stored formula, fed from its own records.

The formulas (`leases.resale`) are pure and take plain values; this module is the one place
that reads a lease's records into those values, so the admin page, the CLI and any report give
the same price for the same lease and date:

* purchase price and date: the lease's (what the current lessee paid, and when);
* appraisal at purchase: an appraisal of the current lessee's purchase. One counts only if it
  is dated within the 12 months before the purchase date (the age of appraisal lenders accept:
  Fannie Mae's Selling Guide B4-1.2-02 wants one no older than 12 months), or, for an
  appraisal with purpose "at purchase", after the purchase and on or before the sale date.
  The latest "at purchase" appraisal in that span is used, else the latest appraisal of any
  purpose from 12 months before the purchase to the purchase date; an earlier owner's
  appraisal never counts. None on record: formulas that need one say the input is missing;
* appraisal at resale: the value given by the caller, else the latest other appraisal after
  the purchase date and on or before the sale date (none: formulas that need one say so);
* capital improvements: those the trust approved during the current owner's tenure (from the
  purchase date to the sale date), at their cost, with the credit recorded by staff as the
  value they added. An earlier owner's improvement was paid for in the current owner's price;
* repairs: the deductions assessed during the current owner's tenure;
* index tables: every series the formula names, from the published values on record;
* the lease fee: the fee in force on the sale date (the latest fee change by then);
* a mortgage-based formula's target income: the HUD income limit for its household size and
  percent of median, from the loaded HUD income-limit table of the latest year up to the sale
  (the limits in effect), never computed from the median.

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
from leases.resale.inputs import IndexKey, IndexTable

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
    on = on or timezone.localdate()
    formula = parse_formula(lease.resale_formula)
    return formula.evaluate(sale_inputs(lease, on=on, appraisal=appraisal))


def not_on_record_needed(lease: GroundLease, *, on: dt.date) -> tuple[str, ...]:
    """Which inputs the registry does not keep (`NOT_ON_RECORD`) `lease`'s formula needs for a
    sale on `on`: all of them, in the order it reads them, not only the first it finds missing.

    The formula is run again with a stand-in for each one it asks for, until it asks for no
    more or fails on something else (which `max_resale_price` reports).
    """
    formula = parse_formula(lease.resale_formula)
    inputs = sale_inputs(lease, on=on)
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


def sale_inputs(lease: GroundLease, *, on: dt.date, appraisal: Decimal | None = None) -> SaleInputs:
    """The facts of a sale of `lease`'s home on `on`, as the formulas read them."""
    if on < lease.purchase_date:
        raise FormulaError(
            "sale_date",
            f"{on.isoformat()} is before the purchase on {lease.purchase_date.isoformat()}",
        )
    return SaleInputs(
        purchase_price=lease.purchase_price,
        purchase_date=lease.purchase_date,
        sale_date=on,
        appraisal_at_purchase=appraisal_at_purchase(lease, on),
        appraisal_at_resale=appraisal if appraisal is not None else appraisal_at_resale(lease, on),
        indexes=index_tables(series_named(lease.resale_formula)),
        improvements=tuple(
            Improvement(
                description=each.description,
                cost=each.cost,
                completed_on=each.completed_on,
                value_added=each.credit,
            )
            for each in lease.improvements.filter(
                approved_on__gte=lease.purchase_date, approved_on__lte=on
            ).order_by("approved_on")
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
        target_income_annual=target_income(lease.resale_formula, on),
    )


# How old an appraisal may be at the purchase and still value it (Fannie Mae's 12 months).
APPRAISAL_VALID_MONTHS = 12


def appraisal_at_purchase(lease: GroundLease, on: dt.date) -> Decimal | None:
    """The value of the home when the current lessee bought it, if appraised for that purchase.

    The rule is the module's: within the 12 months before the purchase date (or after it, up to
    the sale on `on`, for an appraisal made "at purchase"); purpose "at purchase" first.
    """
    try:
        earliest = months_before(lease.purchase_date, APPRAISAL_VALID_MONTHS)
    except ValueError:  # before year 1: no calendar date to look back to
        raise FormulaError(
            "purchase_date",
            f"{lease.purchase_date.isoformat()} is too early to look back "
            f"{APPRAISAL_VALID_MONTHS} months for its appraisal (the calendar starts in year "
            "1); check the lease's purchase date",
        ) from None
    known = lease.appraisals.filter(on__gte=earliest).order_by("-on", "-pk")
    found = known.filter(purpose=AppraisalPurpose.PURCHASE, on__lte=on).first()
    found = found or known.filter(on__lte=lease.purchase_date).first()
    return found.value if found else None


def months_before(on: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, or the month's last day if it has no such day."""
    year, month_index = divmod(on.year * 12 + on.month - 1 - months, 12)
    month = month_index + 1
    return dt.date(year, month, min(on.day, calendar.monthrange(year, month)[1]))


def appraisal_at_resale(lease: GroundLease, on: dt.date) -> Decimal | None:
    """The latest appraisal since the purchase, on or before `on`, if any."""
    found: Appraisal | None = (
        lease.appraisals.filter(on__gt=lease.purchase_date, on__lte=on)
        .exclude(purpose=AppraisalPurpose.PURCHASE)
        .order_by("-on", "-pk")
        .first()
    )
    return found.value if found else None


def fee_on(lease: GroundLease, on: dt.date) -> Decimal:
    """The monthly lease fee in force on `on`."""
    change = lease.fee_changes.filter(effective_on__lte=on).order_by("-effective_on", "-pk").first()
    return change.fee_monthly if change else lease.fee_monthly


def series_named(formula: Any) -> set[str]:
    """The index series a formula's JSON form names (`"series": ...`), at any depth."""
    return {node["series"] for node in _nodes(formula) if isinstance(node.get("series"), str)}


def index_periods_read(formula: Any, series: str, on: dt.date) -> set[IndexKey]:
    """The periods of `series` a formula's index parts read for the date `on` (its year, or
    its (year, month) for a monthly part). Each part reads the purchase date and the sale date."""
    return {
        (on.year, on.month) if node.get("period") == "month" else on.year
        for node in _nodes(formula)
        if node.get("type") == "index" and node.get("series") == series
    }


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


def target_income(formula: Any, on: dt.date) -> Decimal | None:
    """The HUD income limit a mortgage-based formula targets, for a sale on `on`.

    None when the formula names no target household (no mortgage-based part, or one without
    `percent_of_median` and `household_size`): the engine then says the income is missing.
    """
    target = income_limit_target(formula)
    if target is None:
        return None
    percent, size = target
    rows = IndexValue.objects.filter(
        series__kind=IndexKind.HUD_INCOME_LIMIT,
        household_size=size,
        percent_of_median=percent,
        year__lte=on.year,
    ).order_by("-year", "-month")
    latest = rows.first()
    if latest is None:
        raise FormulaError(
            "target_income_annual",
            f"no HUD income limit is loaded for {percent}% of median, {size} persons, "
            f"in {on.year} or before",
        )
    series = set(rows.filter(year=latest.year).values_list("series__name", flat=True))
    if len(series) > 1:
        raise FormulaError(
            "target_income_annual",
            f"{len(series)} HUD income-limit tables give {latest.year} limits for "
            f"{percent}% of median, {size} persons ({', '.join(sorted(series))}); "
            "keep the one for the trust's area",
        )
    return latest.value.quantize(Decimal("0.01"))


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
