"""Planners' access tokens: a GIS client reads the staff layers without a browser session.

A token stands in for its staff user on *reads* of the data endpoints (OGC API, downloads, tiles,
layer GeoJSON, the finder API) and nowhere else: not the admin, not a form, never a write. So a
token copied out of a QGIS project can show staff layers to whoever holds it, but cannot change
the registry; revoking it (or the user leaving the staff) closes that door on the next request.

Clients send it as `Authorization: Bearer clt_…`, or, for clients that only know Basic auth
(GDAL's GDAL_HTTP_USERPWD, QGIS's Basic method), as the password with any user name; reading
the header is `maps.credentials`' job.
Only its SHA-256 is stored: a token is 256 random bits, so a fast hash is as good as a slow one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from clt.roles import ROLES
from maps.layers import staff_layers_for
from maps.models import AccessToken

PREFIX = "clt_"
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)  # no write per request under load
# The longest a token may be issued for. A planner's laptop, a QGIS project, a staff member
# all change well within ten years; a later day is a mistyped year (2205 for 2025) or a wish
# for no end at all, which is said by giving no expiry. It also keeps every expiry far inside
# what Python and PostgreSQL can read back: "9999-12-31" in Jackson is in the year 10000 in
# UTC, stored, and then every `clt token list` failed with "timestamp too large".
LONGEST_LIFE_YEARS = 10
NAME_MAX_CHARS = AccessToken._meta.get_field("name").max_length


class TokenRejected(Exception):
    """The request carried a token that does not open the door; the message says why."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(user, name: str, *, expires_at: dt.datetime | None = None) -> tuple[AccessToken, str]:
    """A new token for `user`; the key is returned once and never stored."""
    check_holder(user)
    check_name(name)
    if expires_at is not None:
        check_last_day(timezone.localdate(expires_at))
    token = AccessToken(user=user, name=name.strip(), expires_at=expires_at)
    key = set_new_key(token)
    token.save()
    return token, key


def on_staff(user) -> bool:
    """Whether a token of `user` still stands for them (`user_for`): active and on the staff."""
    return user.is_active and user.is_staff


def check_holder(user) -> None:
    """Refuse a token to a user it would open nothing for: not active staff, or staff whose
    role (clt/roles.py) lets them see no staff layer (none, or a role taken away)."""
    if not on_staff(user):
        raise ValueError(f"{user} is not active staff; tokens are for the trust's staff")
    if not staff_layers_for(user):
        raise ValueError(
            f"{user} has no role that may see a staff layer, so a token would open none: give "
            f"them a role first (add them to the {' or '.join(repr(r.name) for r in ROLES)} "
            "group on their user page in the admin; the roles are described in clt/roles.py)"
        )


def check_name(name: str) -> None:
    """Refuse a name that says nothing, or more than the NAME_MAX_CHARS the table keeps."""
    if not name.strip():
        raise ValueError("say what the token is for (a name such as 'QGIS, planning laptop')")
    if len(name.strip()) > NAME_MAX_CHARS:
        raise ValueError(
            f"the name is {len(name.strip()):,} characters long; "
            f"say what the token is for in at most {NAME_MAX_CHARS}"
        )


def latest_last_day(today: dt.date | None = None) -> dt.date:
    """The latest last day a token issued `today` (the trust's today) may have."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + LONGEST_LIFE_YEARS)
    except ValueError:  # 29 February, in a year that has none
        return today.replace(year=today.year + LONGEST_LIFE_YEARS, day=28)


def check_expiry(expires_at: dt.datetime) -> None:
    """Refuse the expiry a new token is given when it has passed (a year typed wrong: the token
    would only ever answer "expired"), or lies beyond LONGEST_LIFE_YEARS (`check_last_day`)."""
    if expires_at <= timezone.now():
        raise ValueError("That moment has passed: a new token expires in the future (or leave it "
                         "empty)")  # fmt: skip
    check_last_day(timezone.localdate(expires_at))


def check_last_day(day: dt.date) -> None:
    """Refuse a last day beyond LONGEST_LIFE_YEARS from today, saying the latest allowed."""
    latest = latest_last_day()
    if day > latest:
        raise ValueError(
            f"{day:%Y-%m-%d} is too far off: a token lives at most {LONGEST_LIFE_YEARS} years, "
            f"so its last day may be {latest:%Y-%m-%d} at the latest (or give none, for a "
            "token that works until it is revoked)"
        )


def set_new_key(token: AccessToken) -> str:
    """Give `token` a fresh random key (its prefix and hash); return the key itself."""
    key = PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.key_sha256 = key[:10], _digest(key)
    return key


def revoke(token: AccessToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def user_for(key: str):
    """The staff user `key` stands for, or TokenRejected saying why not."""
    token = AccessToken.objects.select_related("user").filter(key_sha256=_digest(key)).first()
    if token is None:
        raise TokenRejected("this access token is not known; ask the trust's admin for a new one")
    if token.revoked_at:
        revoked = timezone.localtime(token.revoked_at)
        raise TokenRejected(f"this access token was revoked on {revoked:%Y-%m-%d}")
    now = timezone.now()
    if token.expires_at and token.expires_at <= now:  # its last day, in the trust's time zone
        last_day = timezone.localtime(token.expires_at)
        raise TokenRejected(f"this access token's last day was {last_day:%Y-%m-%d}")
    if not on_staff(token.user):  # a user without a role is let in, and sees no staff layer
        raise TokenRejected("this access token's user is no longer on the trust's staff")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
