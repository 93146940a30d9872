"""A change page saved after the record changed is refused, not written over the change.

Two staff members open the same lease. A records a payment (arrears 300 -> 0), or a resale
closes and `leases.actions.lease_take_purchase` passes the lease to the buyer behind the form's
back (lessees, purchase price and date). B then saves the page opened before, with a small
edit: the admin writes back every field of B's form, so A's change was silently undone (QA t2,
findings 1 and 2). This is optimistic concurrency control for every staff change form:

- the page carries a fingerprint of the record as it was loaded (a hidden input, FIELD);
- its save locks the row (SELECT ... FOR UPDATE, inside the admin's own transaction) and
  fingerprints it again; if a part changed since and the save would write it back otherwise
  than it now is, the form is refused with what changed, who changed it and when (from the
  history), and nothing is written;
- a save without a fingerprint (a tab opened before this check existed, a script) is refused
  the same way: it cannot show that it saw the record as it is now.

A changed part the save writes exactly as it now is undoes nothing, so it is let through: a
second click on Save, or the same page saved again by whoever just saved it, is not refused
over the change it made itself. Changed inline rows are always refused: what the inline forms
would write is not known when the record's form is checked.

The fingerprint is one digest per part of the record a stale form could put back: each
editable field (a foreign key by its id), each many-to-many (the ids: a lease's lessees), and
the rows of each inline on the page. Non-editable fields (save times, a token's last use) are
left out: the system keeps them, no form writes them back, and they change without an edit.
One digest per part, rather than one for the record, is what lets the refusal name the fields.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal

from django.apps import apps
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.db import models, router
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from pghistory import core as pghistory_core
from pghistory.models import Events

FIELD = "_clt_fingerprint"  # the hidden input's name (clt/templates/admin/change_form.html)
VERSION = "v1"  # a fingerprint of another shape is treated as missing, so refused
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
HISTORY_SEARCHED = 200  # newest events read to say who changed what; only on a refusal

# The refusals: what happened (the record's kind, and what changed), then what to do.
CHANGED = "This {} was changed after you opened this page: {}. "
DELETED = "This {} was deleted after you opened this page. "
UNPROVEN = (
    "This page was sent without the fingerprint of the {} it showed (a page opened before the "
    "registry checked for changes made meanwhile, or a script), so it could undo a change made "
    "since. "
)
FIX = (
    'Your changes were not saved. <a href="{}">Open the page again</a> to see the current '
    "record, then redo your edit."
)


# ---------------------------------------------------------------------------------------------
# The fingerprint


def _plain(value) -> str:
    """A value JSON cannot write, as exact text, the same whether the database or a form gave
    it: geometries by their bytes (not rounded WKT), 75 and 75.00 alike, moments in UTC."""
    if isinstance(value, GEOSGeometry):
        return bytes(value.ewkb).hex()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, Decimal) and value.is_finite():
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return str(value - EPOCH)  # exact, and a form's 9999-12-31 23:59 CST has no UTC date
    return str(value)  # date, UUID, ...


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _editable_fields(model) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields if field.editable]


def _inline_key(model, fk_name: str) -> str:
    return f"{model._meta.label_lower}:{fk_name}"  # field names have no "." or ":"


def fingerprint(obj: models.Model, inlines: Iterable[tuple[type[models.Model], str]] = ()):
    """One digest per part of `obj` a stale form could write back, by part name.

    `inlines` are (model, foreign key name) of the rows shown under the record.
    """
    parts = {field.name: _digest(field.value_from_object(obj)) for field in _editable_fields(obj)}
    for field in obj._meta.many_to_many:
        if field.remote_field.through._meta.auto_created:  # the admin edits no other kind
            ids = getattr(obj, field.name).order_by("pk").values_list("pk", flat=True)
            parts[field.name] = _digest(list(ids))
    for model, fk_name in inlines:
        names = ["pk", *(field.attname for field in _editable_fields(model))]
        rows = model._base_manager.filter(**{fk_name: obj.pk}).order_by("pk")
        parts[_inline_key(model, fk_name)] = _digest(list(rows.values_list(*names)))
    return parts


def encode(parts: dict[str, str]) -> str:
    """The fingerprint as the hidden input carries it."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return f"{VERSION}.{base64.urlsafe_b64encode(text.encode()).decode()}"


