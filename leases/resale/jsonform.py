"""The JSON form of formulas and sale inputs: strict parsing and the exact inverse.

Every formula is an object with a "type" and its parameters (docs/resale-formulas.md). Parsing
is strict: an unknown type lists the known ones, an unknown key names the closest valid key, a
missing or bad value names its field as a dotted path ("steps[1].commission_rate").
`formula_to_json(parse_formula(x))` is the canonical form of x, and parsing it gives an equal
formula.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from typing import Any

from leases.resale import appraisal, compose, fixed_rate, index, itemized, mortgage, time_vested
from leases.resale.base import FORMULA_TYPES, STEP_TYPES, Checked, Formula, Step
from leases.resale.errors import FormulaError
from leases.resale.fields import (
    Kind,
    closest,
    closest_name,
    decimal_from_json,
    is_required,
    params,
    scalar_from_json,
    scalar_to_json,
)
from leases.resale.inputs import IndexKey, IndexPoints, SaleInputs, key_text

# The family modules register their types on import; naming them here makes that explicit.
FAMILIES = (appraisal, time_vested, index, fixed_rate, itemized, mortgage, compose)


# How deeply a formula's JSON may nest (objects and lists): a real one nests a few levels; a
# deeper one is a mistake, and would exhaust Python's recursion parsing it.
MAX_DEPTH = 20


def parse_formula(data: Any) -> Formula:
    """The formula a JSON object describes, checked strictly; FormulaError names the field."""
    check_depth(data, "formula")
    return parse_typed(data, FORMULA_TYPES, "formula", "")


def check_depth(data: Any, what: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH levels (looked at without recursion)."""
    level = [data]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, Mapping | list)
            for child in (node.values() if isinstance(node, Mapping) else node)
        ]
        if not any(isinstance(node, Mapping | list) for node in level):
            return
    raise FormulaError(what, f"is nested more than {MAX_DEPTH} levels deep")


def formula_to_json(formula: Formula | Step) -> dict[str, Any]:
    """The JSON form of a formula (or a step): {"type": ..., parameters...}."""
    return {"type": formula.type, **object_to_json(formula)}


def parse_inputs(data: Any) -> SaleInputs:
    """The sale inputs a JSON object describes, checked as strictly as formulas."""
    if not isinstance(data, Mapping):
        raise FormulaError("inputs", "must be a JSON object")
    return parse_object(SaleInputs, data, "")


def inputs_to_json(inputs: SaleInputs) -> dict[str, Any]:
    """The JSON form of sale inputs."""
    return object_to_json(inputs)


def join(path: str, key: str) -> str:
    """The dotted path of `key` under `path`: "steps[1]" + "share" -> "steps[1].share"."""
    return f"{path}.{key}" if path else key


def known_types(registry: Mapping[str, type]) -> str:
    """The registry's type names, for an error message."""
    return ", ".join(sorted(registry))


def parse_typed(data: Any, registry: Mapping[str, type[Checked]], what: str, path: str) -> Any:
    """A formula or step from an object whose "type" picks the class in `registry`."""
    if not isinstance(data, Mapping):
        raise FormulaError(path or what, f'must be a JSON object with a "type" (got {data!r})')
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in registry:
        problem = "is missing" if "type" not in data else f"{kind!r} is not a known {what} type"
        match = closest_name(kind, registry) if isinstance(kind, str) else None
        hint = f" (did you mean {match!r}?)" if match else ""
        raise FormulaError(
            join(path, "type"), f"{problem}; known {what} types: {known_types(registry)}{hint}"
        )
    return parse_object(registry[kind], data, path, extra_keys={"type"})


def parse_object(
    cls: type[Checked],
    data: Mapping[str, Any],
    path: str,
    extra_keys: Collection[str] = (),
) -> Any:
    """An instance of `cls` from its JSON object: unknown keys, missing keys and bad values are
    errors naming the field."""
    fields = {f.name: f for f in params(cls)}
    for key in data:
        if key not in fields and key not in extra_keys:
            raise FormulaError(
                join(path, str(key)),
                f"is not a key of {cls.json_name()}; {closest(str(key), fields)}",
            )
    values = {}
    for name, f in fields.items():
        if data.get(name) is None:
            if is_required(f):
                raise FormulaError(join(path, name), "is required")
            continue
        values[name] = value_from_json(f, data[name], join(path, name))
    try:
        return cls(**values)
    except FormulaError as error:
        raise error.within(path) from None


