"""The `clt` command: set up, run and work with the land trust registry.

Each command is one short function that parses its arguments and calls the code that does the
work; domain errors become a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from pathlib import Path

import click

from clt import localdb
from clt.clitools import ensure_local_database, say, setup_django, uses_local_db


class CltGroup(click.Group):
    """Lists commands in the order they were added (set-up first), not alphabetically; a
    database that cannot be reached is one line that says which and what to do, for every
    command (it was a 100-line traceback from most of them), and so are settings that refuse
    the environment (`CLT_DB_POOL=abc`, production without DATABASE_URL)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _settings_refused(exc):
                raise click.ClickException(str(exc)) from exc
            if not _database_unreachable(exc):
                raise
            raise click.ClickException(_unreachable_message(exc)) from exc


def _settings_refused(exc: BaseException) -> bool:
    """Whether the settings refused the environment; their message names the variable."""
    from django.core.exceptions import ImproperlyConfigured

    return isinstance(exc, ImproperlyConfigured)


def _database_unreachable(exc: BaseException) -> bool:
    import psycopg

    try:
        from django.db.utils import InterfaceError, OperationalError
    except ImportError:  # pragma: no cover - Django is a dependency
        return isinstance(exc, psycopg.OperationalError)
    return isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError)


def _unreachable_message(exc: BaseException) -> str:
    from urllib.parse import urlsplit

    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        where = f"DATABASE_URL's {parts.hostname}:{parts.port or 5432}{parts.path}"
        fix = "check DATABASE_URL (host, port, name, user and password) and that it runs"
    else:
        where = "the project's own database"
        fix = "see `clt db status`, or start it with `clt db start`"
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"cannot use {where}: {reason}. Fix: {fix}"


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120, "terminal_width": 120}


@click.group(cls=CltGroup, context_settings=CONTEXT)
@click.version_option(package_name="clt")
def main() -> None:
    """clt — a community land trust registry with GIS.

    With no DATABASE_URL set, commands use the project's own PostGIS in .clt/ and start it
    when they need it.
    """
    # At exit, Python's last garbage collections walk every object still alive (Django,
    # GDAL, pandas, pyarrow: ~0.3 s) only to free memory the process is about to hand back
    # anyway. Frozen objects are skipped; objects are still freed by reference counting, and
    # files and connections are still closed. Registered before the command runs, so after
    # the command's own exit handlers; once, however often tests call this group.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not load the demo neighbourhood.")
def up(host: str, port: int, no_demo: bool) -> None:
    """Start the database, migrate, load the demo data and serve the app."""
    _check_port_free(host, port)  # before starting anything, so nothing is left running
    started = ensure_local_database()
    try:
        setup_django(database=False)
        _migrate()
        if not no_demo:
            _refuse_demo_in_production()
            _load_demo_if_empty()
        say(f"clt: serving on http://{host}:{port}/  (staff: /admin/, Ctrl-C to stop)")
        _runserver(host, port)
    finally:
        if started:
            localdb.stop(log=say)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the app (no migration, no demo data)."""
    _check_port_free(host, port)
    setup_django()
    _runserver(host, port)


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port something else listens on, saying so; Django's runserver would exit the
    process on it (os._exit), past every clean-up, leaving the database `up` started running."""
    error = localdb.bind_error(port, host=host, reuse_address=True)
    if error is not None:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {error.strerror}. Stop what uses it, or choose "
            "another port with --port"
        )


def _runserver(host: str, port: int) -> None:
    """Django's development server, each request's database connection closed after it.

    runserver gives each browser connection a thread of its own, and a kept-alive browser
    connection kept its thread's database connection open for CONN_MAX_AGE: a map's tiles left
    15-34 idle connections per server, enough to exhaust a small PostgreSQL. gunicorn (the
    Docker image, production) keeps its persistent connections or its pool.
    """
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from clt import devserver

    for alias in connections:  # the dicts every thread's connection is made from
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    # WhiteNoise reads each static file's size once, at start; a file edited after (map.js)
    # was then served cut to its old length, a syntax error and a blank map. The development
    # server looks again on each request (the handler is built after this, when runserver runs).
    settings.WHITENOISE_AUTOREFRESH = True
    devserver.answer_without_delay()  # not 40 ms more for each request on a kept-alive tab
    call_command("runserver", f"{host}:{port}", use_reloader=False)


