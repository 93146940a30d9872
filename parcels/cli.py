"""`clt` commands of the parcels app (gathered by clt/cli.py): import and find land."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from clt.clitools import say, setup_django, user_errors


def trust_jurisdictions() -> tuple[str, ...]:
    """The slugs of the trust's jurisdictions (CLT_JURISDICTIONS), the default first: read from
    the settings when --jurisdiction is parsed or its help shown, as this module is imported
    before any command sets Django up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    from parcels.jurisdictions import jurisdiction_choices

    return tuple(slug for slug, _ in jurisdiction_choices())


class JurisdictionChoice(click.Choice):
    """A click.Choice of the trust's jurisdictions, read when asked (`trust_jurisdictions`)."""

    def __init__(self) -> None:
        # Not click.Choice's, which keeps the list it is given: `choices` is read each time.
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return trust_jurisdictions()


class TrustDefaultOption(click.Option):
    """--jurisdiction, whose default (and --help's "[default: ...]") is the setting's first."""

    def get_default(self, ctx: click.Context, call: bool = True) -> str:
        return trust_jurisdictions()[0]


def _field_pairs(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        target, sep, column = value.partition("=")
        if not sep or not target.strip():
            raise click.BadParameter(f"'{value}' is not FIELD=COLUMN", ctx=ctx, param=param)
        pairs[target.strip()] = column.strip()
    return pairs


def _codes(ctx, param, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(code.strip() for code in value.split(",") if code.strip())


# A zip of several datasets is read as GDAL would not: --layer chooses the dataset in it too.
LAYER = click.option(
    "--layer",
    help="Layer to read, for files with several; for a zip holding several datasets, the one "
    "to read (by name: parcels for parcels.shp, or its path in the zip).",
)
ENCODING = click.option(
    "--encoding",
    metavar="NAME",
    help="Encoding of a shapefile's text when its .cpg is missing or wrong (e.g. CP1252, "
    "LATIN1). Without it, a shapefile naming none is read as UTF-8 if its text is, else as "
    "CP1252 if its bytes 0x80-0x9F are CP1252's punctuation (Windows GIS exports), else as "
    "ISO-8859-1.",
)


def jurisdiction_option(about: str):
    """--jurisdiction/-j: one of the trust's counties, the first by default."""
    return click.option(
        "--jurisdiction", "-j", cls=TrustDefaultOption, type=JurisdictionChoice(),
        show_default=True, help=f"{about}: one of CLT_JURISDICTIONS.",
    )  # fmt: skip


@click.command("import-parcels")
@click.argument("path", type=click.Path(path_type=Path))
@jurisdiction_option("The county the file comes from (the APN's namespace)")
@click.option(
    "--srid",
    type=click.IntRange(1),
    help="EPSG code of the file's coordinates "
    "(overrides the file's own CRS; needed when it declares none).",
)
@LAYER
@ENCODING
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='TOML or JSON mapping file: [fields] apn = "PARCELNO", vacant_codes = [...]',
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    callback=_field_pairs,
    metavar="FIELD=COLUMN",
    help="Source column for a parcel field, e.g. --field apn=PARCELNO (repeatable). "
    "Fields: apn address owner_of_record land_use zoning assessed_land "
    "assessed_improvement vacant tax_status.",
)
@click.option(
    "--vacant-codes",
    callback=_codes,
    metavar="V,VC",
    help="Land-use codes that mean vacant land (default V,VC,VAC,VACANT).",
)
@click.option(
    "--rejects-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the reject file (default .clt/imports/).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show the mapping and what the import would do (new, changed, retired, rejected) "
    "without changing any parcel; the run is recorded, as a dry run, and the reject file "
    "written, to look at the rejects before importing.",
)
@click.option(
    "--allow-mass-retire",
    is_flag=True,
    help="Import even if the file leaves out (retires) more than a fifth of the parcels on "
    "record (otherwise refused: a partial extract would retire the rest of the county).",
)
@click.option(
    "--quiet", is_flag=True, help="No progress bar or step lines; the result and warnings only."
)
def import_parcels(path, jurisdiction, srid, layer, encoding, mapping_file, fields,
                   vacant_codes, rejects_dir, dry_run, allow_mass_retire,
                   quiet) -> None:  # fmt: skip
    """Import a county parcel file (Shapefile, .zip, GeoPackage, GeoJSON, FileGDB, CSV+WKT).

    Upserts by (jurisdiction, APN): reports new, changed, unchanged and retired parcels, repairs
    invalid outlines, rejects empty ones and repeated APNs into a reject file. All or nothing.
    """
    setup_django()
    from parcels.importing import ImportCommittedInterrupt
    from parcels.importing import import_parcels as run_import

    with user_errors():
        try:
            run = run_import(
                path, jurisdiction=jurisdiction, srid=srid, fields=fields,
                vacant_codes=vacant_codes, mapping_file=mapping_file, layer=layer,
                encoding=encoding,
                dry_run=dry_run, reject_dir=rejects_dir, allow_mass_retire=allow_mass_retire,
                progress=not quiet, log=say,
            )  # fmt: skip
        except ImportCommittedInterrupt as interrupt:
            committed = interrupt.run
            warning = f"\n{committed.message}" if committed.message else ""
            raise click.ClickException(
                f"interrupted during the commit, which completed: the import was committed "
                f"(import run {committed.pk}: {_counts_text(committed)}){warning}"
            ) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted: nothing was imported") from None
    verb = "would import" if dry_run else "imported"
    say(f"clt: {verb} {path.name}: {_counts_text(run)} (import run {run.pk})")
    if run.reject_file:
        say(f"clt: rejected and repaired features are listed in {run.reject_file}")
    # A run that succeeded (or a dry run) keeps only its warnings there: each a "warning:" line,
    # some followed by indented lines naming parcels.
    for line in run.message.splitlines():
        say(line if line.startswith(" ") else f"clt: {line}")


def _counts_text(run) -> str:
    counts = run.counts()
    return (
        f"{counts['features_read']:,} read, {counts['new']:,} new, "
        f"{counts['changed']:,} changed, {counts['unchanged']:,} unchanged, "
        f"{counts['retired']:,} retired, {counts['repaired']:,} repaired, "
        f"{counts['rejected']:,} rejected"
    )


@click.command("import-layer")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(["neighbourhood", "flood-zone", "zoning", "other"]),
    required=True,
    help="What the polygons are. Neighbourhoods and flood zones are public map layers and "
    "finder filters (`--neighbourhood`, `--outside-flood`); zoning and other polygons are kept "
    "for reference (staff pages, Overlays) and filter nothing: the finder's `--zoning` reads "
    "each parcel's own zoning code.",
)
@click.option("--name-field", help="Column that names each polygon (default: name, NAME...).")
@click.option("--srid", type=click.IntRange(1), help="EPSG code, if the file declares none.")
@LAYER
@ENCODING
@click.option("--replace", is_flag=True, help="Replace the overlays of this kind from this file.")
@click.option(
    "--all-zones",
    is_flag=True,
    help="With --kind flood-zone: keep every polygon of a FEMA flood map (its SFHA_TF or "
    "FLD_ZONE column), zone X included. By default only the special flood hazard area (1% "
    "annual chance: zones A, AE, AH, AO, AR, A99, V, VE) is kept.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_layer(path, kind, name_field, srid, layer, encoding, replace, all_zones, quiet) -> None:
    """Import overlay polygons: neighbourhoods, flood zones, zoning districts.

    Neighbourhoods and flood zones are map layers and finder filters; zoning districts and
    others are kept for reference. A FEMA flood map (National Flood Hazard Layer) covers the
    whole county: its zone X is left out unless --all-zones."""
    setup_django()
    from parcels.importing import count_text
    from parcels.overlays import import_overlays

    if all_zones and kind != "flood-zone":
        raise click.UsageError("--all-zones is for --kind flood-zone")
    with user_errors():
        imported = import_overlays(
            path, kind=kind, name_field=name_field, srid=srid, layer=layer, encoding=encoding,
            replace=replace, all_zones=all_zones, progress=not quiet,
        )  # fmt: skip
    say(f"clt: imported {count_text(imported.count, f'{kind} polygon')} from {imported.source}")
    if imported.left_out:
        say(f"clt: {imported.left_out}")
    for note in imported.notes:
        say(f"clt: {note}")


# parcels.finder.PIPELINE_CHOICES, in words (the finder is imported once Django is set up).
PIPELINE_HELP = (
    "Lots by where they stand in the acquisition pipeline, by their latest step: any (the "
    "default: every lot, its stage shown), new (never in it), open (prospect, under review, "
    "offer made or under contract), dropped, acquired (its last step says so, yet the trust "
    "does not hold it); comma-separated: new,open leaves out the lots dropped."
)
# What counts as touching unless told (parcels.queries.TOUCHING_M, which a test compares).
TOLERANCE_M = "0.5"
TOLERANCE_HELP = (
    "Gap (metres) still counted as touching: real layers leave slivers and gaps of up to half "
    "a metre between neighbours; lots farther apart are not neighbours."
)


def _finder_options(function):
    """The finder's filters, shared by vacant-lots, adjacent-lots and assemblages."""
    options = [
        click.option("--min-area-m2", help="Smallest area of each lot, m²."),
        click.option("--max-area-m2", help="Largest area of each lot, m²."),
        click.option("--min-acres", help="Smallest area of each lot, acres."),
        click.option("--max-acres", help="Largest area of each lot, acres."),
        click.option("--land-use", help="Land-use codes, comma-separated."),
        click.option("--zoning", help="Zoning codes, comma-separated (R-1,R-2)."),
        click.option("--tax-status", help="current, delinquent, forfeited (comma-separated)."),
        click.option("--owner", help="Owner kinds: city, state, county, private."),
        click.option("--bbox", help="minlon,minlat,maxlon,maxlat (EPSG:4326)."),
        click.option(
            "--neighbourhood",
            help="Name of a neighbourhood overlay: lots overlapping it by more than 0.5 m.",
        ),
        click.option("--near", help="lon,lat of a point to measure distance from."),
        click.option("--address", help="An address in the registry to measure distance from."),
        click.option("--within-m", help="Only lots within this many metres of --near/--address."),
        click.option("--near-holdings-m", help="Only lots within this many metres of trust land."),
        click.option(
            "--outside-flood",
            is_flag=True,
            help="Skip lots in a flood zone, overlapping one by more than 0.5 m (refused when "
            "none is loaded: clt import-layer FILE --kind flood-zone).",
        ),
        click.option("--pipeline", help=PIPELINE_HELP),
        click.option(
            "--easement",
            type=click.Choice(["any", "exclude"]),
            help="exclude: leave out lots a conservation easement in force covers (by default "
            "each lot says under_easement).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


# The finder's filters the options above pass on by name (`outside_flood`, a flag, apart). A
# filter missing here was dropped without a word: the whole list answered, unfiltered (a test
# keeps this, the options and `finder.LOT_FILTERS` in step). No `polygon`: a shape is given to
# the API, or here as a bbox.
FINDER_KEYS = ("min_area_m2", "max_area_m2", "min_acres", "max_acres", "land_use", "zoning",
               "tax_status", "owner", "bbox", "neighbourhood", "near", "address", "within_m",
               "near_holdings_m", "pipeline", "easement")  # fmt: skip
NOT_ON_THE_COMMAND_LINE = ("polygon",)


def _params(options: dict) -> dict[str, str]:
    params = {k: str(v) for k, v in options.items() if k in FINDER_KEYS and v is not None}
    if options.get("outside_flood"):
        params["outside_flood"] = "1"
    return params


def _emit(collection: dict, fmt: str, columns: tuple[str, ...]) -> None:
    from parcels.finder import as_csv, as_table

    if fmt == "geojson":
        import json

        click.echo(json.dumps(collection))
    elif fmt == "csv":
        sys.stdout.write(as_csv(collection, columns))
    else:
        click.echo(as_table(collection, columns))


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "geojson"]),
                      default="table", show_default=True)  # fmt: skip
