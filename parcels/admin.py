"""Staff pages for parcels and holdings, and the base every registry admin page shares.

`RecordedAdmin` makes each write through the admin a named action in the history (who, which
action) and shows a record's history events on its change page and behind its "History" button.
It lives here because every other registry app's admin already depends on parcels.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.gis import forms
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, WKBWriter
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    DecimalField,
    Model,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Concat
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from leaflet import PLUGIN_FORMS, PLUGINS
from leaflet.admin import LeafletAdminWidget, LeafletGeoAdminMixin
from pghistory import core as pghistory_core
from pghistory.models import Events

from clt.concurrency import StaleEditGuard
from clt.dates import RegistryDateFields
from clt.history import recorded
from clt.textareas import LineFeedTextFields
from leases.models import Party, SourceDocument
from parcels.actions import acquisition_close_for, acquisition_withdraw_for, listed_message
from parcels.folding import SEARCH_HELP, folded_search
from parcels.metric import local_crs_example
from parcels.models import (
    HOLDER_KINDS,
    AcquisitionEvent,
    ConservationEasement,
    EasementMonitoringVisit,
    Holding,
    HoldingParcel,
    ImportRun,
    Improvement,
    Overlay,
    Parcel,
    is_money,
    latest_acquisition_step,
    membership_period,
)
from parcels.outline_changes import (
    OutlineChange,
    Outlines,
    area_words,
    outline_key,
    outlines_of,
)
from parcels.queries import (
    held_memberships,
    in_metric_domain,
    land_use_codes,
    merged_with_trust_land,
    metric_domain_text,
)

# ---------------------------------------------------------------------------------------------
# History: what the change page and the History button show


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class RowValue:
    field: str
    value: str


@dataclass(frozen=True)
class HistoryEntry:
    """One history event, as staff read it: when, which action, who, from where, on what, what
    changed."""

    at: datetime
    label: str  # insert, update, delete
    action: str  # the named action (`clt.history.recorded`), "" for an untagged change
    user: str  # "" when no user was recorded (imports, raw SQL)
    what: str  # the record the event is about, e.g. "lease fee change 12" (`_what`)
    changes: tuple[Change, ...]  # an update's fields, old and new
    values: tuple[RowValue, ...] = ()  # an added or deleted row's fields (`_row_values`)
    # The file and row an import or the demo read the record from ("import our-records
    # leases.csv row 4", `clt.registry_files.Origin.row`); "" for a change made otherwise.
    source: str = ""


# Labels of the records an event's foreign keys point at: (model, id as text) -> label.
Labels = dict[tuple[Any, str], str]
# The records themselves, by the same key (`_related`).
Related = dict[tuple[Any, str], Any]
# The record whose history a page shows: (its concrete model, its id as text).
Page = tuple[Any, str]


def _field(model, name: str):
    """The field an event's diff names (by column: "parcel_id" is the parcel), if any."""
    try:
        return model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        return None


def _shown(model, name: str, value: Any, limit: int = 80, labels: Labels | None = None) -> str:
    """A value from an event's diff or snapshot as staff read it: money to the cent with its
    dollar sign, outlines named, a choice by its label ("Occupancy certification"), yes or no,
    a record by its label (`_label`: a parcel by its APN, a holding by its name), not its id."""
    if value in (None, ""):
        return "—"
    field = _field(model, name)
    if field is not None and field.many_to_one:
        label = (labels or {}).get((field.related_model, str(value)))
        return label or f"{field.related_model._meta.verbose_name} {value}"
    if isinstance(field, GeometryField):
        return "(an outline)"  # the coordinates are in the history browser's raw data
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))  # "Occupancy certification"
    if isinstance(field, BooleanField):
        return "yes" if value else "no"
    if isinstance(field, DecimalField) and isinstance(value, int | float | str):
        amount = f"{Decimal(str(value)):,.{field.decimal_places}f}"
        return f"${amount}" if is_money(field) else amount
    if isinstance(field, DateTimeField) and isinstance(value, str):
        moment = field.to_python(value)  # the snapshot's ISO text, in UTC
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _tracked_model(event):
    try:
        return apps.get_model(event.pgh_obj_model)
    except LookupError:
        return None


@dataclass(frozen=True)
class Joining:
    """A join table's row: a party among a lease's lessees, a parcel among its parcels. It is
    added or removed, never changed, so its event reads as what it did, on the lease's page
    and on the party's or parcel's (`_joining_what`)."""

    role: str  # on the lease's page: "lessee added: <party>"
    lease: str  # the field naming the lease
    member: str  # the field naming the party or parcel
    joined: str  # on the party's or parcel's page, of the lease: "became a lessee of {}"
    left: str  # "stopped being a lessee of {}"


JOININGS = {
    "leases.LeaseLessee": Joining(
        "lessee", "groundlease", "party", "became a lessee of {}", "stopped being a lessee of {}"
    ),
    "leases.LeaseParcel": Joining(
        "parcel", "groundlease", "parcel", "added to lease {}", "removed from lease {}"
    ),
}


def _what(event, model, related: Related, labels: Labels, page: Page) -> str:
    """What an event is about, as staff read it. A lessee or parcel added to or removed from a
    lease says so (`_joining_what`). An added or deleted row is named by its kind and id, then
    by its own name (its `__str__`: "monitoring event 23: Occupancy certification on
    2026-11-24 (open)"), built from the event's snapshot since the row may be gone. An update
    keeps "kind id", which links it to the row's insert, and lists its changes."""
    name = model._meta.verbose_name if model else event.pgh_obj_model
    if model is None:
        return f"{name} {event.pgh_obj_id}"
    joining = JOININGS.get(model._meta.label)
    if joining is not None:
        return _joining_what(event, model, joining, labels, page)
    if event.pgh_label not in ("insert", "delete"):
        return f"{name} {event.pgh_obj_id}"
    own = _named(_row_of(model, event.pgh_data or {}, related))
    return f"{name} {event.pgh_obj_id}: {own}" if own else f"{name} {event.pgh_obj_id}"


def _joining_what(event, model, joining: Joining, labels: Labels, page: Page) -> str:
    """ "lessee added: Jordan Williams household", "parcel removed: 164-101-001" on the lease's
    page; "became a lessee of GL-2025-017", "removed from lease GL-2025-017" on the party's or
    the parcel's."""
    data, added = event.pgh_data or {}, event.pgh_label == "insert"
    lease_field = model._meta.get_field(joining.lease)
    member_field = model._meta.get_field(joining.member)
    member_id = data.get(member_field.attname)
    if page == (member_field.related_model, str(member_id)):
        lease = _shown(model, lease_field.attname, data.get(lease_field.attname), labels=labels)
        return (joining.joined if added else joining.left).format(lease)
    member = _shown(model, member_field.attname, member_id, labels=labels)
    return f"{joining.role} {'added' if added else 'removed'}: {member}"


def _row_of(model, data: dict, related: Related):
    """The row an event's snapshot holds, as an unsaved instance of its model: its values from
    the snapshot, the records its foreign keys name from `related` (read for every event at
    once, not per row)."""
    row = model()
    for field in model._meta.concrete_fields:
        if field.attname not in data or isinstance(field, GeometryField):
            continue  # no name reads an outline, and parsing one is the slow part
        value = data[field.attname]
        if field.many_to_one:
            setattr(row, field.attname, value)
            record = related.get((field.related_model, str(value)))
            if record is not None:
                field.set_cached_value(row, record)
            continue
        with suppress(ValidationError, ValueError, TypeError):
            value = field.to_python(value)  # else kept as the snapshot has it
        setattr(row, field.attname, value)
    return row


