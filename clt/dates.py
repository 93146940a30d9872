"""The dates a registry record may carry: a land trust's deeds, leases and events, not the
calendar's every day.

PostgreSQL keeps years up to 294276 and Python's dates stop at 9999, so "9999-12-31 23:59" in
the trust's time zone (in year 10000 in UTC) was stored and then could not be read back: every
page showing the record was a 500, with no way to correct it from the admin. A year typed with
a digit too many or too few (20225, 225) is a mistake to catch where it is typed, with the
range said. The range is wide on purpose: deeds and indexes reach back to the 1800s, and a
99-year lease signed in 2100 ends in 2199.

A year of four digits out of that range is parsed, then refused by `check_registry_date`; one of
one to three or of five and more digits (`20266-11-01`, `226-11-01`) is no date Django parses,
and Django's "Enter a valid date." did not say what was wrong: `RegistryDateField` says the year
looks mistyped, and how a date is written. The admin's date fields are made of it by
`RegistryDateFields`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

EARLIEST = dt.date(1800, 1, 1)
LATEST = dt.date(2199, 12, 31)
# Years a building may have been built in; a house being built now may say next year's.
EARLIEST_BUILT = 1700


def check_registry_date(value: dt.date | dt.datetime | None) -> None:
    """A date or date-time between EARLIEST and LATEST (a date-time by its local day)."""
    if value is None:
        return
    day = timezone.localtime(value).date() if isinstance(value, dt.datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(
            f"{value:%Y-%m-%d} is outside the dates the registry keeps ({EARLIEST} to {LATEST}); "
            "is the year mistyped?",
            code="date_out_of_range",
        )


def refuse_after_today(field: str, day: dt.date | None, advice: str) -> None:
    """Refuse `day`, the value of `field`, if it is after the trust's today: something that is
    recorded once it has happened (a visit, a signed baseline, a recorded document). `advice`
    says when to record it ("record the baseline once its documentation is signed.")."""
    today = timezone.localdate()
    if day and day > today:
        raise ValidationError(
            {field: f"{day} is after today ({today}): {advice}"}, code="in_the_future"
        )


def check_year_built(value: int | None) -> None:
    """A year a building can have been built in: from EARLIEST_BUILT to next year."""
    if value is None:
        return
    latest = timezone.localdate().year + 1
    if not EARLIEST_BUILT <= value <= latest:
        raise ValidationError(
            f"{value} is not a year a building was built in ({EARLIEST_BUILT} to {latest})",
            code="year_out_of_range",
        )


# Dates as typed in the admin's formats (DATE_INPUT_FORMATS: 2026-11-01, 11/01/2026, 11/01/26,
# Nov 1 2026, 1 November, 2026), with the year's digits and how many digits a year may have.
DATE_SHAPES: tuple[tuple[re.Pattern[str], tuple[int, ...]], ...] = (
    (re.compile(r"(?P<year>\d+)-\d{1,2}-\d{1,2}"), (4,)),
    (re.compile(r"\d{1,2}/\d{1,2}/(?P<year>\d+)"), (2, 4)),
    (re.compile(r"(?:[A-Za-z]+\.? +\d{1,2},?|\d{1,2} +[A-Za-z]+\.?,?) +(?P<year>\d+)"), (4,)),
)


def mistyped_year(text: str) -> str | None:
    """The year of `text` when it is written like a date but its year has a digit too many or
    too few ("20266" of "20266-11-01"); else None."""
    for shape, digits in DATE_SHAPES:
        found = shape.fullmatch(text.strip())
        if found and len(found["year"]) not in digits:
            return found["year"]
    return None


class RegistryDateField(forms.DateField):
    """A form's date field that says, of a date whose year has too many or too few digits, that
    the year looks mistyped, with the dates the registry keeps; of any other text that is no
    date, how to write one (Django's "Enter a valid date." did not, for "31/31/2020": WCAG
    3.3.3, an error's suggestion)."""

    default_error_messages = {
        "invalid": "Enter a valid date, written like 2026-11-01 or 11/01/2026 (month first)."
    }

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as exc:
            year = mistyped_year(value) if isinstance(value, str) else None
            if year is None:
                raise
            raise ValidationError(
                f"“{value.strip()}” has a {len(year)}-digit year, {year}: is the year mistyped? "
                f"The registry keeps dates from {EARLIEST} to {LATEST}, written like "
                "2026-11-01.",
                code="year_mistyped",
            ) from exc


# Said under every admin date field, before anything is typed (WCAG 3.3.2): the format was
# said only once a date was refused.
DATE_FORMAT_HELP = "Written like 2026-11-01 (or 11/01/2026, month first)."


class RegistryDateFields:
    """A ModelAdmin or inline mixin: each model DateField's form field is a `RegistryDateField`
    (with whatever widget the admin gives it), its help text saying how a date is written.
    Date-times are left to Django's own field."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateField) and not isinstance(
            db_field, models.DateTimeField
        ):
            kwargs.setdefault("form_class", RegistryDateField)
            said = str(db_field.help_text).strip()
            kwargs.setdefault("help_text", f"{said} {DATE_FORMAT_HELP}".strip())
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def missing_day(text: str) -> str | None:
    """Why `text`, written YYYY-MM-DD, names no day ("February 2023 has 28 days"); None when
    it does name one, or is not written that way at all."""
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    if year < 1:
        return "the years run from 1 to 9999"
    if not 1 <= month <= 12:
        return f"there is no month {month}; months run from 01 to 12"
    days = calendar.monthrange(year, month)[1]
    if day < 1:
        return "days are numbered from 01"
    if day > days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    return None