PAGE = click.option("--page", default="1", show_default=True, help="Which page of the answer.")


def limit_option(what: str):
    """--limit: how many `what` a page holds (parcels.finder.MAX_PAGE_SIZE at most)."""
    return click.option("--limit", default="100", show_default=True,
                        help=f"{what} per page (max 1000).")  # fmt: skip


def _say_found(collection: dict, found: str) -> None:
    """The note after an answer: what was `found` on which page, and how to ask for the next
    when there is one (the API's `has_next`): a page cut at --limit looked like the whole."""
    page = collection["page"]
    more = f"; more on page {page + 1}: add --page {page + 1}" if collection["has_next"] else ""
    say(f"clt: {found} (page {page}){more}")


@click.command("vacant-lots")
@_finder_options
@click.option(
    "--order",
    type=click.Choice(["distance", "area", "score"]),
    help="Sort order (default: distance when a point is given, else score).",
)
@limit_option("Lots")
@PAGE
@FORMAT
def vacant_lots(order, limit, page, fmt, **options) -> None:
    """Find vacant lots by area, use, zoning, tax status, owner, place, pipeline stage; sort;
    page. Each lot shows its latest step in the acquisition pipeline, if it has one."""
    setup_django()
    from parcels import finder

    params = _params(options) | {"limit": limit, "page": page}
    if order:
        params["order"] = order
    with user_errors():
        collection = finder.vacant_lots_geojson(params)
    _emit(collection, fmt, finder.LOT_COLUMNS)
    found = len(collection["features"])
    _say_found(collection, f"{found} lot{'' if found == 1 else 's'}")


