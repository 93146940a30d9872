"""`clt` commands of the leases app (gathered by clt/cli.py): prices, inventory, indexes, report.

Data goes to stdout (tables, CSV, JSON); progress and the one-line error to stderr. A user's
mistake (a typo'd formula key, a negative amount, a sale before the purchase, an unknown lease)
is a message naming the field and exit code 1, never a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from clt.clitools import IsoDate, say, setup_django, user_errors
from clt.spreadsheets import safe_if_text
from parcels.cli import jurisdiction_option

ISO_DATE = IsoDate()


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


# --- resale-price --------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    """The JSON in `path`, or a one-line error naming the file and where it is broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.ClickException(f"{what} {path}: cannot read it ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{what} {path}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{what} {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def _input_pairs(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, amount = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{value}' is not KEY=VALUE", ctx=ctx, param=param)
        pairs[key.strip()] = amount.strip()
    return pairs


@click.command("resale-price")
@click.option(
    "--formula",
    "formula_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A formula in its JSON form (docs/resale-formulas.md).",
)
@click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The facts of the sale in their JSON form (with --formula).",
)
@click.option(
    "--lease",
    "reference",
    metavar="REF",
    help="A ground lease's reference: price it from its own records.",
)
@click.option(
    "--sale-date", type=ISO_DATE, metavar="YYYY-MM-DD", help="The date of the sale (with --lease)."
)
@click.option(
    "--appraisal",
    metavar="AMOUNT",
    help="Appraised value at resale, instead of the latest on record (with --lease).",
)
@click.option(
    "--input",
    "extra",
    multiple=True,
    callback=_input_pairs,
    metavar="KEY=VALUE",
    help="A sale input the registry does not keep: principal_paid, seller_closing_costs or "
    "seller_net_proceeds, e.g. --input principal_paid=24500 (with --lease; repeatable).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Machine-readable: price, lines, formula and inputs, amounts as exact strings.",
)
def resale_price(formula_file, inputs_file, reference, sale_date, appraisal, extra,
                 as_json) -> None:  # fmt: skip
    """The maximum resale price, with every line: from a formula and inputs, or for a lease.

    \b
      clt resale-price --formula F.json --inputs I.json
      clt resale-price --lease GL-2016-001 --sale-date 2026-06-01 [--appraisal 135000]
    """
    if reference is not None:
        if formula_file or inputs_file:
            raise click.UsageError("give --lease or --formula/--inputs, not both")
        if sale_date is None:
            raise click.UsageError("--lease needs --sale-date YYYY-MM-DD")
        formula, inputs, title = _lease_price_inputs(reference, _date(sale_date), appraisal, extra)
    else:
        if not (formula_file and inputs_file):
            raise click.UsageError("give --formula FILE.json and --inputs FILE.json, or --lease")
        if sale_date or appraisal or extra:
            raise click.UsageError("--sale-date, --appraisal and --input go with --lease")
        formula, inputs, title = _file_price_inputs(formula_file, inputs_file)
    from leases.resale import FormulaError, formula_to_json, inputs_to_json, render_text

    try:
        result = formula.evaluate(inputs)
    except FormulaError as exc:
        hint = ""
        if reference is not None and exc.field == "appraisal_at_resale":
            # One on record but too old: the message says so. Else there is none.
            too_old = getattr(exc, "because", None)
            none = "" if too_old else "no appraisal on record since the purchase: "
            hint = f" ({none}give --appraisal AMOUNT)"
        raise click.ClickException(f"{exc}{hint}") from exc
    if as_json:
        body = {
            **result.to_dict(),
            "formula": formula_to_json(formula),
            "inputs": inputs_to_json(inputs),
        }
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result, title=title))


