"""Text typed in a staff form's text box is kept with the line ends the registry keeps (LF).

Browsers send a textarea's line breaks as CRLF (the HTML standard says so), while the notes the
CLI, the demo and an import write have LF. Compared as sent, a lease saved without a keystroke
had "changed" every multi-line note of its monitoring events: a history event and an admin log
entry charged to whoever clicked Save, and a stale-edit refusal for a colleague saving after
them. Read as LF, an untouched box is unchanged and a typed one is stored as LF.
"""

from __future__ import annotations

from django import forms
from django.db.models import TextField


def line_feeds(text: str) -> str:
    """`text` with each CRLF and each lone CR made a LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class LineFeedTextField(forms.CharField):
    """A text box's field: the text with LF line ends (`line_feeds`), for saving and for
    comparing with what is stored (`has_changed` reads the posted value through `to_python`)."""

    def to_python(self, value):
        text = super().to_python(value)
        return line_feeds(text) if isinstance(text, str) else text

    def has_changed(self, initial, data) -> bool:
        # A note stored with CRLF (saved through a form before this field) and posted back
        # untouched is unchanged too: it is not rewritten, and charged to no one, for its line
        # ends alone.
        if isinstance(initial, str):
            initial = line_feeds(initial)
        return super().has_changed(initial, data)


class LineFeedTextFields:
    """A ModelAdmin or inline mixin: each model TextField's form field is a `LineFeedTextField`
    (whatever widget the admin gives it)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, TextField) and not db_field.choices:
            kwargs.setdefault("form_class", LineFeedTextField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