@main.command()
def migrate() -> None:
    """Create or update the database tables."""
    setup_django()
    _migrate()


def _migrate() -> None:
    """Apply the pending migrations, naming each (Django's own output is a line per step)."""
    from django.core.management import call_command

    from clt.schema import has_no_migrations_applied, pending_migrations

    pending, new = pending_migrations(), has_no_migrations_applied()
    if pending:
        say(f"clt: migrating the database ({len(pending)} to apply)")
    # Also when none is pending: its post_migrate step re-applies the staff roles and the map
    # layers' data-version triggers.
    call_command("migrate", interactive=False, verbosity=0)
    if new:  # every migration there is: their names would say nothing
        say(f"clt: created the registry's tables ({len(pending)} migrations)")
    else:
        for name in pending:
            say(f"clt: applied {name}")
    if not pending:
        say("clt: the database is already up to date")
    _say_place_warnings()


def _say_place_warnings() -> None:
    """The trust's place as the system check sees it (`parcels.metric.check_metric_crs`), said
    after every migrate: Django's migrate, run from here, skips the checks. Then the land on
    record, which a system check does not read (`land_outside_problem`)."""
    from parcels.metric import LAND_FIX, check_metric_crs, land_outside_problem, metric_srid

    messages = check_metric_crs()
    for message in messages:
        say(f"clt: warning: {message.msg}. {message.hint or ''}".rstrip())
    land = None if messages else land_outside_problem(metric_srid())
    if land:
        say(f"clt: warning: {land}. {LAND_FIX}")


@main.command("load-demo")
@click.option("--force", is_flag=True, help="Load even if the registry already has parcels.")
def load_demo(force: bool) -> None:
    """Load the demo West Jackson neighbourhood from fixtures/ (not under clt.production)."""
    setup_django()
    _refuse_demo_in_production()
    if force:
        _load_demo()
    else:
        _load_demo_if_empty()


def _refuse_demo_in_production() -> None:
    """The demo's households, names and incomes are fictional: in a production registry they
    would be mistaken for the trust's own, shown on its public map and counted in its reports."""
    from django.conf import settings

    if settings.CLT_PRODUCTION:
        raise click.ClickException(
            "the demo is for a development database, and these are the production settings "
            "(clt.production): its fictional households would go into the trust's registry. "
            "Load it with the development settings (clt.settings) on a database of its own; "
            "with docker compose, set CLT_DEMO=0 beside DJANGO_SETTINGS_MODULE=clt.production"
        )


def _load_demo_if_empty() -> None:
    from parcels.models import Parcel

    held = Parcel.objects.count()
    if held:  # the demo's, or the trust's own: either way not a place for fictional households
        say(
            f"clt: the registry already has {held:,} parcels, so the demo was not loaded "
            "(`clt load-demo --force` adds it anyway)"
        )
        return
    _load_demo()


def _load_demo() -> None:
    from parcels.demo import DemoDataError, load_demo_neighbourhood

    try:
        summary = load_demo_neighbourhood()
    except DemoDataError as exc:
        raise click.ClickException(str(exc)) from exc
    say(f"clt: loaded the demo neighbourhood: {summary}")


@main.group()
def db() -> None:
    """Manage the project's own PostgreSQL (used when DATABASE_URL is unset)."""


@db.command("start")
def db_start() -> None:
    """Create (first time) and start the local PostGIS."""
    if not uses_local_db():
        raise click.ClickException("DATABASE_URL is set: clt does not manage that server")
    ensure_local_database()
    say(f"clt: local PostGIS is running on 127.0.0.1:{localdb.connection().port}")


