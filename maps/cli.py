"""`clt` commands of the maps app (gathered by clt/cli.py)."""

import os
import sys
from pathlib import Path

import click

from clt.clitools import IsoDate, say, setup_django, user_errors


@click.command("map-assets")
@click.option("--force", is_flag=True, help="Reinstall even if the pinned versions are present.")
@click.option("--check", is_flag=True, help="Only say whether they are installed (exit 1 if not).")
def map_assets(force: bool, check: bool) -> None:
    """Install the map's browser libraries (Leaflet, VectorGrid) from npm; no CDN at run time."""
    from maps import assets

    if check:
        ok = assets.installed()
        say("map assets: up to date" if ok else "map assets: not installed (run: clt map-assets)")
        raise SystemExit(0 if ok else 1)
    try:
        done = assets.install(force=force, log=say)
    except assets.AssetsError as exc:
        raise click.ClickException(str(exc)) from exc
    if not done:
        say("map assets: up to date")


@click.command("export")
@click.argument("layer_name", metavar="LAYER")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "csv", "shp"]),
    required=True,
    help="geojson (RFC 7946), gpkg, csv (+ CSVW metadata), shp.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    required=True,
    help="The file to write (for shp, a .zip gets the zipped set); '-' writes GeoJSON or CSV "
    "to stdout (the CSV without its CSVW metadata).",
)
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.option("--bbox", help="minx,miny,maxx,maxy (lon,lat in CRS84 unless --bbox-crs).")
@click.option("--bbox-crs", help="CRS of --bbox, e.g. EPSG:2255 (or its URI).")
@click.option("--crs", help="CRS of the output (not for GeoJSON), e.g. EPSG:2255.")
@click.option("--datetime", "when", help="RFC 3339 date, date-time or interval (dated layers).")
@click.option(
    "--where",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Keep features whose field equals the value (repeatable).",
)
def export(
    layer_name: str,
    fmt: str,
    output: Path,
    force: bool,
    bbox: str | None,
    bbox_crs: str | None,
    crs: str | None,
    when: str | None,
    where: tuple[str, ...],
) -> None:
    """Export a map layer (any audience: the CLI runs with the database's rights)."""
    setup_django()
    from django.http import QueryDict

    from maps.exporting import STREAMABLE, Export, write_file
    from maps.layers import all_layers
    from maps.ogcapi.params import parse_crs, parse_filter
    from maps.ogcapi.query import count as features_matched

    layers = all_layers()
    layer = layers.get(layer_name)
    if layer is None:
        raise click.BadParameter(
            f"'{layer_name}' is not a layer; layers: {', '.join(layers)}", param_hint="LAYER"
        )
    if when is not None and not layer.datetime_field:
        dated = ", ".join(name for name, each in layers.items() if each.datetime_field)
        raise click.BadParameter(
            f"layer '{layer.name}' has no dates to filter on; dated layers: {dated}",
            param_hint="--datetime",
        )
    to_stdout = str(output) == "-"
    if to_stdout and fmt not in STREAMABLE:
        kind, suffix = FILE_ONLY[fmt]
        raise click.BadParameter(
            f"a {kind} cannot be written to stdout ('-'): GDAL writes it as a file, in place; "
            f"give a file name, e.g. -o {layer.name}.{suffix} (stdout takes "
            f"{' or '.join(STREAMABLE)})",
            param_hint="--output",
        )
    if not to_stdout:
        _check_output(output, force=force)
    query = QueryDict(mutable=True)
    for name, value in (("bbox", bbox), ("bbox-crs", bbox_crs), ("datetime", when)):
        if value is not None:
            query[name] = value
    for condition in where:
        name, sep, value = condition.partition("=")
        if not sep or name not in layer.field_names:
            raise click.BadParameter(
                f"'{condition}': give FIELD=VALUE with one of {', '.join(layer.field_names)}",
                param_hint="--where",
            )
        query.appendlist(name, value)
    with user_errors():
        spec = Export(layer, parse_filter(layer, query), parse_crs(crs))
        if to_stdout:
            _write_to_stdout(spec, fmt)
        else:
            write_file(spec, fmt, output)
    # Counted, not summed from the provenance's sources: a lease whose parcels came from two
    # county files is under both, and an overlay names no file.
    count = features_matched(layer, spec.filter)
    noun = "feature" if count == 1 else "features"
    where_to = "stdout" if to_stdout else output
    say(f"clt: wrote {layer.name} to {where_to}" + (f" ({count:,} {noun})" if count else ""))
    if to_stdout and fmt == "csv":
        say("clt: the CSV alone; its CSVW metadata is written beside a file (-o NAME.csv)")