def decode(token: str | None) -> dict[str, str] | None:
    """The fingerprint a page posted back; None when it sent none or one this code cannot read."""
    version, _, body = (token or "").partition(".")
    if version != VERSION:
        return None
    try:
        parts = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:  # not base64 (binascii.Error), not UTF-8, not JSON: all ValueErrors
        return None
    if not isinstance(parts, dict) or not all(isinstance(v, str) for v in parts.values()):
        return None
    return parts


def written_parts(form, inline_keys: Iterable[str]) -> dict[str, str | None]:
    """What saving a validated change `form` writes over each part of its record: a digest as
    `fingerprint` gives it, or None where it may write but cannot say what (inline rows).
    Parts it leaves as they are (a many-to-many not on the form) are absent."""
    obj = form.instance  # the values the save writes: the form's, and the rest as loaded
    parts: dict[str, str | None] = {
        field.name: _digest(field.value_from_object(obj)) for field in _editable_fields(obj)
    }
    for field in obj._meta.many_to_many:
        chosen = form.cleaned_data.get(field.name) if field.name in form.fields else None
        if chosen is not None:
            parts[field.name] = _digest(sorted(each.pk for each in chosen))
    return {**parts, **dict.fromkeys(inline_keys)}


def undone_parts(
    loaded: dict[str, str], current: dict[str, str], written: dict[str, str | None]
) -> list[str]:
    """The parts changed since the page loaded that the save would write otherwise than they
    now are: the changes it would undo."""
    return [
        name
        for name in changed_parts(loaded, current)
        if name in written and (written[name] is None or written[name] != current.get(name))
    ]


def changed_parts(loaded: dict[str, str], current: dict[str, str]) -> list[str]:
    """The parts whose digest differs (or that one side lacks), in the current record's order."""
    names = [*current, *sorted(loaded.keys() - current.keys())]
    return [name for name in names if loaded.get(name) != current.get(name)]


# ---------------------------------------------------------------------------------------------
# Who changed it: the history events (pghistory) that last wrote the changed parts


def _label(model, part: str) -> str:
    """A part as staff read it on the page: the field's label, or the inline's rows."""
    if ":" in part:
        label, _ = part.split(":", 1)
        return f"its {apps.get_model(label)._meta.verbose_name_plural}"
    try:
        return str(model._meta.get_field(part).verbose_name)
    except models.FieldDoesNotExist:
        return part  # a field since removed


def _writes(event, obj, part: str) -> bool:
    """Whether history `event` is a write of `part` of `obj`."""
    event_model = (event.pgh_obj_model or "").lower()
    if ":" in part:
        return event_model == part.split(":", 1)[0]
    if event_model != obj._meta.label_lower or str(event.pgh_obj_id) != str(obj.pk):
        return False
    field = obj._meta.get_field(part)
    diff = event.pgh_diff or {}
    return field.name in diff or getattr(field, "attname", None) in diff


def _last_writes(obj, parts: list[str]) -> list[tuple[object | None, list[str]]]:
    """The changed parts grouped by the newest history event that wrote each; parts no event
    explains (an untracked model, a many-to-many) come last, with None."""
    events = []
    if pghistory_core.event_models(tracks_model=type(obj)):
        newest = Events.objects.references(obj).order_by("-pgh_created_at", "-pgh_id")
        events = list(newest[:HISTORY_SEARCHED])
    grouped: dict[int | None, list[str]] = {}
    for part in parts:
        index = next((i for i, event in enumerate(events) if _writes(event, obj, part)), None)
        grouped.setdefault(index, []).append(part)
    order = sorted(grouped, key=lambda i: (i is None, i or 0))  # newest event first
    return [(events[i] if i is not None else None, grouped[i]) for i in order]


def _who_and_when(event) -> str:
    context = event.pgh_context or {}
    user = get_user_model().objects.filter(pk=context.get("user")).first()
    said = [
        f"by {user.get_username()}" if user else "",
        timezone.localtime(event.pgh_created_at).strftime("%Y-%m-%d %H:%M"),
        context.get("action", ""),
    ]
    return ", ".join(each for each in said if each)


