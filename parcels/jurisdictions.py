"""The trust's jurisdictions: the counties whose parcel files it imports, each the namespace of
its APNs (a parcel is keyed by jurisdiction + APN).

They are a setting, `CLT_JURISDICTIONS` ("slug:label" pairs, the first the default; see
clt/settings.py), not a list in the code: the demo's are the Jackson area's (Hinds, Madison,
Rankin, other); a trust in Durham sets "durham-nc:Durham County NC,orange-nc:Orange County NC"
and imports without naming one. The model fields, the admin's forms and filters and
`clt import-parcels --jurisdiction` read the setting when used; a migration names a plain
CharField(max_length=32), the same file for every trust, and a row keeps the jurisdiction it
was written with whatever the setting says later.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import models


def jurisdiction_choices() -> list[tuple[str, str]]:
    """The trust's jurisdictions as (slug, label), the default first (CLT_JURISDICTIONS)."""
    return [(slug, label) for slug, label in settings.CLT_JURISDICTIONS]


def default_jurisdiction() -> str:
    """The jurisdiction of an import or a new parcel that names none: the setting's first."""
    return jurisdiction_choices()[0][0]


class TrustJurisdictions:
    """`Jurisdiction.choices`, `.values` and `.default`, as a TextChoices class would give them
    were the list code: the setting's, read when asked (the map's search names every value, so
    an exact APN is found on the (jurisdiction, apn) index)."""

    @property
    def choices(self) -> list[tuple[str, str]]:
        return jurisdiction_choices()

    @property
    def values(self) -> list[str]:
        return [slug for slug, _ in jurisdiction_choices()]

    @property
    def default(self) -> str:
        return default_jurisdiction()


Jurisdiction = TrustJurisdictions()


class KeepsUnlistedSelect(forms.Select):
    """A select that shows a value not among its options (a jurisdiction since left out of
    CLT_JURISDICTIONS) as chosen: as no option would be, the browser would send the first and
    a save would move the parcel to another county without anyone choosing it."""

    def optgroups(self, name, value, attrs=None):
        groups = super().optgroups(name, value, attrs)
        listed = {str(slug) for slug, _ in self.choices}
        for unlisted in (v for v in value if v and v not in listed):
            label = f"{unlisted} (not in CLT_JURISDICTIONS)"
            option = self.create_option(name, unlisted, label, True, len(groups), attrs=attrs)
            groups.append((None, [option], len(groups)))
        return groups


class JurisdictionFormField(forms.TypedChoiceField):
    """The admin's jurisdiction: one of the setting's. A parcel's unlisted one is shown, and
    refused on save with what to do, rather than replaced unseen."""

    widget = KeepsUnlistedSelect
    default_error_messages = {
        "invalid_choice": "%(value)s is not one of the trust's jurisdictions "
        "(CLT_JURISDICTIONS): choose one of them, or add it to the setting",
    }


class JurisdictionField(models.CharField):
    """A parcel's or an import's jurisdiction: one of the setting's through a form or
    `full_clean`, its first by default. It deconstructs as a plain CharField(max_length=32),
    so no trust's list is written into a migration (as `MetricOutlineField` keeps its CRS out)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("choices", jurisdiction_choices)  # a callable: read at each use
        kwargs.setdefault("default", default_jurisdiction)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        kwargs.pop("default", None)
        return name, "django.db.models.CharField", args, kwargs

    def formfield(self, **kwargs):
        return super().formfield(**{"choices_form_class": JurisdictionFormField, **kwargs})