def value_from_json(f: dataclasses.Field, raw: Any, path: str) -> Any:
    """The Python value of one parameter, read from JSON."""
    kind: Kind = f.metadata["kind"]
    if kind is Kind.FORMULA:
        return parse_typed(raw, FORMULA_TYPES, "formula", path)
    if kind is Kind.STEPS:
        items = json_list(raw, path)
        return tuple(
            parse_typed(s, STEP_TYPES, "step", f"{path}[{i}]") for i, s in enumerate(items)
        )
    if kind is Kind.OBJECTS:
        items = json_list(raw, path)
        return tuple(
            parse_record(f.metadata["of"], item, f"{path}[{i}]") for i, item in enumerate(items)
        )
    if kind is Kind.INDEXES:
        return parse_indexes(raw, path)
    return scalar_from_json(f, raw, path)


def json_list(raw: Any, path: str) -> list[Any]:
    """`raw` if it is a JSON list."""
    if not isinstance(raw, list):
        raise FormulaError(path, f"must be a list (got {raw!r})")
    return raw


def parse_record(cls: type[Checked], raw: Any, path: str) -> Any:
    """One nested record (an improvement, a repair) from its JSON object."""
    if not isinstance(raw, Mapping):
        raise FormulaError(path, f"must be a JSON object (got {raw!r})")
    return parse_object(cls, raw, path)


def parse_indexes(raw: Any, path: str) -> dict[str, Any]:
    """Index series by name: {"table": {"2019": v, "2019-06": v}} or {"at_purchase": v,
    "at_resale": v}."""
    if not isinstance(raw, Mapping):
        raise FormulaError(path, "must map each series name to its values")
    series = {}
    for name, spec in raw.items():
        where = f"{path}.{name}"
        if not isinstance(spec, Mapping):
            raise FormulaError(where, 'must be {"table": {...}} or {"at_purchase", "at_resale"}')
        if "table" in spec:
            extra = set(spec) - {"table"}
            if extra:
                raise FormulaError(
                    f"{where}.{sorted(extra)[0]}", "give a table or two values, not both"
                )
            series[name] = parse_table(spec["table"], f"{where}.table")
        else:
            series[name] = parse_object(IndexPoints, spec, where)
    return series


MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


def parse_table(raw: Any, path: str) -> dict[IndexKey, Any]:
    """An index table from JSON: keys "2019" (a year) or "2019-06" (a month)."""
    if not isinstance(raw, Mapping) or not raw:
        raise FormulaError(path, 'must be a non-empty object {"2019": value, ...}')
    table: dict[IndexKey, Any] = {}
    for text, value in raw.items():
        key = parse_index_key(str(text), path)
        table[key] = decimal_from_json(Kind.INDEX_VALUE, value, f"{path}.{text}")
    return table


def parse_index_key(text: str, path: str) -> IndexKey:
    """A year ("2019") or a (year, month) pair ("2019-06") from a table key."""
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    match = MONTH_KEY.match(text)
    if match and 1 <= int(match[2]) <= 12:
        return int(match[1]), int(match[2])
    raise FormulaError(f"{path}.{text}", 'is not a year "2019" or a month "2019-06"')


def object_to_json(obj: Checked) -> dict[str, Any]:
    """The parameters of a formula, step or record as JSON; absent options are left out and
    round_to comes last."""
    fields = sorted(params(obj), key=lambda f: f.name == "round_to")
    out: dict[str, Any] = {}
    for f in fields:
        value = getattr(obj, f.name)
        if value is not None:
            out[f.name] = value_to_json(f, value)
    return out


def value_to_json(f: dataclasses.Field, value: Any) -> Any:
    """The JSON form of one parameter's value."""
    kind: Kind = f.metadata["kind"]
    if kind is Kind.FORMULA:
        return formula_to_json(value)
    if kind is Kind.STEPS:
        return [formula_to_json(step) for step in value]
    if kind is Kind.OBJECTS:
        return [object_to_json(record) for record in value]
    if kind is Kind.INDEXES:
        return {name: index_to_json(table) for name, table in value.items()}
    return scalar_to_json(f, value)


def index_to_json(table: Any) -> dict[str, Any]:
    """One index series as JSON: its table, or its two values."""
    if isinstance(table, IndexPoints):
        return object_to_json(table)
    return {"table": {key_text(key): f"{value:f}" for key, value in table.items()}}