def _file_price_inputs(formula_file: Path, inputs_file: Path):
    """A formula and sale inputs read from their JSON files (no database needed)."""
    from leases.resale import FormulaError, parse_formula, parse_inputs

    formula_json = _read_json(formula_file, "--formula")
    inputs_json = _read_json(inputs_file, "--inputs")
    try:
        formula = parse_formula(formula_json)
    except FormulaError as exc:
        raise click.ClickException(f"--formula {formula_file}: {exc}") from exc
    try:
        inputs = parse_inputs(inputs_json)
    except FormulaError as exc:
        raise click.ClickException(f"--inputs {inputs_file}: {exc}") from exc
    title = f"{formula.title.capitalize()}: sale on {inputs.sale_date.isoformat()}"
    return formula, inputs, title


def _lease_price_inputs(
    reference: str, sale_date: dt.date, appraisal: str | None, extra: dict[str, str]
):
    """A lease's formula in force on `sale_date` and the facts of a sale on that date from its
    records (`leases.pricing`, as the admin shows them), with the caller's appraisal and extras.
    The title names the formula when it is an amendment, not the one the lease was signed with.
    """
    from leases.resale import FormulaError, inputs_to_json, parse_formula, parse_inputs
    from leases.resale.fields import Kind, decimal_from_json

    try:
        value = decimal_from_json(Kind.MONEY, appraisal, "--appraisal") if appraisal else None
    except FormulaError as exc:
        raise click.ClickException(str(exc)) from exc
    setup_django()
    from leases.models import GroundLease
    from leases.pricing import sale_inputs

    lease = GroundLease.objects.filter(reference=reference.strip()).first()
    if lease is None:
        raise click.ClickException(f"--lease: no ground lease with reference {reference!r}")
    _refuse_kept_inputs(lease.reference, extra)
    in_force = lease.formula_in_force(sale_date)
    try:
        formula = parse_formula(in_force.formula)
    except FormulaError as exc:
        raise click.ClickException(
            f"lease {lease.reference} resale formula from {in_force.effective_on}: {exc}"
        ) from exc
    try:
        inputs = sale_inputs(lease, on=sale_date, appraisal=value, formula=in_force.formula)
        if extra:
            inputs = parse_inputs({**inputs_to_json(inputs), **extra})
    except FormulaError as exc:
        prefix = "--input " if exc.field.split(".")[0] in extra else ""
        raise click.ClickException(f"{prefix}{exc}") from exc
    title = f"{lease.reference}, {lease.holding.name}: sale on {sale_date.isoformat()}"
    if lease.formulas.filter(effective_on__lt=in_force.effective_on).exists():  # amended
        title += f", by its {in_force.describe()}"
    return formula, inputs, title


def _refuse_kept_inputs(reference: str, extra: dict[str, str]) -> None:
    """Refuse an --input the lease's records already give (its price, dates, appraisals...):
    a what-if there would silently price another sale than the lease's."""
    from leases.pricing import NOT_ON_RECORD
    from leases.resale import SaleInputs
    from leases.resale.fields import params

    kept = {f.name for f in params(SaleInputs)} - set(NOT_ON_RECORD)
    for key in extra:
        if key in kept:
            instead = " (give --appraisal AMOUNT)" if key == "appraisal_at_resale" else ""
            raise click.ClickException(
                f"--input {key}: lease {reference}'s records give it{instead}; --input takes "
                f"only what the registry does not keep: {', '.join(NOT_ON_RECORD)}"
            )


# --- holdings ------------------------------------------------------------------------------------

# acres rounded for reading, area_m2 beside them so that a spreadsheet sums the exact areas
HOLDING_COLUMNS = ("holding", "use", "acquired_on", "acquired_via", "price", "deed_reference",
                   "parcels", "acres", "area_m2", "homes", "leases_in_force")  # fmt: skip
LEASE_COLUMNS = ("lease", "holding", "starts_on", "ended_on", "permitted_use", "status")