@db.command("stop")
def db_stop() -> None:
    """Stop the local PostGIS."""
    try:
        stopped = localdb.stop(log=say)
    except localdb.LocalDbError as exc:
        raise click.ClickException(str(exc)) from exc
    if not stopped:
        say("clt: the local PostGIS was not running")


@db.command("status")
def db_status() -> None:
    """Say whether the local PostGIS runs, and where."""
    _say_database_url_is_used()
    running = localdb.is_initialised() and localdb.is_running()
    state = "running" if running else "stopped"
    click.echo(f"{state}: data in {localdb.data_dir()}, port {localdb.connection().port}")
    sys.exit(0 if running else 1)


@db.command("url")
def db_url() -> None:
    """Print the DATABASE_URL of the local PostGIS (for psql, QGIS or another app)."""
    _say_database_url_is_used()
    click.echo(localdb.connection().url.replace("postgis://", "postgresql://", 1))


def _say_database_url_is_used() -> None:
    """With DATABASE_URL set to another server, the local cluster is not the one clt uses:
    say so first (a DATABASE_URL naming the local cluster itself is that cluster)."""
    from urllib.parse import urlsplit

    if uses_local_db():
        return
    url, local = urlsplit(os.environ["DATABASE_URL"]), localdb.connection()
    if (url.hostname, url.port) in {(local.host, local.port), ("localhost", local.port)}:
        return
    say("clt: DATABASE_URL is set, so clt uses that server; this is the unused local one")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup(file: Path, force: bool) -> None:
    """Back up the whole registry, history included, to FILE (pg_dump custom format)."""
    setup_django()
    from clt.backup import BackupError
    from clt.backup import backup as run_backup

    try:
        run_backup(file, force=force, log=say)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the current data.")
def restore(file: Path, yes: bool) -> None:
    """Replace the whole registry with the backup in FILE (all or nothing)."""
    setup_django()
    from django.conf import settings

    from clt.backup import BackupError, listing
    from clt.backup import restore as run_restore

    try:
        listing(file)  # refuse a file that is not a backup before asking anything
        if not yes:
            name = settings.DATABASES["default"]["NAME"]
            if not sys.stdin.isatty():
                raise click.ClickException(
                    f"restoring replaces everything in database {name}; pass --yes to confirm"
                )
            click.confirm(f"Replace everything in database {name} with {file}?", abort=True)
        run_restore(file, log=say)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--parcels", "count", default=10_000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth(count: int, seed: int, output: Path, quiet: bool) -> None:
    """Write a synthetic county parcel layer (GeoPackage, EPSG:2255) for tests and benchmarks."""
    if output.suffix.lower() != ".gpkg":
        raise click.BadParameter("the output must be a GeoPackage (.gpkg)", param_hint="-o")
    from clt.synth import SynthError, generate_city

    try:
        summary = generate_city(output, count, seed, progress=not quiet)
    except SynthError as exc:
        raise click.ClickException(str(exc)) from exc
    say(f"clt: wrote {summary.parcels:,} parcels to {output}")


@main.command()
def doctor() -> None:
    """Check settings, GDAL/GEOS/PROJ, database, migrations and map files, with each fix."""
    from clt.doctor import run_checks

    ok = run_checks(echo=click.echo, start_local_db=uses_local_db())
    sys.exit(0 if ok else 1)


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (createsuperuser, shell, dbshell...)."""
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["clt manage", *args])


def _add_app_commands() -> None:
    """Each app keeps its own commands in `<app>/cli.py` as a list named COMMANDS."""
    from leases.cli import COMMANDS as lease_commands
    from maps.cli import COMMANDS as map_commands
    from parcels.cli import COMMANDS as parcel_commands

    for command in (*parcel_commands, *lease_commands, *map_commands):
        main.add_command(command)


_add_app_commands()

if __name__ == "__main__":
    main()