@click.command("adjacent-lots")
@_finder_options
@click.option("--tolerance-m", default=TOLERANCE_M, show_default=True, help=TOLERANCE_HELP)
@limit_option("Lots")
@PAGE
@FORMAT
def adjacent_lots(tolerance_m, limit, page, fmt, **options) -> None:
    """Vacant lots that touch land the trust holds, and which holding each touches.

    Nearest first, a page at a time."""
    setup_django()
    from parcels import finder

    params = _params(options) | {"tolerance_m": tolerance_m, "limit": limit, "page": page}
    with user_errors():
        collection = finder.adjacent_lots_geojson(params)
    _emit(collection, fmt, finder.ADJACENT_COLUMNS)
    found = len(collection["features"])
    _say_found(collection, f"{found} vacant lot{' touches' if found == 1 else 's touch'} "
                           "trust land")  # fmt: skip


@click.command("assemblages")
@_finder_options
@click.option("--tolerance-m", default=TOLERANCE_M, show_default=True, help=TOLERANCE_HELP)
@click.option("--min-lots", default="2", show_default=True, help="Fewest lots in a group.")
@click.option(
    "--min-total-m2", help="Smallest combined area of a group, m² (--min-area-m2: of each lot)."
)
@click.option(
    "--touching-trust-land/--apart-from-trust-land",
    default=None,
    help="Only the groups beside land the trust holds (within the tolerance), or only those "
    "apart from it (by default both, each saying touches_trust_land).",
)
@limit_option("Groups")
@PAGE
@FORMAT
def assemblages(tolerance_m, min_lots, min_total_m2, touching_trust_land, limit, page, fmt,
                **options) -> None:  # fmt: skip
    """Groups of touching vacant lots (a farm, a co-op site): size, area, outline.

    Largest first, a page at a time."""
    setup_django()
    from parcels import finder

    params = _params(options) | {"tolerance_m": tolerance_m, "min_lots": min_lots,
                                 "limit": limit, "page": page}  # fmt: skip
    if min_total_m2:
        params["min_total_m2"] = min_total_m2
    if touching_trust_land is not None:
        params["touches_trust_land"] = "true" if touching_trust_land else "false"
    with user_errors():
        collection = finder.assemblages_geojson(params)
    _emit(collection, fmt, finder.ASSEMBLAGE_COLUMNS)
    found = len(collection["features"])
    _say_found(collection, f"{found} assemblage{'' if found == 1 else 's'}")


COMMANDS: list[click.Command] = [
    import_parcels, import_layer, vacant_lots, adjacent_lots, assemblages,
]  # fmt: skip