class _WouldQuery(Exception):
    """A row's `__str__` tried to read the database (`_named`)."""


def _refuse_queries(execute, sql, params, many, context):
    raise _WouldQuery(sql)


def _named(row) -> str | None:
    """`row`'s own name (`str(row)`), or None when its `__str__` would read the database: a
    record it names is gone (a resale's lease deleted), and a page must not query per event."""
    try:
        with connection.execute_wrapper(_refuse_queries):
            return str(row)
    except _WouldQuery:
        return None


def _row_values(
    event, model, labels: Labels, page: Page, outlines: Outlines | None = None
) -> tuple[RowValue, ...]:
    """The fields of a row an event added or deleted, from its snapshot, as `_shown` shows a
    change (money as money, a record by its label, an outline by its area), in the model's
    order. Left out: its id, the empty ones, and the record whose page this is (a fee change's
    lease, on the lease's page). A lessee's or parcel's place on a lease says it all in its
    name."""
    if model is None or event.pgh_label not in ("insert", "delete"):
        return ()
    if model._meta.label in JOININGS:
        return ()
    data, shown = event.pgh_data or {}, []
    for field in model._meta.concrete_fields:
        value = data.get(field.attname)
        if field.primary_key or value in (None, ""):
            continue
        if field.many_to_one and (field.related_model, str(value)) == page:
            continue
        measured = _measured(field, value, None, outlines or {})
        if measured is not None:
            shown.append(RowValue(field.name, area_words(measured.old_m2)))
        else:
            shown.append(RowValue(field.name, _shown(model, field.attname, value, labels=labels)))
    return tuple(shown)


def _measured(field, old: Any, new: Any, outlines: Outlines) -> OutlineChange | None:
    """The outline `field` had before and after (`new` None: a row's outline alone), as
    `outlines_of` measured it; None for a field that is not an outline."""
    if not isinstance(field, GeometryField):
        return None
    return outlines.get((outline_key(old), outline_key(new)))


def _change(model, name: str, old: Any, new: Any, labels: Labels, outlines: Outlines) -> Change:
    """One field an update changed, old → new, as `_shown` shows each value; an outline by its
    area before and after (`OutlineChange.words`: "595 m² (0.147 ac) → 616 m² (0.152 ac;
    +21 m²)"), since "(an outline) → (an outline)" said nothing of what changed."""
    field = _field(model, name)
    measured = _measured(field, old, new, outlines)
    if measured is not None:
        return Change(field.name, *measured.words())
    return Change(
        getattr(field, "name", name),
        _shown(model, name, old, labels=labels),
        _shown(model, name, new, labels=labels),
    )


def history_of(obj, limit: int | None = None) -> list[HistoryEntry]:
    """The history events of `obj` and of the records hanging on it, newest first.

    "Hanging on it" is pghistory's `references`: events of rows with a foreign key to `obj`
    (a lease's fee changes, a holding's parcels) as well as `obj`'s own; and the events that
    took such a row away from `obj` (`_moved_away_from`).
    """
    events = Events.objects.references(obj).order_by("-pgh_created_at", "-pgh_id")
    events = list(events[:limit] if limit else events)
    events = sorted(
        {event.pgh_slug: event for event in [*events, *_moved_away_from(obj)]}.values(),
        key=lambda event: (event.pgh_created_at, event.pgh_id),
        reverse=True,
    )[:limit]
    contexts = [event.pgh_context or {} for event in events]
    models = [_tracked_model(event) for event in events]
    user_ids = {context["user"] for context in contexts if context.get("user") is not None}
    usernames = {
        user.pk: user.get_username() for user in get_user_model().objects.filter(pk__in=user_ids)
    }
    related = _related(events, models)
    labels = {key: _label(record) for key, record in related.items()}
    outlines = outlines_of(events, models)
    page = (obj._meta.concrete_model, str(obj.pk))
    return [
        HistoryEntry(
            at=event.pgh_created_at,
            label=event.pgh_label,
            action=context.get("action", ""),
            user=usernames.get(context.get("user"), ""),
            what=_what(event, model, related, labels, page),
            changes=tuple(
                _change(model, name, old, new, labels, outlines)
                for name, (old, new) in sorted((event.pgh_diff or {}).items())
            ),
            values=_row_values(event, model, labels, page, outlines),
            source=str(context.get("source") or ""),
        )
        for event, context, model in zip(events, contexts, models, strict=True)
    ]


def _moved_away_from(obj) -> list:
    """The events that took a row away from `obj`: its foreign key named `obj` just before, and
    names another record after (a membership's mistyped parcel corrected to the right one).

    `references` finds an event by the row as the event left it, so the parcel entered by
    mistake showed its row joining a holding and never leaving. One query finds them (a union
    over the event tables pointing at `obj`'s model); a second per table with any, reads them.
    """
    model = obj._meta.concrete_model
    found = []
    for event_model in pghistory_core.event_models(references_model=model):
        if not hasattr(event_model, "pgh_obj"):  # no row to follow from event to event
            continue
        for field in event_model._meta.fields:
            if field.name == "pgh_obj" or not field.many_to_one or field.related_model != model:
                continue
            before = event_model.objects.filter(
                pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id")
            ).order_by("-pgh_id")
            rows = event_model.objects.filter(**{field.attname: obj.pk}).values("pgh_obj_id")
            moved = (
                event_model.objects.filter(pgh_obj_id__in=rows)
                .exclude(**{field.attname: obj.pk})
                .alias(was=Subquery(before.values(field.attname)[:1]))
                .filter(was=obj.pk)
                .values_list(Value(event_model._meta.label), "pgh_obj_id", "pgh_id")
                .order_by()
            )
            found.append(moved)
    if not found:
        return []
    by_table: dict[str, list[tuple[int, int]]] = {}
    for label, row_id, event_id in found[0].union(*found[1:], all=True):
        by_table.setdefault(label, []).append((row_id, event_id))
    events = []
    for label, rows in by_table.items():
        tracked = apps.get_model(label).pgh_tracked_model
        of_rows = Events.objects.tracks(*[tracked(pk=row_id) for row_id, _ in rows])
        events += of_rows.across(label).filter(pgh_id__in=[event_id for _, event_id in rows])
    return events


def _related(events: list, models: list) -> Related:
    """Every record the events' foreign keys point at: in a change, old and new; in an added
    or deleted row (or a lessee's or parcel's place on a lease), each it names. A query per
    kind of record named, not per event."""
    wanted: dict[Any, set[str]] = {}
    for event, model in zip(events, models, strict=True):
        values = [(name, value) for name, pair in (event.pgh_diff or {}).items()
                  for value in pair]  # fmt: skip
        if event.pgh_label in ("insert", "delete"):
            values += (event.pgh_data or {}).items()
        for name, value in values:
            field = _field(model, name)
            if field is not None and field.many_to_one and value not in (None, ""):
                wanted.setdefault(field.related_model, set()).add(str(value))
    found = {
        (related, str(record.pk)): record
        for related, ids in wanted.items()
        for record in related._base_manager.filter(pk__in=ids)
    }
    for related, ids in wanted.items():
        gone = {each for each in ids if (related, each) not in found}
        found |= {(related, str(record.pk)): record for record in _as_last_seen(related, gone)}
    return found


