"""What every formula and every addition is: a frozen, checked set of parameters that knows
its JSON type name and how to write its lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import localcontext
from typing import TYPE_CHECKING, ClassVar

from leases.resale.fields import Kind, check_params, param
from leases.resale.money import CONTEXT
from leases.resale.result import FormulaResult, Ledger

if TYPE_CHECKING:
    from leases.resale.inputs import SaleInputs

FORMULA_TYPES: dict[str, type[Formula]] = {}
STEP_TYPES: dict[str, type[Step]] = {}


@dataclass(frozen=True, kw_only=True)
class Checked:
    """A record whose declared parameters are checked (and normalised) when it is built."""

    described_as: ClassVar[str] = "this object"  # how errors name a record without a "type"

    def __post_init__(self) -> None:
        check_params(self)
        self.check()

    def check(self) -> None:
        """Rules that tie parameters together; each family adds its own."""

    @classmethod
    def json_name(cls) -> str:
        """What the record is called in error messages: its JSON "type", or its description."""
        return getattr(cls, "type", None) or cls.described_as


@dataclass(frozen=True, kw_only=True)
class Formula(Checked):
    """A resale formula: given the sale's inputs, the maximum resale price and its lines."""

    type: ClassVar[str]
    title: ClassVar[str]
    round_to: str = param(Kind.CHOICE, default="cent", choices=("cent", "dollar"))

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            FORMULA_TYPES[cls.type] = cls

    def evaluate(self, inputs: SaleInputs) -> FormulaResult:
        """The formula price for this sale, with every intermediate line."""
        with localcontext(CONTEXT):
            ledger = Ledger()
            self.write(ledger, inputs)
            return ledger.finish(self.round_to)

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write this formula's lines into `ledger`."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Step(Checked):
    """An addition applied to a running subtotal: a cap, a credit, a deduction, an allowance."""

    type: ClassVar[str]
    summary: ClassVar[str]  # "capital-improvement credits": names the subtotal after the step

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            STEP_TYPES[cls.type] = cls

    def write(self, ledger: Ledger, inputs: SaleInputs) -> None:
        """Write this step's lines into `ledger`, after the subtotal it applies to."""
        raise NotImplementedError
