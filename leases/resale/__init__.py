"""The resale formula engine: pure Python, exact Decimal money, no Django and no database.

A formula (stored on a ground lease in its JSON form) and the facts of one sale give the
maximum resale price with every intermediate line, as CLTs set it out on paper::

    formula = parse_formula({"type": "appraisal_share", "share": "0.25", "share_of": "increase"})
    result = formula.evaluate(parse_inputs({...}))
    print(render_text(result))

Families, one module each: appraisal (appraisal share; appraised value), time_vested, index,
fixed_rate, itemized, mortgage; compose adds caps, credits, deductions and allowances in order.
The JSON forms are described in docs/resale-formulas.md.

Rounding rule: intermediates are computed with Decimal at 50 significant digits; each displayed
money line is rounded to the cent, ROUND_HALF_UP; the price is the sum of the displayed lines,
so the paper always adds up. A formula with ``"round_to": "dollar"`` then rounds its price to
the whole dollar, ROUND_HALF_UP, shown as a line of its own ("Rounded to the nearest dollar").
A price is never below $0.00: a negative total (repairs larger than the price) is raised to
zero on a line of its own ("No lower than $0.00"), before any rounding.

Numbers in JSON may be strings or JSON numbers; a JSON number is read through its text form
(``Decimal(str(x))``), so 0.1 stays exactly 0.1. Python callers pass Decimal (or int): a float is
refused. Every error is a FormulaError (a ValueError) whose message starts with the field.
"""

from leases.resale.appraisal import AppraisalShare, AppraisedValue
from leases.resale.base import FORMULA_TYPES, STEP_TYPES, Formula, Step
from leases.resale.compose import (
    Composed,
    ImprovementCredit,
    LesserOf,
    RepairDeduction,
    SellingAllowance,
)
from leases.resale.dates import Held, completed_months, held_between
from leases.resale.errors import FormulaError, MissingIndexValue, MissingInput
from leases.resale.fixed_rate import FixedRate
from leases.resale.index import IndexFormula
from leases.resale.inputs import Improvement, IndexPoints, Repair, SaleInputs
from leases.resale.itemized import Itemized
from leases.resale.jsonform import formula_to_json, inputs_to_json, parse_formula, parse_inputs
from leases.resale.mortgage import MortgageBased
from leases.resale.render import render_text
from leases.resale.result import FormulaResult, Line, LineKind
from leases.resale.time_vested import TimeVestedAppraisalShare

__all__ = [
    "FORMULA_TYPES",
    "STEP_TYPES",
    "AppraisalShare",
    "AppraisedValue",
    "Composed",
    "FixedRate",
    "Formula",
    "FormulaError",
    "FormulaResult",
    "Held",
    "Improvement",
    "ImprovementCredit",
    "IndexFormula",
    "IndexPoints",
    "Itemized",
    "LesserOf",
    "Line",
    "LineKind",
    "MissingIndexValue",
    "MissingInput",
    "MortgageBased",
    "Repair",
    "RepairDeduction",
    "SaleInputs",
    "SellingAllowance",
    "Step",
    "TimeVestedAppraisalShare",
    "completed_months",
    "formula_to_json",
    "held_between",
    "inputs_to_json",
    "parse_formula",
    "parse_inputs",
    "render_text",
]
