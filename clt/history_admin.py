"""The staff's list of history events across the registry, usable at a county's scale.

pghistory's events list computes every event's change set (a JSON diff against the previous
event of the same record) over every event table, then sorts them all to show the newest 100.
After a county's first import that is a million parcel "insert" events: the page took 42 s at
1M parcels and held a database connection all that time, from one click on the admin index.

Unfiltered, the list here leaves out those county-import inserts: one per parcel, each already
listed on its parcel's history and counted by its import run. What is left is the record of
changes people and imports made. Any filter (a record, a label, a kind of event) shows exactly
what it asks for, as pghistory does.

Leaving them out was not enough (7-8 s at 150k parcels, 16-18 s filtered by "insert"): the page
is picked by its events' keys alone and only its 100 events get a change set (`events_shown`),
and PostgreSQL's JIT, 6 s of the 7.5, is off for the page's queries. The count stays exact: one
pass over the events listed, no dearer than picking the page. Measured at 1M parcels with 38k
changes (median of 3): 0.41 s unfiltered, 0.47 s for "update", 1.0 s for "insert" (its million
events counted and sorted; 2.3 s for its page 9,000), "Show counts" 1.7-2.4 s.
"""

from __future__ import annotations

import json
from collections import defaultdict

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponseBadRequest
from django.utils.http import url_has_allowed_host_and_scheme
from pghistory import config as pghistory_config
from pghistory import core as pghistory_core
from pghistory.admin import EventsAdmin
from pghistory.admin.core import (
    BackFilter,
    EventModelFilter,
    EventsChangeList,
    LabelFilter,
    ModelFilter,
    ObjFilter,
)

from parcels.outline_changes import is_outline, outline_key, outlines_measured
from parcels.queries import without_jit

# The parcels' own "insert" events, written by county imports a million at a time.
PARCEL_INSERTS = Q(pgh_model="parcels.ParcelEvent") & Q(pgh_label="insert")
# The query parameters of pghistory's filters (pghistory.admin.core).
FILTERS = frozenset({"label", "event_model", "obj", "model", "method"})