@click.command("holdings")
@click.option("--as-of", type=ISO_DATE, metavar="YYYY-MM-DD", help="The date (default: today).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)  # fmt: skip
def holdings(as_of, fmt) -> None:
    """What the trust held on a date (holdings, their parcels) and the leases in force."""
    setup_django()
    from django.utils import timezone

    from leases.report import HOMES_RULE, holdings_as_of, square_metres

    on = _date(as_of) or timezone.localdate()
    inventory = holdings_as_of(on)
    holding_rows = [
        (h.name, h.use, h.acquired_on, h.acquired_via, h.price, h.deed_reference,
         " ".join(h.apns), h.acres, square_metres(h.area_m2), h.homes, " ".join(h.leases))
        for h in inventory.holdings
    ]  # fmt: skip
    lease_rows = [
        (lease.reference, lease.holding, lease.starts_on, lease.ends_on, lease.permitted_use,
         lease.status)
        for lease in inventory.leases
    ]  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(_inventory_json(inventory), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        sys.stdout.write(_csv(HOLDING_COLUMNS, holding_rows))
    else:
        click.echo(f"Held on {on.isoformat()}:")
        click.echo(_table(HOLDING_COLUMNS, holding_rows))
        click.echo(HOMES_RULE)
        click.echo(f"\nLeases in force on {on.isoformat()}:")
        click.echo(_table(LEASE_COLUMNS, lease_rows))
        if inventory.status_note:
            click.echo(inventory.status_note)
    say(
        f"clt: on {on.isoformat()} the trust held {len(inventory.holdings)} holdings "
        f"({inventory.parcels} parcels, {inventory.acres} acres); "
        f"{len(inventory.leases)} leases in force"
    )


def _inventory_json(inventory) -> dict[str, Any]:
    from leases.report import HOMES_RULE, square_metres, text

    return {
        "as_of": inventory.as_of.isoformat(),
        "notes": {"homes": HOMES_RULE, "status": inventory.status_note},
        "holdings": [
            {
                "name": h.name,
                "use": h.use,
                "acquired_on": text(h.acquired_on),
                "acquired_via": h.acquired_via,
                "price": text(h.price),
                "deed_reference": h.deed_reference,
                "parcels": list(h.apns),
                "acres": text(h.acres),
                "area_m2": text(square_metres(h.area_m2)),
                "homes": h.homes,
                "leases_in_force": list(h.leases),
            }
            for h in inventory.holdings
        ],
        "leases_in_force": [
            {
                "reference": lease.reference,
                "holding": lease.holding,
                "starts_on": text(lease.starts_on),
                "ended_on": text(lease.ends_on) or None,
                "permitted_use": lease.permitted_use,
                "status": lease.status,
            }
            for lease in inventory.leases
        ],
    }


# --- load-index ----------------------------------------------------------------------------------


@click.command("load-index")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--series",
    required=True,
    help="The series' name, as formulas name it (e.g. jackson-ms-hud-income-limits).",
)
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["ami", "hud_income_limit", "cpi", "other"]),
    help="What the table is.",
)
@click.option(
    "--source", required=True, help='Where the figures come from: "publisher, document, URL".'
)
@click.option("--area", default="", help='The area the table covers, e.g. "Jackson, MS MSA".')
@click.option(
    "--replace",
    is_flag=True,
    help="Make the series exactly this file, removing the values it does not have (refused if "
    "a lease reads one of them). Without it, the file's values are added or updated and the "
    "others kept.",
)
def load_index(path, series, kind, source, area, replace) -> None:  # fmt: skip
    """Load a published index table (AMI, HUD income limits, CPI) from CSV, with its source.

    Columns: year, value (required); month, household_size, percent_of_median. The file is
    merged into the series: new years added, changed values updated, every other value kept
    (load this year's HUD figure alone). --replace makes the series exactly the file. A file
    with a bad row loads nothing.
    """
    setup_django()
    from leases.indexes import index_load

    with user_errors():
        loaded = index_load(
            path=path, series=series, kind=kind, source=source, area=area, replace=replace
        )
    say(f"clt: loaded {path.name} as {loaded}")