def _as_last_seen(model, ids: set[str]) -> list:
    """Records of `model` deleted since an event named them, each as history last saw it (its
    latest snapshot, unsaved and marked `deleted_since`), so a removed lessee reads "Okafor
    household (deleted)", not "party 20". None for a model history does not keep."""
    snapshots = [each for each in pghistory_core.event_models(tracks_model=model)
                 if any(field.name == "pgh_obj" for field in each._meta.fields)]  # fmt: skip
    if not ids or not snapshots:
        return []
    columns = {field.attname for field in model._meta.concrete_fields}
    latest = snapshots[0].objects.filter(pgh_obj_id__in=ids).order_by("pgh_obj_id", "-pgh_id")
    records = []
    for event in latest.distinct("pgh_obj_id"):
        record = model(**{name: getattr(event, name) for name in columns if hasattr(event, name)})
        record.deleted_since = True
        records.append(record)
    return records


def _label(record) -> str:
    """A record as a foreign key to it reads: a parcel's APN, any other as it names itself;
    "(deleted)" after one that is gone (`_as_last_seen`)."""
    label = record.apn if isinstance(record, Parcel) else str(record)
    return f"{label} (deleted)" if getattr(record, "deleted_since", False) else label


def section(title: str | None, *fields: str) -> tuple[str | None, dict[str, list[str]]]:
    """One fieldset of a change page: its title and its fields, in order."""
    return (title, {"fields": list(fields)})


def is_tracked(model) -> bool:
    """Whether pghistory keeps events for `model`."""
    return bool(pghistory_core.event_models(tracks_model=model))


class DrillDownChangeList(ChangeList):
    """The admin's list, refusing a date drill-down beyond the calendar as a bad lookup.

    Django turns a year into its next year's first day to bound the query, and a hand-made
    `?contract_on__year=9999` made that a ValueError: a 500. A bad lookup is sent back to the
    list with Django's "?e=1" instead, as any other wrong filter is."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class _ReadableChoicesOnly:
    """An autocomplete widget that redraws a form after a posted id that is no id at all.

    Django's autocomplete looks the posted ids up to show them again; `holding=abc` made that
    lookup a ValueError (a 500) instead of the field's own "Select a valid choice" error."""

    def optgroups(self, name, value, attr=None):
        to_field = self.field.target_field
        return super().optgroups(name, [v for v in value if _readable(to_field, v)], attr)


def _readable(field, value) -> bool:
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class _NamedByItsLabel:
    """An autocomplete widget whose select2 box a screen reader names by its field's label.

    select2 names its box by the chosen value alone ("Holding 2, combo box"; a many-valued box
    not at all): the script labels each box of the page by its field's <label>."""

    @property
    def media(self):
        # Listed with Django's autocomplete.js, so Django's merge keeps ours after it.
        after = ["admin/js/autocomplete.js", "parcels/autocomplete_names.js"]
        return super().media + forms.Media(js=after)


class _ChosenAlreadyRead:
    """An autocomplete widget that names its chosen record from the one its form read with the
    row (`chosen`), instead of reading it back.

    Django's autocomplete reads each chosen id back to name it, every column included: on an
    inline, one query a row (a 40-lot holding's page ran 52 queries, each reading both of a
    parcel's outlines). A value other than `chosen`'s (a row posted back with another parcel)
    is read back as before."""

    chosen: Model | None = None

    def optgroups(self, name, value, attr=None):
        record, to_field = self.chosen, self.field.target_field.attname
        if record is None or [str(v) for v in value if v] != [str(getattr(record, to_field))]:
            return super().optgroups(name, value, attr)
        options: list = []
        if not self.is_required and not self.allow_multiple_selected:
            options.append(self.create_option(name, "", "", False, 0))
        key, label = getattr(record, to_field), self.choices.field.label_from_instance(record)
        options.append(self.create_option(name, key, label, True, len(options)))
        return [(None, options, 0)]


class ReadableAutocompleteSelect(
    _NamedByItsLabel, _ChosenAlreadyRead, _ReadableChoicesOnly, AutocompleteSelect
):
    pass


class ReadableAutocompleteSelectMultiple(
    _NamedByItsLabel, _ReadableChoicesOnly, AutocompleteSelectMultiple
):
    pass


