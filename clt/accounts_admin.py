"""Staff accounts and roles in the admin, refused when stale like every registry record.

A user's page carries the user's roles (groups) and permissions. One superuser takes the
"editor" role from someone who left; another, with the same account's page open since before,
fixes a typo in its e-mail address and saves: Django's admin writes every field of the older
form back, the role included, and the account can edit the registry again without a word.
The stale-edit guard (`clt.concurrency`) that every registry page has refuses that save; the
same for a role's (group's) page and its permissions.

Last login and date joined are shown, not edited: the system writes the first at each login,
so an editable copy of it on an open page would refuse every save made after its owner logged
in. The password hash is left out of the fingerprint: the change form never writes it (it has
its own page), and a digest of it has no business in a page's HTML.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from clt.concurrency import StaleEditGuard


class GuardedUserAdmin(StaleEditGuard, UserAdmin):
    readonly_fields = ("last_login", "date_joined")

    def stale_edit_fingerprint(self, obj) -> dict[str, str]:
        parts = super().stale_edit_fingerprint(obj)
        parts.pop("password", None)
        return parts


class GuardedGroupAdmin(StaleEditGuard, GroupAdmin):
    pass


def register(site: admin.AdminSite = admin.site) -> None:
    """Put the guarded admins in place of django.contrib.auth's own. Called while the admin
    discovers the apps' admin modules (maps/admin.py), before any URL is built from them:
    auth's app comes before ours, so its admins are registered by then."""
    for model, model_admin in ((get_user_model(), GuardedUserAdmin), (Group, GuardedGroupAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