class RecentChangesList(EventsChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        """The events listed, or, for a filter's "Show counts" (`exclude_parameters`), those
        the list would show without that filter.

        pghistory's own (EventsChangeList.get_queryset) predates Django 5's facets, which pass
        `exclude_parameters`: "Show counts" was a 500. A count is of what its choice would
        list once clicked, and any choice is a filter, which shows the parcel inserts too."""
        queryset = ChangeList.get_queryset(self, request, exclude_parameters)
        if self.has_active_filters or exclude_parameters is not None:
            return queryset
        if not pghistory_config.admin_all_events():  # as pghistory's: nothing until filtered
            return queryset.none()
        return queryset.exclude(PARCEL_INSERTS)

    def get_results(self, request):
        super().get_results(request)
        self.result_list = events_shown(self.result_list, every=self.root_queryset)
        outlines_named(self.result_list)


class RecentChangesAdmin(EventsAdmin):
    """pghistory's events admin (settings.PGHISTORY_ADMIN_CLASS), with the list above."""

    # The count of every event, filters or not, which Django shows only beside a search (this
    # list has none): one more pass over every event table, for nothing on the page.
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return RecentChangesList

    def get_list_filter(self, request):
        return [COUNTED.get(spec, spec) for spec in super().get_list_filter(request)]

    def get_list_display(self, request):
        """pghistory's columns, each event's action and source before its changes: pghistory's
        list showed no context, so an imported lease read as a bare insert from nowhere."""
        columns = super().get_list_display(request)
        shown = ["changes" if name == "pgh_diff" else name for name in columns]
        at = shown.index("changes") if "changes" in shown else len(shown)
        return [*shown[:at], "action", "source", *shown[at:]]

    @admin.display(description="action")
    def action(self, event) -> str | None:
        """The named action the event was written under (`clt.history.recorded`), if any. Its
        context is read with the event (`pgh_context`): no query per row."""
        return (event.pgh_context or {}).get("action") or None  # None: the list's "-"

    @admin.display(description="source")
    def source(self, event) -> str | None:
        """The file and row an import or the demo read the record from ("import our-records
        leases.csv row 4", `clt.registry_files.Origin.row`), if any. Shown as text, escaped
        by the list: a file's name is whatever its user chose."""
        source = (event.pgh_context or {}).get("source")
        return str(source) if source else None

    @admin.display(description="pgh diff", ordering="pgh_diff")
    def changes(self, event) -> str | None:
        """pghistory's change set (`pgh_diff`) as pghistory shows it, but an outline by its area
        before and after (`outlines_named`), not its every coordinate."""
        if not event.pgh_diff:
            return None  # the list's "-", as pghistory's
        named = getattr(event, "outlines_named", {})
        diff = {name: named.get(name, pair) for name, pair in event.pgh_diff.items()}
        return json.dumps(diff, ensure_ascii=False)

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
        # The union of every event table costs enough for PostgreSQL to JIT-compile it, which
        # took 6 of the page's 7.5 s (150k parcels): JIT off for every query of the page,
        # rendered here so that the counts a filter shows (Show counts) are inside too.
        with without_jit():
            response = admin.ModelAdmin.changelist_view(self, request, extra_context)
            return response.render() if hasattr(response, "render") else response


# "Show counts": Django counts each choice of a filter as `pk IN (<the events it would list>)`,
# the union of every event table read again for each choice (0.6-0.7 s a filter at 150k
# parcels). These count all of a filter's choices in one pass over the events instead.


class CountedLabelFilter(LabelFilter):
    def get_facet_counts(self, pk_attname, filtered_qs):
        return {
            f"{i}__c": Count(pk_attname, filter=Q(pgh_label=label))
            for i, (label, _) in enumerate(self.lookup_choices)
        }


class CountedEventModelFilter(EventModelFilter):
    def get_facet_queryset(self, changelist):
        """Counted in its choices' tables alone: on one model's history (`?model=...`) the
        list without this filter is every event table (0.55 s at 1M parcels, for 1 ms)."""
        kinds = [apps.get_model(value) for value, _ in self.lookup_choices]
        if not kinds:
            return {}
        exclude = self.expected_parameters()
        listed = changelist.get_queryset(self.request, exclude_parameters=exclude)
        return listed.across(*kinds).aggregate(**{
            f"{i}__c": Count(changelist.pk_attname, filter=Q(pgh_model=kind._meta.label))
            for i, kind in enumerate(kinds)
        })  # fmt: skip


class _OneChoice:
    """A filter whose one choice is the value the list already has (a record, a model): its
    count is the events the list shows without it, which still keeps to that value."""

    def get_facet_counts(self, pk_attname, filtered_qs):
        return {"0__c": Count(pk_attname)} if self.lookup_choices else {}


class CountedObjFilter(_OneChoice, ObjFilter):
    pass


class CountedModelFilter(_OneChoice, ModelFilter):
    pass


class UncountedBackFilter(BackFilter):
    def get_facet_counts(self, pk_attname, filtered_qs):
        return {}  # a hidden filter (the Back link): a count nobody sees


COUNTED = {
    LabelFilter: CountedLabelFilter,
    EventModelFilter: CountedEventModelFilter,
    ObjFilter: CountedObjFilter,
    ModelFilter: CountedModelFilter,
    BackFilter: UncountedBackFilter,
}


def events_shown(page: QuerySet, *, every: QuerySet) -> list:
    """The events of one page of the list (`page`, sliced or not), each read whole (its data,
    its change set) and in the page's order. `every` is the list's unfiltered queryset.

    pghistory's query builds each event's change set (a JSON diff with the same record's
    previous event) before it sorts them: every event in the registry paid for one so that 100
    could be shown, and the page took longer with each event recorded. Here the page is picked
    by its events' keys alone (kind, id), which PostgreSQL finds without building any JSON, and
    only those events are then read whole, by their ids."""
    keys = list(page.values_list("pgh_model", "pgh_id"))
    if not keys:
        return []
    ids_by_model: dict[str, list[int]] = defaultdict(list)
    for model, pk in keys:
        ids_by_model[model].append(pk)
    wanted = Q()
    for model, ids in ids_by_model.items():
        wanted |= Q(pgh_model=model, pgh_id__in=ids)
    read = every.order_by().across(*ids_by_model).filter(wanted)
    by_key = {(event.pgh_model, event.pgh_id): event for event in read}
    return [by_key[key] for key in keys if key in by_key]  # one deleted since: left out


def outlines_named(events: list) -> None:
    """Each event's outline changes as staff read them ("595 m² (0.147 ac)", "616 m² (0.152 ac;
    +21 m²)"), kept on the event as `outlines_named` ({field: [old, new]}) for its row: the
    list showed each outline's GeoJSON, every coordinate of a county's parcel. The page's
    outlines are measured in one query (`outlines_measured`)."""
    changed = [
        [(name, outline_key(old), outline_key(new))
         for name, (old, new) in (event.pgh_diff or {}).items()
         if is_outline(_model(event.pgh_obj_model), name)]
        for event in events
    ]  # fmt: skip
    outlines = outlines_measured((old, new) for each in changed for _, old, new in each)
    for event, each in zip(events, changed, strict=True):
        event.outlines_named = {
            name: list(outlines[old, new].words()) for name, old, new in each
            if (old, new) in outlines
        }  # fmt: skip


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