class ReadableAutocompleteFields:
    """A ModelAdmin or inline mixin: its `autocomplete_fields` use the widgets above, which
    show a form again after a posted id that is no id and name their box by the field's label.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class RecordedAdmin(
    StaleEditGuard,
    RegistryDateFields,
    ReadableAutocompleteFields,
    LineFeedTextFields,
    admin.ModelAdmin,
):
    """An admin whose writes are named actions and whose change page shows the history.

    Every save or delete runs inside `clt.history.recorded("admin_<model>_<verb>", user)`, so
    its history events say who acted and through which action. One request is one pghistory
    context, so the form and its inlines share the action name of the request. A change page
    saved after the record changed is refused (`StaleEditGuard`). Text boxes read the
    browser's CRLF as LF (`LineFeedTextFields`; an inline with a TextField takes it too), and
    a date whose year has a digit too many or too few is said to look mistyped
    (`RegistryDateFields`; an inline with a date takes it too).
    """

    change_form_template = "admin/clt/change_form.html"
    history_shown = 10  # events on the change page; the History button shows them all

    def get_changelist(self, request, **kwargs):
        return DrillDownChangeList

    class Media:
        css = {"all": ["clt/admin.css"]}

    def action_name(self, verb: str) -> str:
        return f"admin_{self.opts.model_name}_{verb}"

    def named_action(self, request, verb: str):
        """The named action `admin_<model>_<verb>` by the request's user (a context manager)."""
        return recorded(self.action_name(verb), request.user)

    def save_model(self, request, obj, form, change):
        with self.named_action(request, "change" if change else "add"):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with self.named_action(request, "change" if change else "add"):
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        with self.named_action(request, "delete"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with self.named_action(request, "delete"):
            super().delete_queryset(request, queryset)

    def _events_url(self, request, obj) -> str:
        """pghistory's own events list for `obj`, if this user may see it."""
        if not request.user.has_perm("pghistory.view_events"):
            return ""
        query = f"?method=references&obj={self.opts.label}:{obj.pk}"
        return reverse("admin:pghistory_events_changelist") + query

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and is_tracked(self.model):
            context["clt_history"] = history_of(obj, limit=self.history_shown)
            context["clt_history_tracked"] = True
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_view(self, request, object_id, extra_context=None):
        """Every history event of the record (pghistory's), instead of the admin's own log."""
        if not is_tracked(self.model):
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "module_name": str(self.opts.verbose_name_plural.capitalize()),
            "object": obj,
            "opts": self.opts,
            "clt_history": history_of(obj),
            "clt_events_url": self._events_url(request, obj),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/clt/object_history.html", context)


# ---------------------------------------------------------------------------------------------
# Parcel outlines: a Leaflet map served from our own static files, invalid polygons rejected

LEAFLET_ADMIN = {
    "DEFAULT_CENTER": settings.MAP_DEFAULT_CENTER,  # (lat, lon): where an empty map opens
    "DEFAULT_ZOOM": 15,
    # An outline is fitted up to this zoom (by `OutlineWidget`'s field: django-leaflet's own
    # fitted at 15 whatever this said). At 15 a 40-ft lot was 3 x 9 px, its vertices' handles
    # on top of each other. 19 is the base map's last zoom.
    "MAX_ZOOM": 19,
    # Its "reset view" button had no icon and went to the whole world.
    "RESET_VIEW": False,
    # The same base map as the public pages (CLT_BASEMAP_URL); Leaflet itself is ours (/static/).
    "TILES": [("Base map", settings.BASEMAP_URL, {"attribution": settings.BASEMAP_ATTRIBUTION})],
}


def outline_problem(geom: GEOSGeometry) -> str | None:
    """Why `geom` is not a valid outline, in words staff can act on; None when it is valid.

    GEOS says e.g. "Self-intersection[-90.1848 32.2988]"; this reads "Self-intersection at or
    near point -90.1848 32.2988" (longitude, latitude).
    """
    xmin, ymin, xmax, ymax = geom.extent
    if all(in_metric_domain(y, x) for x, y in ((xmin, ymin), (xmax, ymax))):
        return (
            f"its coordinates read as latitude, longitude (x {xmin:.6g}, y {ymin:.6g}); "
            "give longitude first, e.g. POLYGON((-90.2 32.3, ...))"
        )
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        # Feet or metres pasted as if they were degrees; PostGIS would fail to project them.
        srid, name = local_crs_example()
        return (
            f"its coordinates (x {xmin:,.6g} to {xmax:,.6g}, y {ymin:,.6g} to {ymax:,.6g}) are "
            "not longitude/latitude; draw it on the map, or paste WKT with its CRS, e.g. "
            f"SRID={srid};POLYGON((...)) for {name}"
        )
    elsewhere = _outside_the_registry(xmin, ymin, xmax, ymax)
    if elsewhere:
        return elsewhere
    if geom.valid:
        return None
    reason = geom.valid_reason
    match = re.fullmatch(r"(?P<what>.+?)\[(?P<x>\S+) (?P<y>\S+)\]", reason)
    if match is None:
        return reason
    return f"{match['what']} at or near point {match['x']} {match['y']}"


def _outside_the_registry(xmin: float, ymin: float, xmax: float, ymax: float) -> str | None:
    """Why an outline (degrees) lying beyond the area the registry measures in cannot be kept;
    None inside it. PostGIS would fail to measure it (a 500 at the world's edge), or, worse,
    keep a Jackson lot in China or Antarctica (a sign or the axis order lost on the way)."""
    if all(in_metric_domain(x, y) for x, y in ((xmin, ymin), (xmax, ymax))):
        return None
    return (
        f"it lies at lon {(xmin + xmax) / 2:.4g}, lat {(ymin + ymax) / 2:.4g}, outside the area "
        f"this registry keeps land in ({metric_domain_text()}): a minus sign may be missing"
    )


class OutlineField(forms.MultiPolygonField):
    """A parcel outline: one drawn or pasted polygon is taken as a one-part multipolygon, and
    heights are dropped (the registry's outlines are flat).

    What cannot be read, is empty, or is in a CRS PROJ does not know is a form error here:
    Django's own field let GDAL's errors and empty outlines through, and PostGIS answered them
    with a 500 on save.
    """

    default_error_messages = {
        "invalid_geom": "The outline cannot be read: draw it on the map, or paste WKT or GeoJSON",
    }

    def to_python(self, value):
        try:
            geom = super().to_python(value)
        except (GDALException, GEOSException, ValueError, TypeError) as exc:
            raise ValidationError(
                f"The outline cannot be read ({exc}): draw it on the map, or paste WKT or "
                "GeoJSON", code="invalid_geom",
            ) from None  # fmt: skip
        if geom is None:
            return None
        if geom.empty:
            raise ValidationError(
                "The outline is empty: draw it on the map (or clear the field for a parcel "
                "whose outline is not known yet)", code="empty_geom",
            )  # fmt: skip
        if geom.hasz:
            geom = GEOSGeometry(WKBWriter(dim=2).write(geom), srid=geom.srid)
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=geom.srid)
        return geom

    def clean(self, value):
        try:
            return super().clean(value)
        except GDALException:  # transforming it to longitude/latitude failed
            srid = self.to_python(value).srid
            raise ValidationError(
                f"EPSG:{srid} is not a coordinate system this server knows: paste the outline "
                "in longitude/latitude, or with a known CRS, e.g. "
                f"SRID={local_crs_example()[0]};POLYGON((...))",
                code="transform_error",
            ) from None  # fmt: skip


class OutlineFormMixin:
    """Rejects an invalid outline with GEOS's reason, before the database's CHECK would."""

    outline_field = "geom"

    def clean(self):
        cleaned = super().clean()
        geom = cleaned.get(self.outline_field)
        problem = geom and outline_problem(geom)
        if problem:
            self.add_error(self.outline_field, f"The outline is not a valid polygon: {problem}.")
        return cleaned


class ParcelForm(OutlineFormMixin, forms.ModelForm):
    class Meta:
        model = Parcel
        fields = "__all__"


class OverlayForm(OutlineFormMixin, forms.ModelForm):
    class Meta:
        model = Overlay
        fields = "__all__"

    def clean_attributes(self):
        # The import keeps a layer's columns here as names and values; `null`, a list or a bare
        # number is no such thing (null reached the database's NOT NULL as a 500).
        attributes = self.cleaned_data.get("attributes")
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise ValidationError(
                'Attributes are names and values, a JSON object such as {"zone": "AE"}'
            )
        return attributes


class OutlineWidget(LeafletAdminWidget):
    """The admin's Leaflet map, able to show a form again after an outline it could not read.

    Re-rendering the posted text, Django's widget catches GEOS's errors but not GDAL's (pasted
    GeoJSON such as `{}`), which made the form's error page a 500.

    Its map fits an outline up to the map's MAX_ZOOM (our `L.CltOutlineField`): django-leaflet's
    own field reads the cap where Leaflet never puts it, and fitted every outline at zoom 15."""

    geometry_field_class = "L.CltOutlineField"  # parcels/static/parcels/outline_field.js

    @property
    def media(self):
        # Listed with django-leaflet's form scripts, so Django's merge keeps ours after them.
        after = [*PLUGINS[PLUGIN_FORMS]["js"], "parcels/outline_field.js"]
        return super().media + forms.Media(js=after)

    def deserialize(self, value):
        try:
            return super().deserialize(value)
        except GDALException:
            return None  # the field's error says why; the map starts empty


