"""Named actions: every change runs in one transaction, tagged with who did it and why.

django-pghistory's triggers write an event row for each changed record; `pghistory.context`
attaches the acting user and the action's name to every event written inside it. So "who changed
this lease, when, and through which action" is one query on the events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pghistory
import pgtrigger
from django.db import transaction


@contextlib.contextmanager
def recorded(action: str, user=None, **extra) -> Iterator[None]:
    """Run the block atomically, with its history events tagged `action` and `user`."""
    user_id = getattr(user, "pk", user)
    with transaction.atomic(), pghistory.context(action=action, user=user_id, **extra):
        yield


class AnyChangeRestorable(pgtrigger.AnyChange):
    """pgtrigger's AnyChange, written so that `pg_restore` can recreate the trigger.

    pg_dump writes trigger conditions under an empty search_path, and PostgreSQL prints
    `IS DISTINCT FROM` without its operator's schema, so a condition comparing two PostGIS
    geometries (`OLD.geom IS DISTINCT FROM NEW.geom`) fails to restore ("operator is not
    unique: public.geometry = public.geometry"). Geometry columns are compared as their
    bytes instead (`::bytea`, found by type, not by search_path): the same test of change.
    """

    def resolve(self, model) -> str:
        from django.contrib.gis.db.models import GeometryField

        expr = super().resolve(model)
        for field in model._meta.fields:
            if isinstance(field, GeometryField):
                column = f'"{field.column}"'
                expr = expr.replace(
                    f"OLD.{column} IS DISTINCT FROM (NEW.{column})",
                    f"OLD.{column}::bytea IS DISTINCT FROM (NEW.{column}::bytea)",
                )
        return expr
