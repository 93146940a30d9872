"""The kinds of value a formula or its inputs hold, and the strict checks each kind gets.

Each parameter is declared once, on its dataclass, with `param(kind, ...)`. The same declaration
checks values passed from Python (``__post_init__``) and converts values read from JSON
(`scalar_from_json`), so both routes give the same errors naming the same field.

Numbers from JSON may be strings ("0.02", "250000.00") or JSON numbers. A JSON number is
converted through its shortest text form, ``Decimal(str(value))``, so 0.1 stays exactly 0.1.
Rates and shares may also be written as percentages ("2%", "1.5%").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from leases.resale.errors import FormulaError
from leases.resale.money import CENT, CONTEXT


class Kind(StrEnum):
    """What a parameter holds; the kind decides how it is checked and read from JSON."""

    MONEY = "money"  # dollars, at most cents, not negative
    RATE = "rate"  # a fraction a year: 0.02 for 2%
    SHARE = "share"  # a fraction of something: 0.25 for 25%
    FRACTION_BELOW_ONE = "fraction_below_one"  # a share that must leave something: 0 <= x < 1
    INDEX_VALUE = "index_value"  # a published index value: positive, any precision
    WHOLE = "whole"  # a whole number, not negative
    CHOICE = "choice"  # one of a few words
    TEXT = "text"  # free text
    FLAG = "flag"  # true or false
    DATE = "date"  # an ISO date in JSON
    RATES = "rates"  # a list of yearly rates
    FORMULA = "formula"  # a nested formula
    STEPS = "steps"  # a list of additions, applied in order
    OBJECTS = "objects"  # a list of nested records (improvements, repairs)
    INDEXES = "indexes"  # index tables by series name
    TEXTS = "texts"  # short texts by name: where each input came from

    @property
    def is_decimal(self) -> bool:
        """Whether values of this kind are Decimals."""
        return self in DECIMAL_KINDS


DECIMAL_KINDS = {Kind.MONEY, Kind.RATE, Kind.SHARE, Kind.FRACTION_BELOW_ONE, Kind.INDEX_VALUE}
REQUIRED = dataclasses.MISSING
MAX_DIGITS = 15  # a trillion dollars: anything larger is a typo, not a home


def param(
    kind: Kind, *, default: Any = REQUIRED, choices: tuple[str, ...] = (), of: type | None = None
) -> Any:
    """A dataclass field declared as a parameter of `kind` (required unless given a default)."""
    metadata = {"kind": kind, "choices": choices, "of": of}
    if isinstance(default, tuple | list):
        return dataclasses.field(default_factory=lambda: tuple(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def params(obj_or_cls: Any) -> tuple[dataclasses.Field, ...]:
    """The declared parameters of a formula, step or input record, in declaration order."""
    return tuple(f for f in dataclasses.fields(obj_or_cls) if "kind" in f.metadata)


def is_required(f: dataclasses.Field) -> bool:
    """Whether the parameter has no default and must be given."""
    return f.default is REQUIRED and f.default_factory is REQUIRED


def closest_name(name: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to a misspelt `name`, if one is close enough."""
    match = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return match[0] if match else None


def closest(name: str, valid: Iterable[str]) -> str:
    """A hint naming the valid name closest to a misspelt `name`, or listing them all."""
    valid = sorted(valid)
    match = closest_name(name, valid)
    if match:
        return f"did you mean {match!r}?"
    return f"expected one of: {', '.join(valid)}" if valid else "no keys are expected here"


# --- checking values that arrive from Python --------------------------------------------------