class MapAdmin(LeafletGeoAdminMixin, RecordedAdmin):
    """A recorded admin whose outlines are edited on a Leaflet map."""

    settings_overrides = LEAFLET_ADMIN
    widget = OutlineWidget

    def formfield_for_dbfield(self, db_field, request=None, **kwargs):
        if db_field.name == "geom":
            kwargs["form_class"] = OutlineField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @property
    def media(self):
        # Leaflet on every change page, so a view-only page can show its map too.
        return super().media + self.widget().media

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # View only: the outline on a map that cannot be edited, not a page of coordinates.
        return [
            (title, {**options, "fields": [_map_for(name) for name in options["fields"]]})
            for title, options in fieldsets
        ]

    @admin.display(description="outline")
    def outline_map(self, obj) -> str:
        if obj.geom is None:
            return "—"
        editable = self._get_map_widget(obj._meta.get_field("geom"), self.widget)
        widget = type("OutlineMap", (editable,), {"modifiable": False})()
        return widget.render("geom", obj.geom, attrs={"id": "id_geom"})


def _map_for(name: str) -> str:
    return "outline_map" if name == "geom" else name


class RetiredFilter(admin.SimpleListFilter):
    title = "in the county file"
    parameter_name = "retired"

    def lookups(self, request, model_admin):
        return (("no", "Current"), ("yes", "Retired"))

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(retired_at__isnull=self.value() == "no")
        return queryset


class LandUseFilter(admin.SimpleListFilter):
    """The county land-use codes in use, found by skipping through their index (Django's
    own filter asks SELECT DISTINCT, a read of the whole table on every page of the list)."""

    title = "land use"
    parameter_name = "land_use"

    def lookups(self, request, model_admin):
        return [(code, code or "(blank)") for code in land_use_codes()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(land_use=value)


@admin.register(Parcel)
class ParcelAdmin(MapAdmin):
    form = ParcelForm
    list_display = [
        "apn",
        "address",
        "land_use",
        "vacancy_status",
        "tax_status",
        "area",
        "acreage",
        "jurisdiction",
        "retired_at",
    ]
    list_filter = ["vacancy_status", "tax_status", LandUseFilter, "jurisdiction", RetiredFilter]
    # The start of an APN, any part of an address or owner: each has its index (migrations
    # 0005 and 0011), so a search does not read a county's million parcels.
    search_fields = ["^apn", folded_search("address"), folded_search("owner_of_record")]
    search_help_text = f"The start of an APN, or part of an address or owner. {SEARCH_HELP}"
    readonly_fields = [
        "area", "acreage", "easements_in_force", "import_run", "created_at", "updated_at"
    ]
    fieldsets = [
        section(None, "jurisdiction", "apn", "address", "owner_of_record"),
        section("Outline", "geom", "area", "acreage", "geom_note", "easements_in_force"),
        section(
            "Assessor", "land_use", "zoning", "assessed_land", "assessed_improvement", "tax_status"
        ),
        section(
            "Vacancy", "vacancy_status", "vacancy_source", "vacancy_as_of", "vacancy_confidence"
        ),
        section(
            "Source and lifespan",
            "source_srid",
            "source_file",
            "import_run",
            "retired_at",
            "created_at",
            "updated_at",
        ),
    ]

    change_form_template = "admin/parcels/parcel/change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context["clt_trust_land"] = trust_land_panel(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_ordering(self, request):
        """While searching, the usual (jurisdiction, APN) order as an expression no index gives.

        Asked for the first page in index order, PostgreSQL walks the (jurisdiction, apn) index
        and tests each parcel against the search, betting it finds a page of matches early; for
        a name that matches a few parcels it reads them all (0.2-0.7 s at 1M parcels). Sorting
        the matches instead lets it find them through the search indexes first.
        """
        searching = request.GET.get("q") or request.GET.get("term")  # the list; autocomplete
        if searching and searching.strip():
            return [Concat("jurisdiction", Value(" "), "apn")]
        return super().get_ordering(request)

    @admin.display(description="area (m²)", ordering="area_m2")
    def area(self, parcel: Parcel) -> str:
        return f"{parcel.area_m2 or 0:,.0f}"

    @admin.display(description="acres", ordering="area_m2")
    def acreage(self, parcel: Parcel) -> str:
        return f"{parcel.acres:,.3f}"

    @admin.display(description="conservation easements")
    def easements_in_force(self, parcel: Parcel) -> SafeString | str:
        """The easements in force today that cover the parcel (`covering`), linked: land kept
        from development, whoever owns it, which its page said nothing of."""
        return easements_covering_parcel(parcel)


@dataclass(frozen=True)
class Membership:
    holding: str
    url: str
    period: str  # "from 2025-01-01", "from 2019-01-01 to 2020-06-30"


@dataclass(frozen=True)
class TrustLandPanel:
    """What a parcel's page says of it as trust land: the holdings it belongs or belonged to,
    its latest step in the acquisition pipeline, and where to record its acquisition."""

    memberships: tuple[Membership, ...]
    held_now: bool
    latest_step: AcquisitionEvent | None
    steps_url: str  # the parcel's steps in the acquisition list
    acquire_url: str  # a new holding with this parcel; "" when it cannot be acquired here
    add_step_url: str  # a new step of its pipeline; "" if this user may not add one


def trust_land_panel(request, parcel: Parcel) -> TrustLandPanel:
    """A finder's result links to the parcel's page: it said nothing of the parcel's holdings or
    pipeline, and acquiring it meant going to Holdings, Add and typing the APN again."""
    rows = HoldingParcel.objects.filter(parcel=parcel).select_related("holding")
    memberships = tuple(
        Membership(each.holding.name, change_url_of(each.holding), membership_period(each))
        for each in rows.order_by("-began_on", "-pk")
    )
    held_now = held_memberships().filter(parcel=parcel).exists()
    may = request.user.has_perm
    acquire = not held_now and parcel.retired_at is None and may("parcels.add_holding")
    add_step = may("parcels.add_acquisitionevent")
    steps = reverse("admin:parcels_acquisitionevent_changelist")
    return TrustLandPanel(
        memberships=memberships,
        held_now=held_now,
        latest_step=latest_acquisition_step(parcel.pk),
        steps_url=f"{steps}?parcel__id__exact={parcel.pk}",
        acquire_url=_for_parcel("admin:parcels_holding_add", parcel) if acquire else "",
        add_step_url=_for_parcel("admin:parcels_acquisitionevent_add", parcel) if add_step else "",
    )


def _for_parcel(add_page: str, parcel: Parcel) -> str:
    """An add page opened for `parcel` (`?parcel=<id>`)."""
    return f"{reverse(add_page)}?parcel={parcel.pk}"


def change_url_of(record) -> str:
    return reverse(f"admin:{record._meta.app_label}_{record._meta.model_name}_change",
                   args=[record.pk])  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Holdings and what hangs on them


class HoldingParcelFormSet(BaseInlineFormSet):
    """The holding's parcels as submitted: no parcel twice for overlapping periods (each form's
    own clean checks the memberships already saved, not those beside it in the submission)."""

    def clean(self):
        super().clean()
        seen: dict[int, list[tuple]] = {}
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            parcel, began = form.cleaned_data.get("parcel"), form.cleaned_data.get("began_on")
            if parcel is None or began is None:
                continue
            ended = form.cleaned_data.get("ended_on")
            for other_began, other_ended in seen.get(parcel.pk, []):
                if (ended is None or other_began < ended) and (
                    other_ended is None or began < other_ended
                ):
                    form.add_error(
                        "parcel",
                        f"{parcel.apn} is listed twice for overlapping periods (from "
                        f"{other_began} and from {began}).",
                    )
            seen.setdefault(parcel.pk, []).append((began, ended))
        self._keep_leases()
        self._keep_within_the_holdings_dates()
        self._keep_some_land()

    def _keep_leases(self) -> None:
        """A lease keeps the parcels it is on.

        Deleting the row, or ending it while a lease runs on, left a lease on land the trust
        no longer held (it fell off the staff map's lease layer)."""
        holding = self.instance
        kept_for_leases = []  # a row being deleted has no errors of its own: the formset's
        for form in self.forms:
            parcel = form.cleaned_data.get("parcel") if hasattr(form, "cleaned_data") else None
            if parcel is None or holding.pk is None:
                continue
            leases = holding.leases.filter(Q(parcels=parcel) | Q(parcels__isnull=True))
            if self.can_delete and self._should_delete_form(form):
                lease = leases.order_by("starts_on").first()
                if lease is not None:
                    kept_for_leases.append(f"{parcel.apn} is under lease {lease.reference}: give "
                                           "it an end date after the lease's instead of deleting "
                                           "it (deleting erases when it was held).")  # fmt: skip
                continue
            ended = form.cleaned_data.get("ended_on")
            if ended is not None:
                running = leases.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=ended))
                lease = running.order_by("starts_on").first()
                if lease is not None:
                    form.add_error("ended_on", f"Lease {lease.reference} on {parcel.apn} runs "
                                               f"past {ended}: end the lease first.")  # fmt: skip
        if kept_for_leases:
            raise ValidationError(kept_for_leases)

    def _keep_within_the_holdings_dates(self) -> None:
        """Each parcel is in the holding only while the trust holds it: from its acquisition,
        and not past its end. Checked against the holding's dates as submitted, so moving
        either date past a parcel's is refused on that parcel's row, on an add page too.

        A parcel in a holding ended before it left was land the finder still counted as the
        trust's; one in it before the holding was acquired showed on the staff's history as
        held by a holding that did not yet exist (`queries.held_memberships` holds to both)."""
        holding = self.instance
        for form in self.forms:
            parcel = form.cleaned_data.get("parcel") if hasattr(form, "cleaned_data") else None
            if parcel is None or (self.can_delete and self._should_delete_form(form)):
                continue
            began, ended = form.cleaned_data.get("began_on"), form.cleaned_data.get("ended_on")
            acquired = holding.acquired_on
            if acquired and began and began < acquired:
                form.add_error("began_on", f"{parcel.apn} joins the holding on {began}, before "
                                           f"it was acquired on {acquired}: the parcel can "
                                           f"join the holding on or after {acquired}, the day "
                                           "it was acquired.")  # fmt: skip
            if holding.ended_on and (ended is None or ended > holding.ended_on):
                fix = f"not on {ended}" if ended else "so give it an end date"
                form.add_error("ended_on", f"The holding ended on {holding.ended_on}: "
                                           f"{parcel.apn} left it then or before, "
                                           f"{fix}.")  # fmt: skip

    def _keep_some_land(self) -> None:
        """A holding keeps a parcel as long as the trust has it. One whose every parcel had
        left it while it went on was a holding of no land, counted all the same (the home
        page's holdings, `clt holdings`, the report): undoing a parcel recorded in error by
        ending its row left the holding behind. (A holding recorded with no parcel at all is
        not refused here.)"""
        ends = []
        for form in self.forms:
            parcel = form.cleaned_data.get("parcel") if hasattr(form, "cleaned_data") else None
            if parcel is None or (self.can_delete and self._should_delete_form(form)):
                continue
            ends.append(form.cleaned_data.get("ended_on"))
        if not ends or None in ends:
            return
        last, holding_ended = max(ends), self.instance.ended_on
        if holding_ended is None or holding_ended > last:
            raise ValidationError(
                f"Every parcel of this holding has left it on or before {last}: end the "
                "holding too (Ended on), or keep a parcel in it.",
                code="holding_without_land",
            )


