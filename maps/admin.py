"""Access tokens in the admin: an admin issues one (the key is shown on the next page, once)
and revokes it; nobody edits a token's key, owner or expiry afterwards, nor takes a revocation
back: a token's life is set when it is issued, and to change it one revokes it and issues a
new one."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import capfirst

from clt import accounts_admin
from clt.concurrency import StaleEditGuard
from maps import tokens
from maps.models import AccessToken


class AccessTokenForm(forms.ModelForm):
    class Meta:
        model = AccessToken
        fields = ["user", "name", "expires_at", "revoked_at"]

    def clean_user(self):
        # The rule `tokens.issue` keeps: a token for a staff member without a role opens nothing.
        user = self.cleaned_data.get("user")
        if self.instance.pk is None and user is not None:
            try:
                tokens.check_holder(user)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
        return user

    def clean_expires_at(self):
        # The rules `clt token create` keeps (maps.tokens): the admin saves its token itself,
        # without `tokens.issue`, and let a token live until 2199.
        expires_at = self.cleaned_data.get("expires_at")
        if self.instance.pk is None and expires_at:
            try:
                tokens.check_expiry(expires_at)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc
        return expires_at


@admin.register(AccessToken)
class AccessTokenAdmin(StaleEditGuard, admin.ModelAdmin):
    form = AccessTokenForm
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "expires_at",
                    "revoked_at"]  # fmt: skip
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["user", "name", "expires_at"] if obj is None else [
            "user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The expiry too (an expired token is not reopened, nor a token's life stretched past
        # the ten years it was issued within); a revocation is final once made.
        fixed = ["user", "prefix", "created_at", "last_used_at", "expires_at"]
        return [*fixed, "revoked_at"] if obj.revoked_at else fixed

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":  # tokens stand in for active staff only
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True, is_staff=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            # Kept on the request only, for response_add: the key is never stored.
            request.clt_new_token_key = tokens.set_new_key(obj)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "opts": self.opts,
            "key": request.clt_new_token_key,
            "title": "Copy the new access token",
        }
        response = TemplateResponse(request, "admin/maps/accesstoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        """Revoke the selected live tokens, each logged in the admin's history as a change of
        its revocation by this admin, as a revocation saved on the token's own page is
        (`log_change`). Tokens have no pghistory events: the log is who revoked which token."""
        with transaction.atomic():
            live = list(queryset.filter(revoked_at__isnull=True).select_for_update())
            now = timezone.now()
            AccessToken.objects.filter(pk__in=[t.pk for t in live]).update(revoked_at=now)
            if live:
                LogEntry.objects.log_actions(
                    user_id=request.user.pk, queryset=live, action_flag=CHANGE,
                    change_message=[{"changed": {"fields": [revoked_at_label()]}}],
                )  # fmt: skip
        self.message_user(request, f"Revoked {len(live)} token(s).", messages.SUCCESS)


def revoked_at_label() -> str:
    """The revocation's field as the admin's change form labels it ("Revoked at"), which is how
    its history names a field a change made."""
    return capfirst(AccessToken._meta.get_field("revoked_at").verbose_name)


# The other side of credentials: the failed logins of the cool-off, by user name and address, a
# lockout marked "Locked Out"; deleting the row lifts it (clt/lockout.py). Axes' own admin
# (AXES_ENABLE_ADMIN) would add its login and failure logs too, which clt does not keep. Only a
# superuser sees it: no role holds axes' permissions (clt/roles.py).
admin.site.register(AccessAttempt, AccessAttemptAdmin)

# Staff accounts and roles refuse a stale save, like every registry record: an older user page
# cannot give back a role just taken away (clt/accounts_admin.py). Here, with the rest of who
# may read what, as django.contrib.auth's admin is registered by then (its app comes first).
accounts_admin.register()