def _listed(names: list[str]) -> str:
    """Names in a sentence: "a", "a and b", "a, b and c"."""
    return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def what_changed(obj, parts: list[str]) -> str:
    """The changed parts, as the end of a sentence: "arrears (by edna, 2026-11-24 10:02,
    admin_groundlease_change); lessees". Parts one action wrote in several events are named
    together, once."""
    by_whom: dict[str, list[str]] = {}  # "" for the parts no event explains
    for event, written in _last_writes(obj, parts):
        who = _who_and_when(event) if event is not None else ""
        by_whom.setdefault(who, []).extend(_label(type(obj), part) for part in written)
    return "; ".join(
        f"{_listed(names)} ({who})" if who else _listed(names) for who, names in by_whom.items()
    )


# ---------------------------------------------------------------------------------------------
# The admin


class StaleEditGuard:
    """A ModelAdmin mixin: the change form is refused once the record changed since it opened.

    Put it before `admin.ModelAdmin` in the bases. Add forms are not affected; nor is a save
    after "Save and continue editing", which opens the page again with the new fingerprint.
    """

    def stale_edit_inlines(self) -> list[tuple[type[models.Model], str]]:
        """(model, foreign key name) of each inline's rows, part of the fingerprint."""
        return [
            (inline.model, inline.fk_name or _fk_name(self.model, inline.model))
            for inline in self.inlines
        ]

    def stale_edit_fingerprint(self, obj) -> dict[str, str]:
        return fingerprint(obj, self.stale_edit_inlines())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None and self.has_change_permission(request, obj):
            # A form shown again after an error keeps the fingerprint it was opened with, as
            # the browser sends it: the page still shows the record as it was then.
            if request.method == "POST":
                context["clt_fingerprint"] = request.POST.get(FIELD, "")
            else:
                context["clt_fingerprint"] = encode(self.stale_edit_fingerprint(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        return type(form.__name__, (RefusedWhenStale, form), {"stale_edit_admin": self})

    def stale_edit_refusal(self, form) -> SafeString | None:
        """Why the posted change `form` must not be saved; None if it may."""
        obj = form.instance
        current_obj = locked(obj)
        opts = obj._meta
        url_name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change"
        link = reverse(url_name, args=[quote(obj.pk)])
        if current_obj is None:
            return format_html(DELETED + FIX, opts.verbose_name, link)
        loaded = decode(form.data.get(FIELD))
        if loaded is None:
            return format_html(UNPROVEN + FIX, opts.verbose_name, link)
        current = self.stale_edit_fingerprint(current_obj)
        inline_keys = [_inline_key(*inline) for inline in self.stale_edit_inlines()]
        undone = undone_parts(loaded, current, written_parts(form, inline_keys))
        if not undone:
            return None
        return format_html(
            CHANGED + FIX, opts.verbose_name, what_changed(current_obj, undone), link
        )


def locked(obj: models.Model) -> models.Model | None:
    """`obj` as the database now holds it (None once deleted), its row locked until the
    transaction ends: nothing can change it between the check and the save."""
    rows = type(obj)._base_manager.using(router.db_for_write(type(obj))).select_for_update()
    return rows.filter(pk=obj.pk).first()


def _fk_name(parent, model) -> str:
    """The one foreign key from an inline's `model` to `parent` (the admin checks it is one)."""
    (fk,) = [
        field
        for field in model._meta.concrete_fields
        if field.many_to_one and field.related_model is parent
    ]
    return fk.name


class RefusedWhenStale:
    """The change form's half of StaleEditGuard: checked once the form has built the record it
    would save, inside the admin's transaction, so a refusal is a form error: nothing is saved
    and the page shows why at its top."""

    stale_edit_admin: StaleEditGuard

    def full_clean(self):
        super().full_clean()
        if not self.is_bound:
            return
        refusal = self.stale_edit_admin.stale_edit_refusal(self)
        if refusal is not None:
            self.add_error(None, refusal)
