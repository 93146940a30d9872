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
    Exists,
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


def status_on(on: dt.date, recorded: str = "status") -> Case:
    """A lease's status on `on`, in SQL: one signed to start after `on` had not started; one
    that ended after `on` was in force then, whatever it became later (active, or in default if
    that is its status: a termination served for a default does not cure it); one with no end date
    whose term had run out by `on` had expired, whatever its status field still says (nothing
    sets it when a term runs out, and `in_force` and `GroundLease.period()` already count it
    stopped); one whose end date had come is as its status field says (terminated, expired);
    otherwise its status as recorded.

    `recorded` names the field or annotation read as "its status as recorded" (in default or
    not): the status field, today's; or `status_recorded` (`with_recorded_on`), the status the
    registry's history held at the end of that day. The dated lifespan decides the rest.
    """
    from leases.models import LeaseStatus  # leases.models builds its manager from here

    return Case(
        When(starts_on__gt=on, then=Value(NOT_STARTED)),
        # In default stays in default to its end: a default is the recorded word, which an end
        # date later (a termination served for it) must not hide as "active".
        When(
            Q(ended_on__gt=on) & ~Q(**{recorded: LeaseStatus.IN_DEFAULT}),
            then=Value(LeaseStatus.ACTIVE.value),
        ),
        When(
            Q(ended_on__isnull=True) & LessThanOrEqual(expiry(), on),
            then=Value(LeaseStatus.EXPIRED.value),
        ),
        # Ended by then: the end is dated, so the status that came with it stands, even if
        # the termination was entered (and so recorded) after the date.
        When(ended_on__lte=on, then=F("status")),
        default=F(recorded),
        output_field=CharField(),
    )


def end_of_day(on: dt.date) -> dt.datetime:
    """The end of the trust's local day `on` (the next local midnight), as an aware date-time:
    what the history recorded before it, it had recorded by that day."""
    return timezone.make_aware(dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min))


def lease_history_by(on: dt.date) -> models.QuerySet:
    """The history events of the outer query's lease written by the end of the trust's day
    `on`, the last written first."""
    from leases.models import GroundLease  # leases.models builds its manager from here

    events = GroundLease.pgh_event_model.objects.filter(
        pgh_obj=OuterRef("pk"), pgh_created_at__lt=end_of_day(on)
    )
    # By id, not time: a change's time is its transaction's start, and one transaction (a
    # closing) may change a lease twice.
    return events.order_by("-pgh_id")


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

    def with_status_on(self, on: dt.date, recorded: str = "status") -> GroundLeaseQuerySet:
        """Leases annotated with `status_on`, each one's status on `on` by its dates as well as
        its status field (`status_on`): the one rule the lease list's "status today" column,
        its filter and the report read. The report reads the status recorded then
        (`with_recorded_on`, then `recorded="status_recorded"`)."""
        return self.annotate(status_on=status_on(on, recorded))

    def with_recorded_on(self, on: dt.date) -> GroundLeaseQuerySet:
        """Leases annotated with what was recorded of them at the end of the trust's day `on`:
        `arrears_recorded` and `status_recorded`, from each one's last history event by then;
        `recorded_today` (true) for one whose history begins later, whose two figures are
        today's, the only ones known.

        On or after the trust's today, the figures are today's for every lease (the history
        holds nothing later), and `recorded_today` is true for all. Pass
        `recorded="status_recorded"` to `with_status_on` for the status on the date.
        """
        if on >= timezone.localdate():
            return self.annotate(
                arrears_recorded=F("arrears"),
                status_recorded=F("status"),
                recorded_today=Value(True),
            )
        history = lease_history_by(on)
        return self.annotate(
            arrears_recorded=Coalesce(Subquery(history.values("arrears")[:1]), F("arrears")),
            status_recorded=Coalesce(Subquery(history.values("status")[:1]), F("status")),
            recorded_today=~Exists(history),
        )

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
