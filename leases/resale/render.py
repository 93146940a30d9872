"""The result as a plain-text table, the way a CLT sets out a resale calculation on paper."""

from __future__ import annotations

from leases.resale.money import format_money
from leases.resale.result import FormulaResult, Line, LineKind

PRICE_LABEL = "Maximum resale price"


def render_text(result: FormulaResult, title: str | None = None) -> str:
    """The result as a table of labels and amounts; notes are indented, subtotals ruled off."""
    rows = [(row_label(line), format_money(line.amount), line.kind) for line in result.lines]
    rows.append((PRICE_LABEL, format_money(result.price), LineKind.SUBTOTAL))
    label_width = max(len(label) for label, _, _ in rows)
    amount_width = max(len(amount) for _, amount, _ in rows)
    rule = "-" * (label_width + 2 + amount_width)
    out = [title, "=" * len(rule)] if title else []
    for label, amount, kind in rows:
        if kind is LineKind.SUBTOTAL:
            out.append(rule)
        out.append(f"{label:<{label_width}}  {amount:>{amount_width}}")
    return "\n".join(out)


def row_label(line: Line) -> str:
    """A line's label as shown: notes indented, since they are not added up."""
    return f"    {line.label}" if line.kind is LineKind.NOTE else line.label
