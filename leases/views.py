"""The stewardship report for staff: a page and its CSV download.

Thin: check who asks, read the date, call `leases.report`, render. The report aggregates only;
it names no household, so it may go to funders as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from clt.dates import check_registry_date, missing_day
from leases.report import report_csv, stewardship_report


class BadDate(ValueError):
    """The `as_of` parameter is not a date, or not one the registry keeps."""


# Python 3.11's fromisoformat also reads ISO's other forms ("20241231", "2024-W01-1"), which
# the CLI's --as-of refuses: a link or script that works on one should work on the other.
YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def report_access(view: Callable) -> Callable:
    """Staff who may view leases (editor and read-only roles); others log in or are refused."""

    @wraps(view)
    @staff_member_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm("leases.view_groundlease"):
            raise PermissionDenied("The stewardship report is for staff who may view leases.")
        return view(request, *args, **kwargs)

    return wrapper


def parse_as_of(request: HttpRequest) -> dt.date:
    """The `as_of` date (YYYY-MM-DD, within the registry's dates) asked for, or today."""
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return timezone.localdate()
    not_a_date = BadDate(f"as_of: {raw!r} is not a date written YYYY-MM-DD")
    if not YYYY_MM_DD.fullmatch(raw):
        raise not_a_date
    try:
        on = dt.date.fromisoformat(raw)  # the pattern lets by 2026-13-01 and 2023-02-30
    except ValueError:
        reason = missing_day(raw)  # "February 2024 has 29 days", as the CLI says it
        raise (BadDate(f"as_of: {raw} is not a date: {reason}") if reason else not_a_date) from None
    try:
        check_registry_date(on)  # 9999-12-31 was a report on a day no record can carry
    except ValidationError as exc:
        raise BadDate(f"as_of: {exc.messages[0]}") from None
    return on


@require_safe
@report_access
def report_page(request: HttpRequest) -> HttpResponse:
    """GET /staff/report/?as_of=YYYY-MM-DD: the stewardship report as a page."""
    try:
        on = parse_as_of(request)
    except BadDate as exc:
        context = {"error": str(exc), "as_of": request.GET.get("as_of", "")}
        return render(request, "leases/report.html", context, status=400)
    return render(
        request, "leases/report.html", {"report": stewardship_report(on), "as_of": on.isoformat()}
    )


@require_safe
@report_access
def report_download(request: HttpRequest) -> HttpResponse:
    """GET /staff/report.csv?as_of=YYYY-MM-DD: the report as CSV (section,item,measure,value)."""
    try:
        on = parse_as_of(request)
    except BadDate as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        report_csv(stewardship_report(on)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="stewardship-report-{on.isoformat()}.csv"'
    )
    return response
