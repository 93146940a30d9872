"""Small helpers for tests of the staff admin pages (parcels and leases alike)."""

from django.urls import reverse


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def found(response) -> list:
    """The rows a changelist shows (after its search and filters)."""
    return list(response.context["cl"].result_list)