def check_decimal(kind: Kind, value: Any, name: str) -> Decimal:
    """The value as a Decimal of `kind`, or a FormulaError saying why it is not one."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        if isinstance(value, float):
            raise FormulaError(
                name, f"is a float ({value!r}); give a Decimal or a string so it stays exact"
            )
        raise FormulaError(name, f"must be a number, not {type(value).__name__} {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise FormulaError(name, f"must be a finite number, not {number}")
    return check_range(kind, number, name)


def check_range(kind: Kind, number: Decimal, name: str) -> Decimal:
    """The number, if it lies in the range its kind allows."""
    if number < 0:
        raise FormulaError(name, f"must not be negative (got {number:f})")
    if number.adjusted() >= MAX_DIGITS:
        raise FormulaError(name, f"is too large to be a price, rate or index (got {number:f})")
    if kind is Kind.MONEY and number != number.quantize(CENT, context=CONTEXT):
        raise FormulaError(name, f"is money: at most two decimal places (got {number:f})")
    if kind is Kind.INDEX_VALUE and number == 0:
        raise FormulaError(name, "an index value must be greater than zero")
    if kind in (Kind.RATE, Kind.SHARE) and number > 1:
        raise FormulaError(
            name, f'is a fraction: write 0.02 or "2%" for two percent (got {number:f})'
        )
    if kind is Kind.FRACTION_BELOW_ONE and number >= 1:
        raise FormulaError(name, f"must be a fraction below 1, such as 0.05 (got {number:f})")
    return number


def check_value(f: dataclasses.Field, value: Any, name: str) -> Any:
    """The value of parameter `f`, normalised (ints to Decimal), or a FormulaError."""
    kind: Kind = f.metadata["kind"]
    if value is None and not is_required(f) and f.default is None:
        return None
    if kind.is_decimal:
        return check_decimal(kind, value, name)
    if kind is Kind.WHOLE:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FormulaError(name, f"must be a whole number, 0 or more (got {value!r})")
        return value
    if kind is Kind.CHOICE:
        if value not in f.metadata["choices"]:
            choices = ", ".join(repr(c) for c in f.metadata["choices"])
            raise FormulaError(name, f"must be one of {choices} (got {value!r})")
        return value
    if kind is Kind.FLAG and not isinstance(value, bool):
        raise FormulaError(name, f"must be true or false (got {value!r})")
    if kind is Kind.TEXT and not isinstance(value, str):
        raise FormulaError(name, f"must be text (got {value!r})")
    if kind is Kind.DATE and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise FormulaError(name, f"must be a date (got {value!r})")
    if kind is Kind.RATES:
        return check_rates(value, name)
    if kind is Kind.TEXTS:
        return check_texts(value, name)
    return value


def check_texts(value: Any, name: str) -> dict[str, str] | None:
    """Texts by name ({"appraisal_at_purchase": "2018-04-20, Smith Appraisals"}), as a dict;
    None for none. The names are checked by the record that holds them."""
    if not isinstance(value, Mapping):
        raise FormulaError(name, f"must map names to texts (got {value!r})")
    for key, text in value.items():
        if not isinstance(key, str) or not key:
            raise FormulaError(name, f"a name must be text (got {key!r})")
        if not isinstance(text, str) or not text.strip():
            raise FormulaError(f"{name}.{key}", f"must be a non-empty text (got {text!r})")
    return dict(value) or None


def check_rates(value: Any, name: str) -> tuple[Decimal, ...]:
    """A non-empty tuple of yearly rates."""
    if not isinstance(value, tuple | list) or not value:
        raise FormulaError(name, "must be a non-empty list of yearly rates")
    return tuple(check_decimal(Kind.RATE, rate, f"{name}[{i}]") for i, rate in enumerate(value))


def check_params(obj: Any) -> None:
    """Check and normalise every declared parameter of a frozen dataclass instance."""
    for f in params(obj):
        value = check_value(f, getattr(obj, f.name), f.name)
        object.__setattr__(obj, f.name, value)


# --- reading values from JSON -----------------------------------------------------------------


def decimal_from_json(kind: Kind, raw: Any, name: str) -> Decimal:
    """A Decimal of `kind` from a JSON string or number (floats through their text form)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise FormulaError(name, f'must be a number such as "0.02" or 250000 (got {raw!r})')
    text = str(raw).strip().replace("_", "")
    percent = kind in (Kind.RATE, Kind.SHARE, Kind.FRACTION_BELOW_ONE) and text.endswith("%")
    try:
        number = Decimal(text.removesuffix("%").strip() if percent else text)
    except InvalidOperation:
        raise FormulaError(name, f"{raw!r} is not a number") from None
    if not number.is_finite():
        raise FormulaError(name, f"must be a finite number (got {raw!r})")
    return check_range(kind, CONTEXT.divide(number, 100) if percent else number, name)


def date_from_json(raw: Any, name: str) -> dt.date:
    """A date from its ISO text, "2019-06-01"."""
    if not isinstance(raw, str):
        raise FormulaError(name, f'must be a date written "YYYY-MM-DD" (got {raw!r})')
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FormulaError(name, f'{raw!r} is not a date written "YYYY-MM-DD"') from None


def scalar_from_json(f: dataclasses.Field, raw: Any, name: str) -> Any:
    """The Python value of a scalar parameter read from JSON (checked again on construction)."""
    kind: Kind = f.metadata["kind"]
    if kind.is_decimal:
        return decimal_from_json(kind, raw, name)
    if kind is Kind.DATE:
        return date_from_json(raw, name)
    if kind is Kind.RATES:
        if not isinstance(raw, list) or not raw:
            raise FormulaError(name, "must be a non-empty list of yearly rates")
        return tuple(decimal_from_json(Kind.RATE, r, f"{name}[{i}]") for i, r in enumerate(raw))
    return raw


def scalar_to_json(f: dataclasses.Field, value: Any) -> Any:
    """The JSON form of a scalar parameter: Decimals as exact strings, dates as ISO text."""
    kind: Kind = f.metadata["kind"]
    if kind.is_decimal:
        return f"{value:f}"
    if kind is Kind.DATE:
        return value.isoformat()
    if kind is Kind.RATES:
        return [f"{rate:f}" for rate in value]
    if kind is Kind.TEXTS:
        return dict(value)
    return value