def parcel_asked_for(request) -> Parcel | None:
    """The current parcel an add-holding page was opened for (`?parcel=<id>`, the parcel page's
    "record its acquisition" link), if the id is one; a retired parcel is not offered."""
    asked = request.GET.get("parcel", "") if request.method == "GET" else ""
    if not asked.isdigit():
        return None
    return Parcel.objects.filter(pk=int(asked), retired_at__isnull=True).first()


class HoldingParcelForm(forms.ModelForm):
    """A parcel row whose parcel box names the parcel read with the row
    (`HoldingParcelInline.get_queryset`), not one query a row to read it again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        box = self.fields["parcel"].widget
        box = getattr(box, "widget", box)  # inside the admin's add/change links
        if self.instance.parcel_id is not None and isinstance(box, _ChosenAlreadyRead):
            box.chosen = self.instance.parcel


class HoldingParcelInline(RegistryDateFields, ReadableAutocompleteFields, admin.TabularInline):
    model = HoldingParcel
    form = HoldingParcelForm
    formset = HoldingParcelFormSet
    extra = 0
    autocomplete_fields = ["parcel"]
    verbose_name = "parcel"
    verbose_name_plural = "parcels (with the dates each belonged to the holding)"

    def get_extra(self, request, obj=None, **kwargs):
        # One row, for the parcel the add page was opened for (`HoldingAdmin.get_formset_kwargs`)
        return 1 if obj is None and parcel_asked_for(request) else self.extra

    def get_queryset(self, request):
        """The rows with their parcels, read in the same query, for their parcel boxes' names:
        without the outlines, which no row shows."""
        rows = super().get_queryset(request).select_related("parcel")
        return rows.defer("parcel__geom", "parcel__geom_m")


class ImprovementInline(admin.TabularInline):
    model = Improvement
    extra = 0


class SourceInline(RegistryDateFields, admin.TabularInline):
    """The documents behind a record (LADM sources), under the record they stand behind: a
    subclass names the record (`fk_name`) and the documents it usually has."""

    model = SourceDocument
    fields = ["kind", "reference", "recorded_on"]
    extra = 0


class HoldingSourceInline(SourceInline):
    fk_name = "holding"
    verbose_name_plural = "sources (deeds, patents)"


class EndedFilter(admin.SimpleListFilter):
    title = "held now"
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return (("yes", "Held now"), ("no", "Ended"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(ended_on__isnull=self.value() == "yes")
        return queryset


@admin.register(Holding)
class HoldingAdmin(RecordedAdmin):
    list_display = [
        "name",
        "current_use",
        "acquired_via",
        "acquired_on",
        "price",
        "parcel_count",
        "available",
        "ended_on",
    ]
    list_filter = ["current_use", "acquired_via", "available", EndedFilter]
    search_fields = [
        folded_search("name"), "deed_reference", "parcels__apn", folded_search("parcels__address")
    ]
    search_help_text = (
        f"Part of a name or deed reference, a parcel's APN or address. {SEARCH_HELP}"
    )
    date_hierarchy = "acquired_on"
    inlines = [HoldingParcelInline, ImprovementInline, HoldingSourceInline]

    def get_queryset(self, request):
        current = Q(holdingparcel__ended_on__isnull=True)  # a parcel split off is not counted
        return super().get_queryset(request).annotate(
            parcel_total=Count("holdingparcel__parcel", filter=current, distinct=True)
        )

    @admin.display(description="parcels now", ordering="parcel_total")
    def parcel_count(self, holding: Holding) -> int:
        return holding.parcel_total

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """An add page opened for a parcel (`?parcel=<id>`) has it in its first parcel row."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        parcel = parcel_asked_for(request) if isinstance(inline, HoldingParcelInline) else None
        if parcel is not None and obj.pk is None:
            kwargs["initial"] = [{"parcel": parcel.pk}]
        return kwargs

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is HoldingParcel:
            self._after_memberships_saved(request, form.instance, formset)

    def _after_memberships_saved(self, request, holding: Holding, formset) -> None:
        """The parcels that joined the holding (new rows, or a row's parcel changed) and those
        that left it by a correction (a row's parcel changed, or the row deleted): their
        acquisition pipelines follow (`acquisition_close_for`, `acquisition_withdraw_for`,
        inside the page's named action), and staff are told, as they are of what the public
        now sees listed as available."""
        deleted = formset.deleted_objects
        moved = [f for f in formset.initial_forms if "parcel" in f.changed_data]
        joined = [*formset.new_objects, *(f.instance for f in moved if f.instance not in deleted)]
        left = {f.initial["parcel"] for f in moved} | {each.parcel_id for each in deleted}
        acquired = [step for each in joined if (step := acquisition_close_for(each))]
        withdrawn = [
            (step, latest_acquisition_step(step.parcel_id))
            for parcel_id in sorted(left)
            for step in acquisition_withdraw_for(holding=holding, parcel_id=parcel_id)
        ]
        if acquired:
            steps = ", ".join(f"{step.parcel.apn} acquired on {step.on}" for step in acquired)
            self.message_user(request, f"Recorded in the acquisition pipeline: {steps}.",
                              messages.SUCCESS)  # fmt: skip
        for step, now in withdrawn:
            self.message_user(request, withdrawn_message(holding, step, now), messages.WARNING)
        for said in listed_messages(joined):
            self.message_user(request, said, messages.INFO)
        for said in merged_messages(joined):
            self.message_user(request, said, messages.WARNING)


