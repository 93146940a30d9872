"""Named actions: every change runs in one transaction, tagged with who did it and why.

django-pghistory's triggers write an event row for each changed record; `pghistory.context`
attaches the acting user and the action's name to every event written inside it. So "who changed
this lease, when, and through which action" is one query on the events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pghistory
from django.db import transaction


@contextlib.contextmanager
def recorded(action: str, user=None, **extra) -> Iterator[None]:
    """Run the block atomically, with its history events tagged `action` and `user`."""
    user_id = getattr(user, "pk", user)
    with transaction.atomic(), pghistory.context(action=action, user=user_id, **extra):
        yield
