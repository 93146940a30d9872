"""The dates a registry record may carry: a land trust's deeds, leases and events, not the
calendar's every day.

PostgreSQL keeps years up to 294276 and Python's dates stop at 9999, so "9999-12-31 23:59" in
the trust's time zone (in year 10000 in UTC) was stored and then could not be read back: every
page showing the record was a 500, with no way to correct it from the admin. A year typed with
a digit too many or too few (20225, 225) is a mistake to catch where it is typed, with the
range said. The range is wide on purpose: deeds and indexes reach back to the 1800s, and a
99-year lease signed in 2100 ends in 2199.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
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
