"""What every `clt` command shares: messages, the database, Django set-up, clean errors.

App command modules (`parcels/cli.py`, `leases/cli.py`, `maps/cli.py`) import from here, and
`clt/cli.py` gathers their `COMMANDS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

import click
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from clt import localdb
from clt.dates import check_registry_date, missing_day


def say(message: str) -> None:
    """A progress or status line for people, on stderr (stdout stays for data)."""
    click.echo(message, err=True)


def uses_local_db() -> bool:
    return not os.environ.get("DATABASE_URL")


def ensure_local_database() -> bool:
    """Start the project's own PostGIS if no DATABASE_URL is set; True if this call started it."""
    if not uses_local_db():
        return False
    try:
        started = localdb.start(log=say)
        localdb.ensure_database()
    except localdb.LocalDbError as exc:
        raise click.ClickException(str(exc)) from exc
    return started


def setup_django(*, database: bool = True) -> None:
    """Configure Django; with `database`, make sure the database is up first."""
    if database:
        ensure_local_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    import django

    django.setup()


def describe_validation_error(exc) -> str:
    """A Django ValidationError as one line: `field: message; field: message` (an error of the
    whole record, Django's `__all__`, without a field: it names nothing a person typed)."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != NON_FIELD_ERRORS else " ".join(messages)
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors (ValueError subclasses, Django ValidationError) into a clean exit 1.

    A user's mistake gets its message and a non-zero exit, never a traceback.
    """
    from django.core.exceptions import ValidationError

    try:
        yield
    except ValidationError as exc:
        raise click.ClickException(describe_validation_error(exc)) from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


class IsoDate(click.DateTime):
    """A `YYYY-MM-DD` option (a datetime at midnight, as click.DateTime gives) that names a day
    the calendar does not have: click said a well-formed 2023-02-30 "does not match the format
    '%Y-%m-%d'", sending people to check a format that was right."""

    name = "date"

    def __init__(self, *, registry_range: bool = True) -> None:
        super().__init__(formats=["%Y-%m-%d"])
        # Off for an option with a narrower check of its own that names the latest day
        # (a token's --expires: ten years at most).
        self.registry_range = registry_range

    def convert(self, value, param, ctx) -> dt.datetime:
        if isinstance(value, str):
            reason = missing_day(value)
            if reason:
                self.fail(f"{value} is not a date: {reason}", param, ctx)
        converted = super().convert(value, param, ctx)
        # The registry's dates (clt/dates.py), as the web's forms and report take them: a
        # report "as of" 9999-12-31 answered for a day no record can carry.
        try:
            if self.registry_range:
                check_registry_date(converted.date())
        except ValidationError as exc:
            self.fail(exc.messages[0], param, ctx)
        return converted