def merged_messages(memberships: list[HoldingParcel]) -> list[str]:
    """What staff are told when land that joined a holding lies under an easement the trust
    holds: the two interests merge, and the easement protects nothing (the same easement
    recorded now would be refused, `ConservationEasement.clean`)."""
    parcels = Parcel.objects.filter(pk__in=[each.parcel_id for each in memberships])
    merged = merged_with_trust_land(parcels, timezone.localdate()).order_by("name")
    return [
        f"The trust holds the conservation easement {easement} over land this holding now has: "
        "the easement merges with the trust's ownership and protects nothing there. Assign it "
        "to another organisation (a conservancy), or record its end."
        for easement in merged
    ]


def withdrawn_message(
    holding: Holding, step: AcquisitionEvent, now: AcquisitionEvent | None
) -> str:
    """What staff are told when a parcel taken out of a holding lost its "acquired" step."""
    stands = f"{now.get_stage_display().lower()} on {now.on}" if now else "no step recorded"
    return (
        f"{step.parcel.apn} is no longer in {holding}: its acquisition pipeline no longer says "
        f"acquired on {step.on} (it stands at {stands})."
    )


def listed_messages(memberships: list[HoldingParcel]) -> list[str]:
    """What staff are told of the parcels that joined a holding marked available: each is
    on the public "available now" list from the day it joined (the layer's own rule,
    `held_memberships`), today or later. A lot bought that day went public unannounced."""
    ids = [each.pk for each in memberships]
    today = timezone.localdate()
    now = held_memberships(today).filter(pk__in=ids, holding__available=True)
    said = []
    places = [_place(each.parcel) for each in now.select_related("parcel").order_by("parcel")]
    if places:
        said.append(listed_message(places))
    for each in memberships:
        later = held_memberships(each.began_on).filter(pk=each.pk, holding__available=True)
        if each.began_on > today and later.exists():
            said.append(f"{_place(each.parcel)} will be listed publicly as available from "
                        f"{each.began_on}.")  # fmt: skip
    return said


def _place(parcel: Parcel) -> str:
    return parcel.address or parcel.apn


@admin.register(AcquisitionEvent)
class AcquisitionEventAdmin(RecordedAdmin):
    list_display = ["parcel", "stage", "on", "holding"]
    list_filter = ["stage"]
    list_select_related = ["parcel", "holding"]
    search_fields = ["parcel__apn", folded_search("parcel__address"), "reason"]
    autocomplete_fields = ["parcel", "holding"]
    date_hierarchy = "on"


@admin.register(Improvement)
class ImprovementAdmin(RecordedAdmin):
    list_display = ["__str__", "holding", "kind", "year_built", "dwelling_units"]
    list_filter = ["kind"]
    list_select_related = ["holding"]
    search_fields = ["description", folded_search("holding__name")]
    autocomplete_fields = ["holding"]