# --- import-registry -----------------------------------------------------------------------------


@click.command("import-registry")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
@jurisdiction_option("The county whose parcels the holdings' APNs name")
@click.option("--dry-run", is_flag=True, help="Read and check every row; write nothing.")
@click.option(
    "--template",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the format's CSV files, empty, and a README of every column into this folder "
    "(new or empty), and stop.",
)
def import_registry(folder, jurisdiction, dry_run, template) -> None:
    """Bring the trust's records in from a folder of CSV files (spreadsheets), once.

    Holdings (on parcels already imported by APN), parties and household members, ground leases
    with their resale formulas, fee changes, appraisals, capital improvements, repairs,
    monitoring events, resales, the acquisition pipeline and conservation easements: the files
    you have, in the format of the demo's (fixtures/west_jackson/). All or nothing: a refused
    row names the file, row and column, and nothing is written. Records already in the registry
    are refused, not entered twice.
    """
    setup_django()
    from clt.registry_import import import_registry as run_import
    from clt.registry_import import write_template

    with user_errors():
        if template:
            write_template(template)
            say(f"clt: wrote the registry's empty tables and README.txt into {template}")
            return
        if folder is None:
            raise click.UsageError("give the FOLDER to import (or --template DIR)")
        summary = run_import(folder, jurisdiction, dry_run=dry_run, say=say)
    for warning in summary.warnings:
        say(f"clt: check: {warning}")
    if dry_run:
        say(f"clt: dry run, nothing written; the folder would bring in {summary}")
    else:
        say(f"clt: imported {summary}")


# --- report --------------------------------------------------------------------------------------


@click.command("report")
@click.option("--as-of", type=ISO_DATE, metavar="YYYY-MM-DD", help="The date (default: today).")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Also write the report as CSV (section,item,measure,value) to this file; "
    "'-' writes the CSV alone to stdout.",
)
@click.option("--force", is_flag=True, help="Replace the --csv file if it exists.")
def report(as_of, csv_file: str | None, force: bool) -> None:
    """The stewardship report: land and homes by use, leases, arrears, monitoring, resales."""
    to_stdout = csv_file == "-"
    csv_path = _csv_file_to_write(csv_file, force=force) if csv_file and not to_stdout else None
    setup_django()
    from leases.report import report_csv, stewardship_report

    result = stewardship_report(_date(as_of))
    if to_stdout:  # data alone on stdout, to pipe or redirect
        sys.stdout.write(report_csv(result))
        return
    click.echo(render_report(result))
    if csv_path:
        try:
            csv_path.write_text(report_csv(result), encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"--csv {csv_path}: {exc.strerror}") from exc
        say(f"clt: wrote the report as CSV to {csv_path}")


def _csv_file_to_write(raw: str, *, force: bool) -> Path:
    """The --csv file, checked before the report is built: a path that cannot be written was
    found only after the whole report had been printed, and an existing file was silently
    replaced (as `clt backup` does, replacing one takes --force)."""
    path = Path(raw)
    if path.exists() and not force:
        raise click.ClickException(f"--csv {path}: the file exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise click.ClickException(
            f"--csv {path}: there is no folder {path.parent}; create it or write elsewhere"
        )
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        where = "the file" if path.exists() else f"the folder {path.parent}"
        raise click.ClickException(f"--csv {path}: {where} is not writable by this user")
    return path


