"""Every text box of the staff admin reads a browser's CRLF as the registry's LF
(clt/textareas.py); the saves themselves are in tests/leases/test_admin.py."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import TextField
from django.test import RequestFactory

from clt.textareas import LineFeedTextField, line_feeds
from tests import factories

pytestmark = pytest.mark.django_db


def text_box_fields(request) -> list[tuple[str, object]]:
    """(where, form field) for each model TextField a registered admin or inline lets staff
    edit."""
    found = []
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_change_permission(request):
            continue  # read-only pages (import runs): nothing is posted back
        forms = [(model, model_admin.get_form(request))]
        forms += [(inline.model, inline.get_formset(request).form)
                  for inline in model_admin.get_inline_instances(request)
                  if inline.has_change_permission(request)]  # fmt: skip
        for form_model, form in forms:
            for name, field in form.base_fields.items():
                db_field = next((f for f in form_model._meta.fields if f.name == name), None)
                if isinstance(db_field, TextField) and not db_field.choices:
                    where = f"{model_admin.__class__.__name__}: {form_model.__name__}.{name}"
                    found.append((where, field))
    return found


def test_every_admin_text_box_reads_crlf_as_line_feeds():
    request = RequestFactory().get("/admin/")
    request.user = factories.user("boss", is_staff=True, is_superuser=True)
    fields = text_box_fields(request)

    wheres = dict(fields)
    assert {"GroundLeaseAdmin: GroundLease.notes", "GroundLeaseAdmin: MonitoringEvent.notes",
            "PartyAdmin: Party.notes", "HoldingAdmin: Holding.notes"} <= set(wheres)  # fmt: skip
    for where, field in fields:
        assert isinstance(field, LineFeedTextField), where
        assert field.clean("Letter sent\r\nCertified\rmail") == "Letter sent\nCertified\nmail"


def test_line_feeds_leaves_text_without_carriage_returns_alone():
    assert line_feeds("one\ntwo\n\nthree") == "one\ntwo\n\nthree"
    assert line_feeds("a\r\n\r\nb\r") == "a\n\nb\n"


def test_a_text_box_posted_back_untouched_is_unchanged_whatever_line_ends_it_was_stored_with():
    field = LineFeedTextField()
    assert not field.has_changed("Letter sent\nCertified", "Letter sent\r\nCertified")
    assert not field.has_changed("Letter sent\r\nCertified", "Letter sent\r\nCertified")
    assert field.has_changed("Letter sent\nCertified", "Letter sent\r\nCertified mail")
