"""Questions asked of ground leases, as composable queryset methods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.gis.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce


class GroundLeaseQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> GroundLeaseQuerySet:
        """Leases that had begun by `on` (today if omitted) and had not ended by then."""
        on = on or dt.date.today()
        return self.filter(Q(starts_on__lte=on), Q(ended_on__isnull=True) | Q(ended_on__gt=on))

    def held_only_by(self, parties: Iterable) -> GroundLeaseQuerySet:
        """Leases whose every lessee is among `parties`: without them, no one would hold them."""
        from leases.models import Party  # leases.models builds its manager from here

        ids = [party.pk for party in parties]
        others = Party.objects.exclude(pk__in=ids)
        return self.filter(lessees__in=ids).exclude(lessees__in=others).distinct()

    def with_fee_on(self, on: dt.date) -> GroundLeaseQuerySet:
        """Leases annotated with `fee_monthly_today`, the fee in force on `on` (the latest
        fee change dated on or before it; the stored fee if none is)."""
        from leases.models import LeaseFeeChange  # leases.models builds its manager from here

        latest = LeaseFeeChange.objects.filter(lease=OuterRef("pk"), effective_on__lte=on)
        latest = latest.order_by("-effective_on", "-pk").values("fee_monthly")[:1]
        return self.annotate(fee_monthly_today=Coalesce(Subquery(latest), F("fee_monthly")))

    def with_arrears(self) -> GroundLeaseQuerySet:
        """Leases whose lessees owe unpaid fees."""
        return self.filter(arrears__gt=0)

    def with_open_monitoring(self) -> GroundLeaseQuerySet:
        """Leases with at least one monitoring event not yet resolved."""
        return self.filter(monitoring__status__in=["open", "in_progress"]).distinct()
