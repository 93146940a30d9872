"""What a formula answers: the price and every line behind it, as a CLT shows it on paper."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from leases.resale.money import CONTEXT, ZERO, format_money, to_cent, to_unit


class LineKind(StrEnum):
    """How a line takes part in the sum: items add up to the price; the others explain it."""

    ITEM = "item"  # added into the running total
    SUBTOTAL = "subtotal"  # the running total so far; a check, not added again
    NOTE = "note"  # a figure the formula used (an appraisal, a comparison), not added


@dataclass(frozen=True)
class Line:
    """One line of the calculation: "25% of the increase in appraised value  $31,250.00"."""

    label: str
    amount: Decimal
    kind: LineKind = LineKind.ITEM

    def to_dict(self) -> dict[str, str]:
        """The line in its JSON form; the amount is a string so it stays exact."""
        return {"label": self.label, "amount": f"{self.amount:f}", "kind": str(self.kind)}


@dataclass(frozen=True)
class FormulaResult:
    """A formula price with its lines; constructing one checks that the lines reconcile."""

    price: Decimal
    lines: tuple[Line, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        problem = reconciliation_problem(self.price, self.lines)
        if problem:
            raise ValueError(f"the lines do not reconcile to the price: {problem}")

    def to_dict(self) -> dict[str, object]:
        """The result in its JSON form: the price and the lines, amounts as exact strings."""
        return {"price": f"{self.price:f}", "lines": [line.to_dict() for line in self.lines]}


def reconciliation_problem(price: Decimal, lines: tuple[Line, ...]) -> str | None:
    """What is wrong with the sum of `lines` against `price`, or None when they reconcile."""
    running = Decimal(0)
    for line in (*lines, Line("Price", price, LineKind.SUBTOTAL)):
        if to_cent(line.amount) != line.amount:
            return f"{line.label!r} is {line.amount}, not a whole number of cents"
        if line.kind is LineKind.SUBTOTAL and line.amount != running:
            return f"{line.label!r} is {line.amount} but the items above it add up to {running}"
        if line.kind is LineKind.ITEM:
            running = CONTEXT.add(running, line.amount)
    return None


class Ledger:
    """Writes a formula's lines in order, rounding each to the cent and keeping the total."""

    def __init__(self) -> None:
        self._lines: list[Line] = []
        self.total = ZERO

    def item(self, label: str, amount: Decimal) -> Decimal:
        """Add an item line of `amount` rounded to the cent; answers the rounded amount."""
        rounded = to_cent(amount)
        self._lines.append(Line(label, rounded, LineKind.ITEM))
        self.total = CONTEXT.add(self.total, rounded)
        return rounded

    def note(self, label: str, amount: Decimal) -> Decimal:
        """Add a note line (not summed); answers the rounded amount."""
        rounded = to_cent(amount)
        self._lines.append(Line(label, rounded, LineKind.NOTE))
        return rounded

    def subtotal(self, label: str) -> Decimal:
        """Add a subtotal line showing the total so far; answers it."""
        self._lines.append(Line(label, self.total, LineKind.SUBTOTAL))
        return self.total

    def include(self, result: FormulaResult) -> None:
        """Carry another result's lines and price into this ledger (a composed formula's base)."""
        self._lines.extend(result.lines)
        self.total = CONTEXT.add(self.total, result.price)

    def include_as_notes(self, result: FormulaResult, prefix: str) -> None:
        """Show another result's lines as notes only (a comparison that is not summed)."""
        for line in result.lines:
            self._lines.append(Line(f"{prefix}{line.label}", line.amount, LineKind.NOTE))

    def finish(self, round_to: str = "cent") -> FormulaResult:
        """The result: the total, never below $0.00 (a line raises a negative total to zero:
        repairs larger than the price leave nothing to pay, not a debt), then rounded to the
        dollar on a line of its own if asked."""
        if self.total < 0:
            self.item(f"No lower than {format_money(ZERO)}", -self.total)
        rounded = to_unit(self.total, round_to)
        if rounded != self.total:
            self.item("Rounded to the nearest dollar", rounded - self.total)
        return FormulaResult(price=self.total, lines=tuple(self._lines))
