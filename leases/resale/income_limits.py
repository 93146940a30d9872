"""HUD income limits for households larger than HUD's tables list: more than eight persons.

HUD publishes each income limit for households of 1 to 8 persons only. For a larger household
the limit is derived from the table's 4- and 8-person limits, by the rule HUD gives with its
tables ("Income limits for families with more than eight persons are not included in the
printed lists because of space limitations. For each person in excess of eight, the
four-person income limit should be multiplied by an additional 8 percent"), which the FHWA's
Uniform Act FAQ on HUD's low-income limits sets out as: "8% of the low income limit for a 4
person family should be added to the low income limit for an 8 person family for each family
member in excess of 8 persons", with the worked example Mobile, AL, FY 2010: 10 persons =
$53,350 + 16% of $40,400 = $59,814, rounded to $59,800
(https://www.fhwa.dot.gov/real_estate/uniform_act/policy_and_guidance/low_income_calculations/ualicfaq.cfm).

Rounding: both say the limit for nine or more persons is rounded "to the nearest $50" (or left
unrounded, at the agency's discretion). The trust rounds, to the nearest $50, half up: HUD's
own table figures are whole multiples of $50, and the example's $59,814 becomes $59,800 (not
$59,850: nearest, not up).

Pure Python, like the formulas: the caller reads the two limits from the loaded HUD table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from leases.resale.money import CONTEXT, format_money, format_rate, to_cent

LARGEST_LISTED = 8  # HUD's tables list households of 1 to 8 persons
BASE_SIZE = 4  # the four-person limit is HUD's base for every household size
SHARE_PER_PERSON = Decimal("0.08")  # of the four-person limit, for each person over eight
ROUNDING_UNIT = Decimal(50)  # limits for nine or more persons: to the nearest $50


@dataclass(frozen=True)
class IncomeLimit:
    """A household's HUD income limit a year; `basis` says how it was derived when HUD's table
    does not list the household (None: the table's own figure)."""

    annual: Decimal
    basis: str | None = None
    source: str | None = None  # the table's year and where it came from: "2024 (HUD FY2024 ...)"


def sizes_read(household_size: int) -> tuple[int, ...]:
    """The household sizes of HUD's table whose limits give `household_size`'s limit: its own,
    or, over eight persons, the 4- and 8-person limits."""
    if household_size <= LARGEST_LISTED:
        return (household_size,)
    return (BASE_SIZE, LARGEST_LISTED)


def larger_household_limit(
    household_size: int, *, four_person: Decimal, eight_person: Decimal
) -> IncomeLimit:
    """The limit of a household over eight persons: the 8-person limit plus 8% of the 4-person
    limit for each person over eight, rounded to the nearest $50 (HUD), with the line that
    shows the sum so a household can redo it."""
    over = household_size - LARGEST_LISTED
    if over < 1:
        raise ValueError(
            f"household_size: {household_size} persons is in HUD's table; read its limit there"
        )
    share = SHARE_PER_PERSON * over
    added = to_cent(CONTEXT.multiply(four_person, share))
    unrounded = eight_person + added
    units = CONTEXT.divide(unrounded, ROUNDING_UNIT).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    annual = to_cent(units * ROUNDING_UNIT)
    times = f"{over} × " if over > 1 else ""
    basis = (
        f"{household_size} persons: 8-person limit + 8% of the 4-person limit for each person "
        f"over 8 (HUD): {format_money(eight_person)} + {times}{format_rate(SHARE_PER_PERSON)} × "
        f"{format_money(four_person)} = {format_money(unrounded)}, "
        f"to the nearest {format_money(ROUNDING_UNIT).removesuffix('.00')}"
    )
    return IncomeLimit(annual=annual, basis=basis)
