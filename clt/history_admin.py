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
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.utils.http import url_has_allowed_host_and_scheme
from pghistory import core as pghistory_core
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
        problem = obj_problem(request.GET.get("obj")) or event_model_problem(
            request.GET.get("event_model")
        )
        if problem:  # pghistory would query with it and fail with a 500
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        extra_context = {"title": self.model._meta.verbose_name_plural.capitalize(),
                         **(extra_context or {})}  # fmt: skip
        back = request.GET.get("back", "")
        if back and _same_site_path(request, back):
            extra_context["pgh_back"] = back  # else no Back link: never one to another site
        extra_context.setdefault("subtitle", _subtitle(request))
        # pghistory's own view reads the record back for its subtitle, which failed (a 500) for
        # a deleted record: the one whose history staff most need. Its list is Django's.
        return admin.ModelAdmin.changelist_view(self, request, extra_context=extra_context)


def _subtitle(request) -> str | None:
    """What the list shows: one record's events (named, or its id once deleted), one model's,
    or, unfiltered, the list without the county imports' parcel inserts."""
    value, method = request.GET.get("obj"), request.GET.get("method")
    if value and ":" in value:
        label, pk = value.split(":", 1)
        model = _model(label)
        if model is not None:
            said = _record_named(request, model, pk)
            return f"{method.title()} {said}" if method else said
    model = _model(request.GET.get("model"))
    if model is not None:
        return model._meta.label
    if not FILTERS.intersection(request.GET):  # the unfiltered list: say what it leaves out
        return (
            "Parcels added by county imports are not listed here: see each parcel's "
            "history, or filter by “insert”."
        )
    return None


def _record_named(request, model, pk: str) -> str:
    """The record `pk` of `model` as the subtitle names it: by its own name only for a model
    whose history is kept and that this user may view. Any other (`obj=auth.User:1`, an
    access token) is named by its id alone, without reading it: the subtitle told any staff
    member every user name and every token's owner, and which ids existed."""
    kind = f"{model._meta.verbose_name} {pk}"
    opts = model._meta
    tracked = bool(pghistory_core.event_models(tracks_model=model))
    if not tracked or not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return kind
    record = model._default_manager.filter(pk=pk).first()
    return str(record) if record else f"{kind} (deleted)"


def _same_site_path(request, url: str) -> bool:
    """Whether `url` is a path on this site ("/admin/leases/party/1/change/"): the Back link
    of a record's history. A full URL, "//host" or "javascript:" is not."""
    return (
        url.startswith("/")
        and not url.startswith("//")
        and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
    )


def _model(label: str | None):
    try:
        return apps.get_model(label) if label else None
    except (LookupError, ValueError):
        return None


def event_model_problem(value: str | None) -> str | None:
    """Why the `event_model` parameter names no kind of history event; None if it does."""
    if not value:
        return None
    known = {model._meta.label_lower for model in pghistory_core.event_models()}
    if value.lower() in known:
        return None
    return f"event_model: {value!r} is not a kind of history event (e.g. parcels.parcelevent)"


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