@admin.register(Overlay)
class OverlayAdmin(MapAdmin):
    form = OverlayForm
    list_display = ["name", "kind", "source_file", "source_layer", "imported_at"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(ImportRun)
class ImportRunAdmin(StaleEditGuard, admin.ModelAdmin):
    """County imports are written by `clt parcels import`; staff read them here."""

    list_display = [
        "pk",
        "jurisdiction",
        "source_file",
        "status",
        "started_at",
        "new",
        "changed",
        "retired",
        "repaired",
        "rejected",
    ]
    list_filter = ["status", "jurisdiction"]
    search_fields = ["source_file", "source_sha256"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------------------------------------
# Conservation easements: the restriction on the burdened land, its deed and its visits


class HolderField(forms.ModelChoiceField):
    """The holder's box: it offers the parties that may hold an easement (HOLDER_KINDS), and
    reads back any party posted, so one that may not (a household) is refused by the model's
    clean, naming the party and saying what to do, not by "Select a valid choice"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return Party.objects.get(**{self.to_field_name or "pk": value})
        except (ValueError, TypeError, ValidationError, Party.DoesNotExist):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice",
                params={"value": value},
            ) from None  # fmt: skip


class ConservationEasementForm(OutlineFormMixin, forms.ModelForm):
    class Meta:
        model = ConservationEasement
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        holder = self.fields.get("holder")
        if holder is not None and self.instance.holder_id is not None:
            # A holder recorded before its party became a household stays chosen, so saving
            # the page says why it may not hold the easement instead of "This field is
            # required".
            may_hold = Q(kind__in=HOLDER_KINDS) | Q(pk=self.instance.holder_id)
            holder.queryset = Party.objects.filter(may_hold)


class EasementMonitoringVisitInline(RegistryDateFields, LineFeedTextFields, admin.TabularInline):
    model = EasementMonitoringVisit
    extra = 0
    verbose_name = "monitoring visit"
    fields = ["on", "monitor", "finding", "notes", "resolved_on"]
    ordering = ["-on", "-pk"]  # the latest visit first: it says when the next is due
    # As a lease's monitoring events: the admin's 48-em notes box pushed Delete? off the screen.
    formfield_overrides = {TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})}}
    verbose_name_plural = "monitoring visits (newest first; one is due every year)"


class EasementSourceInline(SourceInline):
    fk_name = "easement"
    verbose_name_plural = "sources (the recorded deed, the baseline report, monitoring reports)"


class BaselineFilter(admin.SimpleListFilter):
    """Easements whose baseline documentation is on record, or not: without it a visit has
    nothing to compare the land with (Land Trust Alliance Standards and Practices 11.B)."""

    title = "baseline documentation"
    parameter_name = "baseline"

    def lookups(self, request, model_admin):
        return (("missing", "Not on record"), ("recorded", "On record"))

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.filter(baseline_on__isnull=True)
        if self.value() == "recorded":
            return queryset.filter(baseline_on__isnull=False)
        return queryset


class MonitoringFilter(admin.SimpleListFilter):
    """Easements in force whose yearly visit is due today (`monitoring_due`), or those in
    force that are not: the steward's list for the season's visits."""

    title = "monitoring"
    parameter_name = "monitoring"

    def lookups(self, request, model_admin):
        return (("due", "Visit due now"), ("done", "Up to date"))

    def queryset(self, request, queryset):
        today = timezone.localdate()  # the trust's day, not the server's
        due = ConservationEasement.objects.monitoring_due(today).values("pk")
        if self.value() == "due":
            return queryset.filter(pk__in=due)
        if self.value() == "done":
            return queryset.in_force(today).exclude(pk__in=due)
        return queryset


@admin.register(ConservationEasement)
class ConservationEasementAdmin(MapAdmin):
    form = ConservationEasementForm
    list_display = [
        "name",
        "purpose",
        "holder",
        "began_on",
        "ends",
        "acres",
        "last_visit",
        "visit_due",
    ]
    list_filter = ["purpose", "public_access", MonitoringFilter, BaselineFilter]
    list_select_related = ["holder"]
    search_fields = [folded_search("name"), "recording_reference"]
    search_help_text = f"Part of a name, or the deed's recording reference. {SEARCH_HELP}"
    autocomplete_fields = ["grantor"]  # any party: a landowner is often a household
    readonly_fields = ["area", "acreage", "monitoring", "burdened_parcels", "merger"]
    fieldsets = [
        section(None, "name", "purpose", "public_access"),
        section("Who holds it, who granted it", "holder", "grantor", "merger"),
        section("In force", "began_on", "ended_on", "monitoring"),
        section("The deed", "recording_reference", "terms", "baseline_on"),
        section("Protected area", "geom", "area", "acreage", "burdened_parcels"),
    ]
    inlines = [EasementMonitoringVisitInline, EasementSourceInline]

    def get_queryset(self, request):
        """Each easement with its last visit and the day the next is due (`with_last_visit`),
        in the list's own query: its cost does not grow with the easements listed."""
        return super().get_queryset(request).with_last_visit(timezone.localdate())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "holder":
            kwargs.setdefault("queryset", Party.objects.filter(kind__in=HOLDER_KINDS))
            kwargs.setdefault("form_class", HolderField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="ended on", ordering="ended_on")
    def ends(self, easement: ConservationEasement) -> date | str:
        return easement.ended_on or "perpetual"

    @admin.display(description="acres", ordering="area_m2")
    def acres(self, easement: ConservationEasement) -> str:
        return f"{easement.acres:,.2f}"

    @admin.display(description="area (m²)", ordering="area_m2")
    def area(self, easement: ConservationEasement) -> str:
        return f"{easement.area_m2 or 0:,.0f}" if easement.pk else "—"

    @admin.display(description="acres")
    def acreage(self, easement: ConservationEasement) -> str:
        return f"{easement.acres:,.2f}" if easement.pk else "—"

    @admin.display(description="last visit", ordering="last_visit_on")
    def last_visit(self, easement: ConservationEasement) -> date | str:
        return easement.last_visit_on or "never"

    @admin.display(description="visit due", ordering="visit_due_on")
    def visit_due(self, easement: ConservationEasement) -> str:
        return visit_due_words(easement, timezone.localdate())

    @admin.display(description="monitoring")
    def monitoring(self, easement: ConservationEasement) -> str:
        if getattr(easement, "visit_due_on", None) is None:  # the add page
            return "A visit is due every year, counted from the day it is recorded."
        last = easement.last_visit_on
        visited = f"Last visited on {date_format(last)}" if last else "Never visited"
        return f"{visited}; next visit: {visit_due_words(easement, timezone.localdate())}."

    @admin.display(description="merged with trust land")
    def merger(self, easement: ConservationEasement) -> str:
        """Whether the trust holds it over land the trust has come to hold since (a purchase
        under it): the interests merge and it protects nothing, which the page said nothing
        of, though the same easement recorded today would be refused."""
        if easement.pk is None:
            return "—"
        today = timezone.localdate()
        merged = merged_with_trust_land(Parcel.objects.all(), today).filter(pk=easement.pk)
        if not merged.exists():
            return "No: the trust holds none of the land under it."
        apns = Parcel.objects.burdened_by(easement).held_by_trust(today)
        named = ", ".join(sorted(apns.values_list("apn", flat=True)))
        return (
            f"Yes: the trust now holds {named} under it, so the easement merges with its "
            "ownership and protects nothing there. Assign it to another organisation (a "
            "conservancy), or record its end."
        )

    @admin.display(description="parcels it burdens")
    def burdened_parcels(self, easement: ConservationEasement) -> SafeString | str:
        """The current parcels its protected area, as saved, covers (`burdened_by`), each
        linked to its page, with the land the easement takes of it."""
        if easement.pk is None:
            return "Listed once the easement is saved."
        parcels = Parcel.objects.burdened_by(easement).only("apn", "address")
        rows = [
            (change_url_of(parcel), parcel.apn, parcel.address or "no address",
             f"{parcel.covered_m2:,.0f}")
            for parcel in parcels
        ]  # fmt: skip
        if not rows:
            return "None: its protected area covers no current parcel of the county file."
        items = format_html_join("", '<li><a href="{}">{}</a>, {}: {} m² covered</li>', rows)
        return format_html('<ul class="clt-burdened-parcels">{}</ul>', items)


def visit_due_words(easement: ConservationEasement, today: date) -> str:
    """When `easement`'s next visit is due, as staff read it on `today`: its day (written as
    the admin writes dates), "due now" once it has come (`with_last_visit`'s annotations),
    none once the easement has ended."""
    if easement.ended_on is not None and easement.ended_on <= today:
        return "none due (ended)"
    due = easement.visit_due_on
    return f"{date_format(due)} (due now)" if due <= today else date_format(due)


def easements_covering_parcel(parcel: Parcel) -> SafeString | str:
    """The easements in force today that cover `parcel` as saved (`covering`), each linked to
    its page, with its purpose and term."""
    if parcel.pk is None or parcel.geom_m is None:
        return "—"
    today = timezone.localdate()
    covering = ConservationEasement.objects.in_force(today).covering(parcel.geom_m)
    rows = [
        (change_url_of(each), each.name, each.get_purpose_display().lower(),
         f"ends {each.ended_on}" if each.ended_on else "perpetual")
        for each in covering.only("name", "purpose", "ended_on").order_by("name")
    ]  # fmt: skip
    if not rows:
        return "None in force."
    return format_html_join(", ", '<a href="{}">{}</a> ({}, {})', rows)
