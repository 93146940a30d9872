"""Exact money: the arithmetic context, the rounding rule and how amounts are written.

The rounding rule (stated once, here and in docs/resale-formulas.md): intermediates are computed
with Decimal at 50 significant digits; each displayed money line is rounded to the cent,
ROUND_HALF_UP; the price is the sum of the displayed lines. A formula with
``"round_to": "dollar"`` then rounds its price to the whole dollar, ROUND_HALF_UP, shown as a line
of its own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from leases.resale.errors import FormulaError

# 50 digits: every product of prices and rates in a lease is exact; only divisions and negative
# powers (annuity factors) are inexact, and their error is some 40 orders below a cent.
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)

CENT = Decimal("0.01")
DOLLAR = Decimal("1")
ZERO = Decimal("0.00")
ROUNDING_UNITS = {"cent": CENT, "dollar": DOLLAR}


def to_cent(amount: Decimal) -> Decimal:
    """The amount as displayed on a line: rounded to the cent, half up."""
    return quantized(amount, CENT)


def to_unit(amount: Decimal, round_to: str) -> Decimal:
    """The amount rounded half up to the unit `round_to` names ("cent" or "dollar"), in cents."""
    return quantized(quantized(amount, ROUNDING_UNITS[round_to]), CENT)


def quantized(amount: Decimal, unit: Decimal) -> Decimal:
    """The amount rounded half up to `unit`; an amount with more whole digits than the context
    holds (a rate compounded over centuries) is an error, not a crash."""
    try:
        return amount.quantize(unit, rounding=ROUND_HALF_UP, context=CONTEXT)
    except InvalidOperation:
        raise FormulaError(
            "price",
            f"the price is too large to compute (over {CONTEXT.prec - 2} digits of dollars); "
            "check the formula's rates and the purchase date and price",
        ) from None


def format_money(amount: Decimal) -> str:
    """The amount written as on paper: "$281,250.00", "-$1,200.50"."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(to_cent(amount)):,.2f}"


def format_rate(rate: Decimal) -> str:
    """A fraction written as a percentage without trailing zeros: 0.015 -> "1.5%"."""
    percent = (rate * 100).normalize(CONTEXT)
    return f"{percent:f}%"


def format_number(value: Decimal) -> str:
    """An index value or factor written plainly, without exponent or trailing zeros."""
    return f"{value.normalize(CONTEXT):,f}"


RATIO_PLACES = 4  # how many decimals a ratio shows on a line


def format_ratio(numerator: Decimal, denominator: Decimal) -> str:
    """The ratio numerator ÷ denominator as a line shows it: exactly when it has at most four
    decimals ("1.1"), else the division itself and its value to four ("77,400 ÷ 68,300 ≈
    1.1332"). The amount on the line uses the exact ratio, so a reader redoing it from the
    division gets the line's amount to the cent; from four decimals, they might not."""
    ratio = CONTEXT.divide(numerator, denominator)
    division = f"{format_number(numerator)} ÷ {format_number(denominator)}"
    try:
        shown = ratio.quantize(
            Decimal(1).scaleb(-RATIO_PLACES), rounding=ROUND_HALF_UP, context=CONTEXT
        )
    except InvalidOperation:  # more whole digits than the context holds: the division only
        return division
    if shown == ratio:
        return format_number(ratio)
    return f"{division} ≈ {shown:,f}"

