"""Staff roles: what each kind of staff member may do in the registry, as Django groups.

Two roles, applied after every `migrate` (see `leases.apps`) and re-appliable at any time:

* **editor** adds, changes and views every registry record. Parcels, holdings, leases, parties
  and the like are never deleted: a record ends (`retired_at`, `ended_on`, a lease's status) so
  its history stays. An editor may delete only rows whose removal corrects a typing mistake and
  that have no lifespan of their own (`EDITOR_MAY_DELETE`).
* **read-only** views everything, history included, and changes nothing.

Both see the history events (pghistory) and never write them: history is never overwritten.
A superuser keeps every permission; roles are for everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as global_apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, models, router
from pghistory.models import Event

EDITOR = "editor"
READ_ONLY = "read-only"

# The apps whose records staff keep; every model in them, present and future, is covered.
REGISTRY_APPS = ("parcels", "leases")
# History is shown to every role (the aggregate Events view and the per-model event tables).
HISTORY_MODELS = ("pghistory.events", "pghistory.context")
# Rows an editor may delete to correct a mistake: no lifespan of their own, and the deletion
# itself stays in the history of the record they hang on.
EDITOR_MAY_DELETE = frozenset(
    {
        "leases.partymember",
        "leases.indexvalue",
        "leases.sourcedocument",
        "parcels.easementmonitoringvisit",
    }
)


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    registry_actions: frozenset[str]
    may_delete: frozenset[str] = frozenset()


ROLES: tuple[Role, ...] = (
    Role(
        EDITOR,
        "Adds, changes and views registry records; never deletes parcels, holdings or leases.",
        frozenset({"add", "change", "view"}),
        EDITOR_MAY_DELETE,
    ),
    Role(
        READ_ONLY,
        "Views every registry record and its history; changes nothing.",
        frozenset({"view"}),
    ),
)


def role(name: str) -> Role:
    """The role called `name` (KeyError naming the known roles if there is none)."""
    for candidate in ROLES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no staff role {name!r}; roles are {', '.join(r.name for r in ROLES)}")


def _registry_models() -> list[type[models.Model]]:
    return [m for label in REGISTRY_APPS for m in global_apps.get_app_config(label).get_models()]


def _history_models() -> list[type[models.Model]]:
    return [global_apps.get_model(label) for label in HISTORY_MODELS]


def _codenames(role: Role) -> dict[type[models.Model], set[str]]:
    """The permission codenames `role` holds, per model."""
    granted: dict[type[models.Model], set[str]] = {}
    for model in _registry_models():
        opts = model._meta
        if issubclass(model, Event):  # history rows: seen, never written
            actions = {"view"}
        else:
            actions = set(role.registry_actions)
            if opts.label_lower in role.may_delete:
                actions.add("delete")
        granted[model] = {get_permission_codename(action, opts) for action in actions}
    for model in _history_models():
        granted[model] = {get_permission_codename("view", model._meta)}
    return granted


def role_permissions(role: Role, using: str = DEFAULT_DB_ALIAS) -> list[Permission]:
    """The Permission rows `role` holds."""
    granted = _codenames(role)
    content_types = ContentType.objects.db_manager(using).get_for_models(
        *granted, for_concrete_models=False
    )
    wanted = models.Q(pk__in=[])
    for model, codenames in granted.items():
        wanted |= models.Q(content_type=content_types[model], codename__in=codenames)
    return list(Permission.objects.using(using).filter(wanted))


def apply_roles(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create or update every role's group with exactly its permissions; counts per role.

    Exactly: a permission granted by hand to a role's group is taken away again, so the groups
    always say what this module says.
    """
    for label in {*REGISTRY_APPS, "pghistory"}:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    counts = {}
    for each in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=each.name)
        permissions = role_permissions(each, using)
        group.permissions.set(permissions)
        counts[each.name] = len(permissions)
    return counts


def grant_role(user, name: str) -> None:
    """Make `user` a staff member with role `name` (in addition to any role they hold)."""
    group = Group.objects.get(name=role(name).name)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)


def apply_roles_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """post_migrate receiver: (re)apply the roles once auth's tables exist."""
    migrated = apps or global_apps
    try:
        migrated.get_model("auth", "Group")
        migrated.get_model("contenttypes", "ContentType")
    except LookupError:  # migrating to a state before auth: nothing to attach roles to
        return
    if router.allow_migrate_model(using, Group):
        apply_roles(using)
