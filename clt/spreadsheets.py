"""Text cells a spreadsheet would run as formulas (CSV injection), for every CSV the app writes.

A cell starting with = + @, a tab or a carriage return, or with a minus that does not start a
number, is a formula to Excel and LibreOffice. County files and staff entries are not trusted to
be free of them; an amount such as "-12.50" stays a number. Such a cell gets a leading
apostrophe (the OWASP advice), which spreadsheets show as text.
"""

from __future__ import annotations

import re
from typing import TypeVar

# Read alike by Python's `re` and PostgreSQL's `~` (the map exports test it in SQL).
FORMULA_START = r"^([=+@\t\r]|-(?![0-9.]+$))"
_FORMULA_START = re.compile(FORMULA_START)


def spreadsheet_safe(cell: str) -> str:
    """`cell`, with a leading apostrophe if a spreadsheet would run it as a formula."""
    return f"'{cell}" if _FORMULA_START.match(cell) else cell


Value = TypeVar("Value")


def safe_if_text(value: Value) -> Value | str:
    """`value` made safe (`spreadsheet_safe`) if it is text; a number, a date or None as it is.

    The map's CSV export's rule (a string column is guarded, a number column is not): a figure
    the program computed stays a figure, never an apostrophe and a text cell."""
    return spreadsheet_safe(value) if isinstance(value, str) else value
