"""The map app declares layers over other apps' models; its own tables are about access.

`maps_data_version` (a counter per table the layers read, bumped by a trigger) is created by
raw SQL in migration 0001 and read by maps/versions.py: it has no model, so no admin form or test
flush can ever rewind a version.

`AccessToken` lets a planner's GIS client (QGIS, GDAL, a script) read the staff layers without a
browser session. Only a hash is stored; the token is shown once, when it is made (maps/tokens.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from clt.dates import check_registry_date


class AccessTokenQuerySet(models.QuerySet):
    def live(self) -> AccessTokenQuerySet:
        """Tokens that still open the door: not revoked, not expired."""
        from django.utils import timezone

        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class AccessToken(models.Model):
    """A read-only, revocable key to the layers its staff user may see."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(
        max_length=100, help_text="What it is for: “QGIS on the planning laptop”."
    )
    prefix = models.CharField(
        max_length=12, help_text="The token's first characters, to tell tokens apart."
    )
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(validators=[check_registry_date], null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(validators=[check_registry_date], null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = " (revoked)" if self.revoked_at else ""
        return f"{self.prefix}… {self.name} — {self.user}{state}"