def render_report(report) -> str:
    """The stewardship report as plain text tables."""
    from leases.resale.money import format_money

    def money(amount) -> str:
        return "" if amount is None else format_money(amount)

    def pct(value) -> str:
        return "" if value is None else f"{value}%"

    held = [(line.label, line.holdings, line.parcels, line.acres, line.homes)
            for line in (*report.held, report.held_total)]  # fmt: skip
    held_notes = "\n".join((report.use_rule, report.acres_rule, report.homes_rule))
    leases = [(line.label, line.leases) for line in report.leases]
    leases.append(("Total", report.leases_total))
    monitoring = [(line.label, line.open) for line in report.monitoring]
    monitoring.append(("Total", report.monitoring_total))
    resales = [
        (sale.lease, sale.use, sale.contract_on, sale.closed_on or "under contract",
         money(sale.formula_price),
         money(sale.agreed_price), money(sale.appraised_value), money(sale.preserved),
         pct(sale.below_market_pct),
         "bought back by the trust" if sale.bought_by_trust
         else _income_pct(sale.buyer_income_pct_ami, sale.income_limit_note))
        for sale in report.resales
    ]  # fmt: skip
    totals = report.resale_totals
    resales.append(
        ("Total", totals.described, "", "", money(totals.formula_total),
         money(totals.agreed_total), money(totals.appraised_total), money(totals.preserved),
         pct(totals.below_market_pct), "")
    )  # fmt: skip
    resale_notes = [totals.per_sale_note] if totals.per_sale_note else []
    if totals.under_contract_note:
        resale_notes.append(totals.under_contract_note)
    if totals.trust_note:
        resale_notes.append(f"{totals.trust_note} The trust paid {money(totals.trust_paid)}.")
    conserved = report.conserved
    easements = ("Conservation easements", conserved.described, conserved.acres_note)
    arrears = report.arrears
    in_force = f"{arrears.in_force} lease{'s' if arrears.in_force != 1 else ''} in force"
    owed = f"Fees in arrears: {money(arrears.total)} owed on {arrears.leases} of {in_force}"
    return "\n\n".join(
        [
            f"Stewardship report as of {report.as_of.isoformat()}"
            + (f"\n{report.recorded_note}" if report.recorded_note else ""),
            "Land and homes held, by current use\n"
            + _table(("use", "holdings", "parcels", "acres", "homes"), held)
            + f"\n{held_notes}",
            "Leases signed by the date, by status on it\n" + _table(("status", "leases"), leases),
            owed,
            "Open monitoring events\n" + _table(("type", "open"), monitoring),
            "\n".join(line for line in easements if line),
            "Resales: formula price against the market (preserved = appraisal - agreed price)\n"
            + _table(
                (
                    "lease",
                    "use",
                    "contract",
                    "closed",
                    "formula price",
                    "agreed price",
                    "appraisal",
                    "preserved",
                    "below market",
                    "buyer income % AMI",
                ),
                resales,
            )
            + "".join(f"\n{note}" for note in resale_notes),  # fmt: skip
        ]
    )


# --- output helpers ------------------------------------------------------------------------------


def _income_pct(value, note: str = "") -> str:
    """The buyer's income as % of AMI, as the report page shows it ("" when not recorded):
    who the resale served, the report's answer to "did the home stay affordable?"; with the
    report's note for a buyer above the trust's limit ("135.0% — above the 80% limit")."""
    text = "" if value is None else f"{value}%"
    return f"{text} — {note}" if note else text


def _cell(value) -> str:
    from leases.report import text

    return text(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """Rows as an aligned text table; columns of figures right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    figures = [
        any(row[i] for row in cells) and all(_is_figure(row[i]) for row in cells if row[i])
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, figures, strict=True)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


FIGURE = re.compile(r"^-?\$?[\d,]+(\.\d+)?%?$")


def _is_figure(text: str) -> bool:
    """Whether a cell is a number, an amount ("$1,234.00") or a percentage."""
    return bool(FIGURE.match(text))


def _csv(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """Rows as CSV text, each text cell (a name, a deed or lease reference staff typed) safe to
    open in a spreadsheet (`safe_if_text`); figures and dates as `_cell` writes them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([_cell(safe_if_text(v)) for v in row] for row in rows)
    return out.getvalue()


COMMANDS: list[click.Command] = [import_registry, resale_price, holdings, load_index, report]