# The formats `clt export -o -` refuses: what each is, and the suffix of a file name for it.
FILE_ONLY = {"gpkg": ("GeoPackage", "gpkg"), "shp": ("Shapefile", "shp.zip")}


def _check_output(output: Path, *, force: bool) -> None:
    """The export's file, checked before anything is read: its folder must exist, and a file
    already there is replaced only with --force, as `clt report --csv` and `clt backup` do (a
    second export to tl2255.gpkg silently replaced a county-CRS GeoPackage with a CRS84 one)."""
    folder = output.resolve().parent
    if not folder.is_dir():
        raise click.BadParameter(
            f"folder {folder} does not exist; create it or write elsewhere", param_hint="--output"
        )
    if output.exists() and not force:
        raise click.ClickException(f"-o {output}: the file exists; pass --force to replace it")


def _write_to_stdout(spec, fmt: str) -> None:
    """The export on stdout, as bytes (UTF-8, as PostGIS wrote it). A reader that stops early
    (`| head`) ends the export quietly, as it would any other command: no traceback, and no
    second complaint when Python flushes stdout at exit."""
    from maps.exporting import write_stream

    try:
        write_stream(spec, fmt, sys.stdout.buffer)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None


@click.group("token")
def token() -> None:
    """Planners' access tokens for the staff layers: create, list, revoke."""


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What it is for, e.g. 'QGIS, planning laptop'.")
@click.option(
    "--expires", type=IsoDate(registry_range=False), help="Last day it works (YYYY-MM-DD)."
)
def token_create(username: str, name: str, expires) -> None:
    """Make a read-only token for USERNAME (a staff member); it is printed once, on stdout."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from maps import tokens

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise click.BadParameter(f"no user '{username}'", param_hint="USERNAME")
    _check(tokens.check_name, name, "--name")
    expires_at = None
    if expires:
        if expires.date() < timezone.localdate():
            raise click.BadParameter(
                f"{expires:%Y-%m-%d} has passed: give today or a later day", param_hint="--expires"
            )
        _check(tokens.check_last_day, expires.date(), "--expires")
        midnight = expires.replace(hour=23, minute=59, second=59)
        expires_at = timezone.make_aware(midnight)
    with user_errors():
        made, key = tokens.issue(user, name, expires_at=expires_at)
    say(f"clt: token {made.pk} ({made.prefix}…) for {user}: copy it now, it is not shown again")
    click.echo(key)


def _check(check, value, option: str) -> None:
    """Run one of maps.tokens' checks on an option's value; its refusal names the option."""
    try:
        check(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from exc


@token.command("list")
def token_list() -> None:
    """Every token: id, prefix, user, name, last use and whether it works (live, expired on
    its last day, revoked, refused as its user left the staff; live but seeing no staff layer
    when its user has no role), dates in the trust's time zone."""
    setup_django()
    from django.utils import timezone

    from maps import tokens
    from maps.layers import staff_layers_for
    from maps.models import AccessToken

    local = timezone.localtime
    made = AccessToken.objects.select_related("user").order_by("pk")
    if not made.exists():
        say("clt: no access tokens yet; make one with `clt token create USER --name ...`")
    for t in made:
        used = f"{local(t.last_used_at):%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        if t.revoked_at:
            state = f"revoked {local(t.revoked_at):%Y-%m-%d}"
        elif t.expires_at and t.expires_at <= timezone.now():
            state = f"expired (last day {local(t.expires_at):%Y-%m-%d})"
        elif not tokens.on_staff(t.user):  # as `tokens.user_for` refuses it
            state = "refused: user not on staff"
        else:
            state = f"live until {local(t.expires_at):%Y-%m-%d}" if t.expires_at else "live"
            if not staff_layers_for(t.user):
                state += ", but sees no staff layer: user has no role"
        click.echo(f"{t.pk}\t{t.prefix}…\t{t.user}\t{t.name}\t{used}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID (see `clt token list`); it stops working at once."""
    setup_django()
    from maps import tokens
    from maps.models import AccessToken

    found = AccessToken.objects.filter(pk=token_id).first()
    if found is None:
        raise click.BadParameter(
            f"no token {token_id}; see `clt token list`", param_hint="TOKEN_ID"
        )
    if found.revoked_at is not None:  # said "revoked" again, as if this call had done it
        from django.utils import timezone

        revoked_on = timezone.localtime(found.revoked_at)
        say(f"clt: token {found.pk} ({found.prefix}…, {found.name}) was already revoked on "
            f"{revoked_on:%Y-%m-%d}")  # fmt: skip
        return
    tokens.revoke(found)
    say(f"clt: token {found.pk} ({found.prefix}…, {found.name}) revoked")


COMMANDS: list[click.Command] = [map_assets, export, token]
