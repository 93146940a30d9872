"""Questions asked of ground leases, as composable queryset methods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.gis.db import models
from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    DurationField,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone


def expiry() -> Cast:
    """The day a lease's term runs out, in SQL: `starts_on` plus `term_years` years.

    PostgreSQL adds a year interval to 29 February as 28 February in a common year (and keeps
    29 February in a leap year), the rule `GroundLease.expires_on` follows in Python.
    """
    years = Func(
        F("term_years"),
        function="make_interval",
        template="%(function)s(years => %(expressions)s)",
        output_field=DurationField(),
    )
    later = CombinedExpression(F("starts_on"), "+", years, output_field=DateTimeField())
    return Cast(later, DateField())


def stops_on() -> Coalesce:
    """The day a lease stops being in force, in SQL: its end date, else its expiry (the same
    day as `GroundLease.period()`)."""
    return Coalesce(F("ended_on"), expiry(), output_field=DateField())


# What `status_on` says of a lease signed to start after the date: no status field says it.
NOT_STARTED = "not_started"


def status_on(on: dt.date) -> Case:
    """A lease's status on `on`, in SQL: one signed to start after `on` had not started; one
    that ended after `on` was in force then, whatever it became later (active, or in default if
    that is its status: a termination served for a default does not cure it); one with no end date
    whose term had run out by `on` had expired, whatever its status field still says (nothing
    sets it when a term runs out, and `in_force` and `GroundLease.period()` already count it
    stopped); otherwise its status as recorded."""
    from leases.models import LeaseStatus  # leases.models builds its manager from here

    return Case(
        When(starts_on__gt=on, then=Value(NOT_STARTED)),
        # In default stays in default to its end: a default is today's word, which an end date
        # later (a termination served for it) must not hide as "active".
        When(
            Q(ended_on__gt=on) & ~Q(status=LeaseStatus.IN_DEFAULT),
            then=Value(LeaseStatus.ACTIVE.value),
        ),
        When(
            Q(ended_on__isnull=True) & LessThanOrEqual(expiry(), on),
            then=Value(LeaseStatus.EXPIRED.value),
        ),
        default=F("status"),
        output_field=CharField(),
    )


def status_on_choices() -> list[tuple[str, str]]:
    """Every (value, label) `status_on` can give: not yet started, or a `LeaseStatus`."""
    from leases.models import LeaseStatus  # leases.models builds its manager from here

    return [(NOT_STARTED, "Not yet started"), *LeaseStatus.choices]


class GroundLeaseQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None) -> GroundLeaseQuerySet:
        """Leases that had begun by `on` (the trust's today if omitted) and had not stopped by
        then: neither ended nor past their term, as `GroundLease.period()` says.

        The stop day itself is out here (a lease ending on the 1st and the next one starting
        that day are not both in force), unlike `GroundLease.in_force_on`, which keeps it for
        a sale closing on the day the lease ends.
        """
        on = on or timezone.localdate()  # the trust's day, not the server's
        return self.filter(GreaterThan(stops_on(), on), starts_on__lte=on)

    def not_stopped_by(self, on: dt.date) -> GroundLeaseQuerySet:
        """Leases in force on `on` or signed to start later: those whose rules still apply
        (a lease that ended or ran out its term by `on` is history)."""
        return self.filter(GreaterThan(stops_on(), on))

    def with_status_on(self, on: dt.date) -> GroundLeaseQuerySet:
        """Leases annotated with `status_on`, each one's status on `on` by its dates as well as
        its status field (`status_on`): the one rule the lease list's "status today" column,
        its filter and the report read."""
        return self.annotate(status_on=status_on(on))

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
