"""Questions asked of parcels and holdings, as composable queryset methods."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.db import models
from django.db.models import Q


class ParcelQuerySet(models.QuerySet):
    def active(self) -> ParcelQuerySet:
        """Parcels still in the county's current file (not retired)."""
        return self.filter(retired_at__isnull=True)

    def vacant(self) -> ParcelQuerySet:
        """Active parcels with no structure or use on them, by the recorded vacancy status."""
        return self.active().filter(vacancy_status="vacant")

    def held_by_trust(self, on: dt.date | None = None) -> ParcelQuerySet:
        """Parcels that belong to a holding of the trust on `on` (today if omitted)."""
        on = on or dt.date.today()
        held = Q(holdingparcel__began_on__lte=on) & (
            Q(holdingparcel__ended_on__isnull=True) | Q(holdingparcel__ended_on__gt=on)
        )
        return self.filter(held).distinct()


class HoldingQuerySet(models.QuerySet):
    def current(self, on: dt.date | None = None) -> HoldingQuerySet:
        """Holdings the trust had on `on` (today if omitted): acquired by then, not yet ended."""
        on = on or dt.date.today()
        return self.filter(Q(acquired_on__lte=on), Q(ended_on__isnull=True) | Q(ended_on__gt=on))
