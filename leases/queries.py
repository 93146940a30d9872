"""Questions asked of ground leases, as composable queryset methods."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.db import models
from django.db.models import Q


class GroundLeaseQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> GroundLeaseQuerySet:
        """Leases that had begun by `on` (today if omitted) and had not ended by then."""
        on = on or dt.date.today()
        return self.filter(Q(starts_on__lte=on), Q(ended_on__isnull=True) | Q(ended_on__gt=on))

    def with_arrears(self) -> GroundLeaseQuerySet:
        """Leases whose lessees owe unpaid fees."""
        return self.filter(arrears__gt=0)

    def with_open_monitoring(self) -> GroundLeaseQuerySet:
        """Leases with at least one monitoring event not yet resolved."""
        return self.filter(monitoring__status__in=["open", "in_progress"]).distinct()
