"""The staff's list of history events across the registry, usable at a county's scale.

pghistory's events list computes every event's change set (a JSON diff against the previous
event of the same record) over every event table, then sorts them all to show the newest 100.
After a county's first import that is a million parcel "insert" events: the page took 42 s at
1M parcels and held a database connection all that time, from one click on the admin index.

Unfiltered, the list here leaves out those county-import inserts: one per parcel, each already
listed on its parcel's history and counted by its import run. What is left is the record of
changes people and imports made (0.5-0.7 s at 1M parcels). Any filter (a record, a label, a
kind of event) shows exactly what it asks for, as pghistory does.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseBadRequest
from pghistory.admin import EventsAdmin
from pghistory.admin.core import EventsChangeList

# The parcels' own "insert" events, written by county imports a million at a time.
PARCEL_INSERTS = Q(pgh_model="parcels.ParcelEvent") & Q(pgh_label="insert")
# The query parameters of pghistory's filters (pghistory.admin.core).
FILTERS = frozenset({"label", "event_model", "obj", "model", "method"})


class RecentChangesList(EventsChangeList):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if self.has_active_filters else queryset.exclude(PARCEL_INSERTS)


class RecentChangesAdmin(EventsAdmin):
    """pghistory's events admin (settings.PGHISTORY_ADMIN_CLASS), with the list above."""

    def get_changelist(self, request, **kwargs):
        return RecentChangesList

    def changelist_view(self, request, extra_context=None):
        problem = obj_problem(request.GET.get("obj"))
        if problem:  # pghistory would query with it and fail with a 500
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        extra_context = extra_context or {}
        if not FILTERS.intersection(request.GET):  # the unfiltered list: say what it leaves out
            extra_context.setdefault(
                "subtitle",
                "Parcels added by county imports are not listed here: see each parcel's "
                "history, or filter by “insert”.",
            )
        return super().changelist_view(request, extra_context=extra_context)


def obj_problem(value: str | None) -> str | None:
    """Why the `obj` parameter (`app.Model:pk`) names no possible record; None if it may."""
    if not value or ":" not in value:
        return None
    label, pk = value.split(":", 1)
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None  # pghistory ignores a model it does not know
    try:
        model._meta.pk.to_python(pk)
    except ValidationError:
        return f"obj: {pk!r} is not a {model._meta.verbose_name} id (in {value!r})"
    return None
