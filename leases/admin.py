"""Staff pages for parties, ground leases and what hangs on them; index tables and sources.

Private data lives in these models, so every page here is for logged-in staff only (the admin
site's own rule). The lease page shows today's maximum resale price, line by line, from the
lease's formula in force today (`leases.pricing`), named; for a lease that has ended, that it
ended, and the price on its last day. Its formulas by date are listed read-only: a changed
formula is an amendment from the date given beside it (`GroundLeaseForm`).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.db.models import TextField
from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from clt.dates import RegistryDateField, RegistryDateFields
from clt.textareas import LineFeedTextFields
from leases.actions import (
    Closing,
    formula_amend,
    formula_keep_signed,
    holding_unlist_for,
    lease_follow_corrected_closing,
    lease_pass_to_buyer,
    unlisted_message,
)
from leases.buyer_income import income_pct_mismatch
from leases.forms import CapitalImprovementForm, ResaleForm
from leases.indexes import leases_reading, value_key
from leases.models import (
    Appraisal,
    CapitalImprovement,
    GroundLease,
    IndexSeries,
    IndexValue,
    LeaseFeeChange,
    LeaseFormula,
    LeaseStatus,
    MonitoringEvent,
    Party,
    PartyKind,
    PartyMember,
    RepairDeduction,
    Resale,
    SourceDocument,
    check_lease_parcels,
    formula_date_error,
    parcels_for_lease,
    validate_formula,
)
from leases.pricing import hud_income_limit, max_resale_price, not_on_record_needed
from leases.queries import NOT_STARTED, status_on_choices
from leases.report import above_income_limit, buyer_income_limit_pct_ami
from leases.resale import FormulaError, MissingIndexValue, MissingInput
from parcels.admin import ReadableAutocompleteFields, RecordedAdmin, SourceInline, section
from parcels.folding import SEARCH_HELP, folded_search

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Parties


class PartyMemberFormSet(BaseInlineFormSet):
    """A party's members as submitted: their shares are fractions of the one interest the
    party holds, so together they are at most 1 (less while a member is still to be added)."""

    def clean(self):
        super().clean()
        shares = [
            form.cleaned_data["share"]
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("share") is not None
        ]
        total = sum(shares, Decimal(0))
        if total > 1:
            raise ValidationError(
                f"The members' shares add up to {total.normalize():f}: each is a fraction of "
                "the party's interest, so together they are at most 1 (two equal members hold "
                "0.5 each). Correct the shares.",
                code="shares_above_one",
            )


class PartyMemberInline(admin.TabularInline):
    model = PartyMember
    formset = PartyMemberFormSet
    extra = 0


@admin.register(Party)
class PartyAdmin(RecordedAdmin):
    list_display = ["name", "kind", "household_size", "email", "phone"]
    list_filter = ["kind"]
    search_fields = [folded_search("name"), folded_search("members__name"), "email"]
    search_help_text = f"Part of a name, a household member's name or an email. {SEARCH_HELP}"
    inlines = [PartyMemberInline]

    def get_deleted_objects(self, objs, request):
        """Django's list of what a delete takes with it, with every lease the parties are the
        only lessees of added as protected: a lease always names who holds it (an edit of a
        lease left without one failed "This field is required"), so its lessee is replaced or
        the lease ended first. Both the delete page and "delete selected" ask this."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        parties = list(objs)
        held = GroundLease.objects.held_only_by(parties).prefetch_related("lessees")
        protected = [*protected, *(sole_lessee_of(lease) for lease in held)]
        return deleted, counts, perms_needed, protected


def sole_lessee_of(lease: GroundLease) -> SafeString:
    """A lease as a protected object of a party delete, linked, with why and what to do."""
    names = " and ".join(party.name for party in lease.lessees.all())
    return format_html(
        'Ground lease: <a href="{}">{}</a> ({}, {}), held only by {}: add its new lessee or '
        "end the lease first",
        reverse("admin:leases_groundlease_change", args=[lease.pk]),
        lease.reference,
        lease.get_status_display().lower(),
        lease.describe_period(),
        names,
    )


# ---------------------------------------------------------------------------------------------
# Ground leases


class LeaseFeeChangeInline(RegistryDateFields, admin.TabularInline):
    model = LeaseFeeChange
    extra = 0
    verbose_name_plural = "fee changes (each takes effect on its date)"


class LeaseFormulaInline(admin.TabularInline):
    """The lease's resale formulas by date, read-only: each prices the sales contracted from its
    date. They are written by amending the formula above (`GroundLeaseForm`), never edited
    here, so a formula a sale was priced by stays as it was."""

    model = LeaseFormula
    fields = readonly_fields = ["effective_on", "formula", "note"]
    extra = 0
    verbose_name_plural = (
        "resale formulas (each prices the sales contracted from its date; to amend, change "
        "the formula above and give the date it applies from)"
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MonitoringEventInline(RegistryDateFields, LineFeedTextFields, admin.TabularInline):
    model = MonitoringEvent
    extra = 0
    # The admin's 48-em notes box made each row 1690 px wide: Delete? was off a desktop screen.
    formfield_overrides = {TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})}}


class AppraisalInline(RegistryDateFields, admin.TabularInline):
    model = Appraisal
    extra = 0


class CapitalImprovementInline(RegistryDateFields, admin.TabularInline):
    model = CapitalImprovement
    form = CapitalImprovementForm
    extra = 0


class RepairDeductionInline(RegistryDateFields, admin.TabularInline):
    model = RepairDeduction
    extra = 0


# Stacked: ten columns in a row were 2,000 px wide.
class ResaleInline(RegistryDateFields, ReadableAutocompleteFields, admin.StackedInline):
    model = Resale
    form = ResaleForm
    extra = 0
    autocomplete_fields = ["seller", "buyer"]
    readonly_fields = ["arrears_collected"]  # written by the closing (lease_settle_seller)


class LeaseSourceInline(SourceInline):
    fk_name = "lease"
    verbose_name_plural = "sources (recorded lease, appraisal reports)"


def dollars(amount: Decimal) -> str:
    """An exact amount as staff write it: $281,250.00, -$1,200.00."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def price_panel(lease: GroundLease, today: dt.date) -> SafeString:
    """The lease page's resale price: today's, every line; for a lease that has ended, that it
    ended and when, with the price on its last day, named as such (what the trust's purchase
    option paid on a surrender), never a price for today."""
    _, stops_on = lease.period()
    if stops_on is None or stops_on >= today:  # a sale may close on the lease's last day
        return price_breakdown(lease, today)
    buy_back = ended_by_buy_back(lease)
    if buy_back is not None:  # what the purchase option paid: its contract day, its appraisal
        return format_html("{}{}", lease_ended(lease, stops_on), price_breakdown(
            lease, buy_back.contract_on, ended=True, appraisal=buy_back.appraised_value,
            bought_back=True,
        ))  # fmt: skip
    return format_html(
        "{}{}", lease_ended(lease, stops_on), price_breakdown(lease, stops_on, ended=True)
    )


def ended_by_buy_back(lease: GroundLease) -> Resale | None:
    """The trust's buy-back that ended `lease` (closed to the trust on its end day), if any.
    Its price is priced on the buy-back's own contract day and appraisal: priced on the end day
    with the latest appraisal on record (a refinance's, say), the panel gave a second price for
    the same sale beside the one recorded (QA re-test, finding 3)."""
    if lease.ended_on is None:
        return None
    closings = lease.resales.filter(closed_on=lease.ended_on, buyer__kind=PartyKind.TRUST)
    return closings.exclude(contract_on__isnull=True).order_by("-pk").first()


def lease_ended(lease: GroundLease, stops_on: dt.date) -> SafeString:
    """That the lease has ended, when and why, and its last resale, as HTML."""
    if lease.ended_on is not None:
        why = lease.get_status_display().lower()
        why += f": {lease.end_reason}" if lease.end_reason else ""
        ended = format_html("This lease ended on {} ({})", stops_on.isoformat(), why)
    else:
        ended = format_html("This lease's term ran out on {}", stops_on.isoformat())
    last = lease.resales.filter(closed_on__isnull=False).order_by("-closed_on", "-pk").first()
    sold = ""
    if last is not None:
        sold = format_html(
            " Its last resale closed on {} at {} (formula price {}).",
            last.closed_on.isoformat(), dollars(last.agreed_price), dollars(last.formula_price),
        )  # fmt: skip
    return format_html(
        '<p class="clt-lease-ended"><strong>{}, so it has no resale price today.</strong>{}</p>',
        ended, sold,
    )  # fmt: skip


def price_breakdown(
    lease: GroundLease,
    on: dt.date,
    *,
    ended: bool = False,
    appraisal: Decimal | None = None,
    bought_back: bool = False,
) -> SafeString:
    """The lease's maximum resale price on `on`, every line, as HTML; or why there is none.

    `ended`: `on` is the day the lease ended, and the page says so; with `bought_back`, `on` is
    the contract day of the trust's buy-back that ended it, priced at its `appraisal`."""
    if bought_back:
        when = f"{on.isoformat()}, the contract day of the trust's buy-back"
    else:
        when = f"{on.isoformat()}, the day the lease ended" if ended else on.isoformat()
    try:
        result = max_resale_price(lease, on=on, appraisal=appraisal)
    except MissingInput as exc:
        return format_html(
            '<p class="errornote clt-price-error">No price on {}: {}</p>',
            when, missing_input(lease, on, exc),
        )  # fmt: skip
    except FormulaError as exc:
        return format_html(
            '<p class="errornote clt-price-error">No price on {}: {}{}</p>',
            when, exc, missing_index_fix(exc),
        )  # fmt: skip
    except (ValueError, ArithmeticError) as exc:
        # Figures no formula was written for (a date at the edge of the calendar, an amount
        # past any decimal): the admin would show a bare "-" for them, so say so instead.
        logger.warning("lease %s: no resale price on %s", lease.reference, on, exc_info=True)
        return format_html(
            '<p class="errornote clt-price-error">No price on {}: the lease\'s figures are '
            "outside what the formula can compute ({}). Check its purchase price and date "
            "({}, {}) and the formula's rates.</p>",
            when, exc, dollars(lease.purchase_price), lease.purchase_date.isoformat(),
        )  # fmt: skip
    lines = [
        {
            "label": line.label,
            "kind": str(getattr(line, "kind", "item")),
            "amount": dollars(line.amount),
        }
        for line in result.lines
    ]
    html = render_to_string(
        "admin/leases/groundlease/resale_price.html",
        {
            "lines": lines, "price": dollars(result.price), "on": on, "ended": ended,
            "bought_back": bought_back,
            # Which formula priced it: the one signed, or an amendment in force by then.
            "formula": lease.formula_in_force(on).describe(),
        },
    )  # fmt: skip
    return mark_safe(html)  # our template, rendered with autoescaping on


# The sale inputs no record keeps, in words (`leases.pricing.NOT_ON_RECORD`).
NOT_ON_RECORD_WORDS = {
    "principal_paid": "the principal the seller has paid down on their mortgage",
    "seller_closing_costs": "the seller's closing costs",
    "seller_net_proceeds": "the seller's net proceeds from the sale",
}
# The costs a mortgage-based formula reads from the lease's own fields, in words.
LEASE_COSTS = {
    "taxes_monthly": "the home's property taxes, monthly",
    "insurance_monthly": "the homeowner's insurance, monthly",
}


def missing_input(lease: GroundLease, on: dt.date, exc: MissingInput) -> SafeString | str:
    """The input a formula found missing, in words, and where staff give it (on this page, or
    for what no record keeps, with `clt resale-price`); the engine's own text for any other."""
    needs = f"The lease's {exc.needed_by} needs"
    purchase = lease.purchase_date.isoformat()
    if exc.field in NOT_ON_RECORD_WORDS:
        needed = not_on_record_needed(lease, on=on) or (exc.field,)
        inputs = " ".join(f"--input {name}=AMOUNT" for name in needed)
        return format_html(
            "{} {}: figures of the sale that the registry does not keep, so this page cannot "
            "price it. Price the sale with <code>{}</code>, and enter that price by hand as "
            "the formula price of the resale, under Resales below.",
            needs, words_and([NOT_ON_RECORD_WORDS[name] for name in needed]),
            f"clt resale-price --lease {lease.reference} --sale-date {on.isoformat()} {inputs}",
        )  # fmt: skip
    if exc.field == "appraisal_at_resale" and exc.because:  # one on record, too old
        return (
            f"{needs} the home's appraised value at resale, and {exc.because}. Add a current "
            "appraisal under Appraisals below, with purpose “At resale”."
        )
    if exc.field == "appraisal_at_resale":
        return (
            f"{needs} the home's appraised value at resale, and no appraisal is on record after "
            f"the purchase on {purchase}, up to {on.isoformat()}. Add the appraisal under "
            "Appraisals below, with purpose “At resale”."
        )
    if exc.field == "appraisal_at_purchase":
        return (
            f"{needs} the home's appraised value when the current lessee bought it, on "
            f"{purchase}, and no appraisal of that purchase is on record. Add it under "
            "Appraisals below, with purpose “At purchase” (one dated up to 12 months before "
            "the purchase also counts)."
        )
    if exc.field in LEASE_COSTS:
        label = GroundLease._meta.get_field(exc.field).verbose_name
        return (
            f"{needs} {LEASE_COSTS[exc.field]}, which the lease does not give: enter it in "
            f"“{label.capitalize()}” under Responsibilities above."
        )
    if exc.field == "target_income_annual":
        return (
            f"{needs} the income of the household it targets, but names none: give its "
            '"percent_of_median" and "household_size" in the resale formula above (the HUD '
            "income limit for them is then read from the loaded tables)."
        )
    return str(exc)


def missing_index_fix(exc: FormulaError) -> str:
    """What to do about an index value the formula lacks: load it, or, for a lease that prices
    on the most recently published figure, say so in its formula (the page said only what was
    missing, every January until HUD published)."""
    if not isinstance(exc, MissingIndexValue):
        return ""
    load = f". Load it with clt load-index FILE --series {exc.series} (see the README)"
    if exc.reads_latest:  # none on record by the date: only loading one helps
        return load
    return (
        f"{load}; or, if the lease prices on the most recently published figure, add "
        '"read": "latest" to its index formula above'
    )


def words_and(items: list[str]) -> str:
    """The items as a list in words: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


class FormulaField(forms.JSONField):
    """The resale formula's JSON box: empty for a lease that has none yet (a new lease), where
    Django's JSON field writes `null`, which staff had to delete before typing the formula.
    The app has no default formula: each lease's is the one its signed document states."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class GroundLeaseForm(forms.ModelForm):
    """The lease with its parcels: each must be a parcel its holding holds now (the model's
    own clean checks the dates, the status and the other leases of the holding). The admin
    gives it its model and fields."""

    # A change of a signed lease's formula is an amendment from this date (`formula_amend`).
    formula_amended_from = RegistryDateField(
        required=False,
        widget=AdminDateWidget,
        label="Amended formula applies from",
        help_text="With a changed formula above: the first contract date it applies to (blank: "
        "today). A sale contracted before keeps the formula in force on its contract date",
    )
    amendment: tuple[dict, dt.date] | None = None  # (formula, from), found by `clean`
    parcels_from_holding: list | None = None  # a new lease's parcels, left empty: the holding's

    class Meta:
        field_classes = {"resale_formula": FormulaField}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:  # an amendment dated later may have come into force
            today = self.instance.formula_in_force(timezone.localdate())
            self.initial["resale_formula"] = today.formula

    def clean(self):
        cleaned = super().clean()
        holding, parcels = cleaned.get("holding"), cleaned.get("parcels")
        # Checked when they are set: a lease whose holding has since ended (or let a parcel
        # go) must still save, for its notes, status or end date.
        chosen_now = self.instance.pk is None or {"holding", "parcels"} & set(self.changed_data)
        if holding is not None and parcels is not None and chosen_now:
            try:
                self.check_parcels(holding, parcels)
            except ValidationError as exc:
                self.add_error(None, exc)
        if self.instance.pk is not None:
            self.clean_amendment(cleaned)
        return cleaned

    def check_parcels(self, holding, parcels) -> None:
        """The lease's parcels, as `lease_create` signs them: left empty on the add page, every
        parcel the holding holds now (kept in `parcels_from_holding`, which the admin names to
        staff), refused if it holds none (`parcels_for_lease`). On a signed lease an emptied
        box is refused: a lease on no parcel is missing from the staff map and its search."""
        if self.instance.pk is None:
            chosen = parcels_for_lease(holding, parcels)
            if not parcels:
                self.cleaned_data["parcels"] = chosen
                self.parcels_from_holding = chosen
            return
        if not parcels:
            raise ValidationError(
                {"parcels": f"A lease is on at least one parcel: choose the parcels of {holding} "
                            "it is on (a lease on none is missing from the staff map)."},
                code="lease_without_parcels",
            )  # fmt: skip
        check_lease_parcels(holding, parcels)

    def clean_amendment(self, cleaned: dict) -> None:
        """A changed formula on a signed lease: checked, and kept aside as an amendment from its
        date (`amendment`), which the admin records after the save. The lease's own field keeps
        its formula: `formula_amend` writes there the one in force today."""
        on = cleaned.get("formula_amended_from")
        if "resale_formula" not in self.changed_data:
            if on is not None:
                self.add_error("formula_amended_from", "The formula above is unchanged: give a "
                               "date only with an amended formula.")  # fmt: skip
            return
        if "resale_formula" not in cleaned:  # not JSON: its field says why
            return
        formula, on = cleaned["resale_formula"], on or timezone.localdate()
        try:
            validate_formula(formula)
        except ValidationError as exc:
            self.add_error("resale_formula", exc)
            return
        error = formula_date_error(self.instance, on)
        if error:
            self.add_error("formula_amended_from", error)
            return
        self.amendment = (formula, on)
        cleaned["resale_formula"] = self.initial.get("resale_formula")


class StatusTodayFilter(admin.SimpleListFilter):
    """Leases by what the "status today" column says of them (`status_on` today), not by the
    status field: nothing sets that field when a term runs out, so staff preparing renewals
    could not list the leases past their term. Filters the `status_on` annotation that
    `GroundLeaseAdmin.get_queryset` adds, the one the column reads."""

    title = "status today"
    parameter_name = "status_today"

    def lookups(self, request, model_admin):
        return status_on_choices()

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(status_on=self.value())


class RecordedStatusFilter(admin.ChoicesFieldListFilter):
    """The status field as staff recorded it, titled so it is not taken for "status today"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "status as recorded"


@admin.register(GroundLease)
class GroundLeaseAdmin(RecordedAdmin):
    form = GroundLeaseForm
    list_display = [
        "reference",
        "holding",
        "lessee_names",
        "status_today",
        "permitted_use",
        "starts_on",
        "fee_today",
        "arrears",
    ]
    list_filter = [
        StatusTodayFilter,
        ("status", RecordedStatusFilter),
        "permitted_use",
        "transfer_on_death",
    ]
    list_select_related = ["holding"]
    search_fields = [
        "reference",
        folded_search("holding__name"),
        "parcels__apn",
        folded_search("parcels__address"),
        folded_search("lessees__name"),
        # Its former lessees too: an heir's predecessor, a seller (QA: steward, finding 6). The
        # lessee events name everyone who held it since they were tracked (`LeaseLessee`); the
        # resales' sellers, those who sold before.
        folded_search("lessee_events__party__name"),
        folded_search("resales__seller__name"),
    ]
    search_help_text = (
        "A lease's reference, a holding's name, a lessee's name (current or former), a "
        f"parcel's APN or address. {SEARCH_HELP}"
    )
    autocomplete_fields = ["holding", "parcels", "lessees"]
    date_hierarchy = "starts_on"
    readonly_fields = ["expires_on", "max_resale_price_today"]
    fieldsets = [
        section(None, "reference", "holding", "parcels", "lessees", "status", "permitted_use"),
        section(
            "Term",
            "starts_on",
            "term_years",
            "expires_on",
            "renewable",
            "renewal_term_years",
            "ended_on",
            "end_reason",
        ),
        section(
            "Responsibilities",
            "fee_monthly",
            "fee_increase_cap_pct",
            "arrears",
            "occupancy_months_per_year",
            "taxes_paid_by_lessee",
            "taxes_monthly",
            "insurance_monthly",
            "permitted_mortgage",
            "transfer_on_death",
        ),
        section(
            "Resale",
            "purchase_price",
            "purchase_date",
            "resale_formula",
            "formula_amended_from",
            "max_resale_price_today",
        ),
        section("Notes", "notes"),
    ]
    inlines = [
        LeaseFeeChangeInline,
        LeaseFormulaInline,
        MonitoringEventInline,
        AppraisalInline,
        CapitalImprovementInline,
        RepairDeductionInline,
        ResaleInline,
        LeaseSourceInline,
    ]

    def get_queryset(self, request):
        today = timezone.localdate()  # the trust's day, not the server's
        leases = super().get_queryset(request).prefetch_related("lessees")
        return leases.with_fee_on(today).with_status_on(today)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:  # once signed, the fee changes only through a dated fee change
            fields.append("fee_monthly")
        return fields

    def get_inlines(self, request, obj):
        """The add page lists no formulas: the one the lease is signed with is recorded on
        saving, from its start (`save_formula`)."""
        inlines = super().get_inlines(request, obj)
        return inlines if obj is not None else [i for i in inlines if i is not LeaseFormulaInline]

    def get_fieldsets(self, request, obj=None):
        """The add page has no amendment date: a new lease's formula is the one it is signed
        with, from its start."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f != AMENDED_FROM]})
            for title, options in fieldsets
        ]

    @admin.display(description="fee monthly (today)", ordering="fee_monthly_today")
    def fee_today(self, lease: GroundLease) -> Decimal:
        """The fee in force today, even if a scheduled change fell due since the last save."""
        return lease.fee_monthly_today

    @admin.display(description="status today", ordering="status_on")
    def status_today(self, lease: GroundLease) -> str:
        """The status the report gives it today (`status_on`, as "status today" filters it):
        nothing sets the status field when a term runs out, so a lease past its term with no
        end date still says "active" there."""
        today = lease.status_on
        label = dict(status_on_choices()).get(today, today)
        if today == lease.status:
            return label
        recorded = LeaseStatus(lease.status).label.lower()
        if today == NOT_STARTED:
            return f"{label} (starts {lease.starts_on}; recorded {recorded})"
        if today == LeaseStatus.EXPIRED:
            return f"{label} (term ran out {lease.expires_on_or_none()}; recorded {recorded})"
        return f"{label} until {lease.ended_on} (recorded {recorded})"  # ends later

    @admin.display(description="lessees")
    def lessee_names(self, lease: GroundLease) -> str:
        return ", ".join(party.name for party in lease.lessees.all())

    @admin.display(description="maximum resale price")
    def max_resale_price_today(self, lease: GroundLease) -> SafeString | str:
        """The price panel of the lease as saved. A page sent back with errors shows the form's
        instance, which holds the refused values: a refused end date 2019-01-01 priced the
        lease on that day, and repeated the form's error in the engine's words."""
        if lease.pk is None:
            return "Shown once the lease is saved."
        saved = GroundLease.objects.filter(pk=lease.pk).first()
        if saved is None:  # deleted meanwhile: the stale-edit guard says so
            return "Shown once the lease is saved."
        return price_panel(saved, timezone.localdate())  # the trust's day, not the server's

    def save_related(self, request, form, formsets, change):
        with self.named_action(request, "change" if change else "add"):
            super().save_related(request, form, formsets, change)
            save_formula(form, request, added=not change)
            fee_note = sync_fee(form.instance, signed_now=not change)
            # A new lease takes its home off the public list, as `lease_create` does.
            unlisted = None if change else holding_unlist_for(form.instance)
        if fee_note is not None:
            self.message_user(request, fee_note, messages.WARNING)
        if form.parcels_from_holding:
            self.message_user(request, parcels_taken_message(form.instance), messages.INFO)
        if unlisted is not None:
            self.message_user(request, unlisted_message(unlisted), messages.INFO)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Resale:
            deleted = formset.deleted_forms
            saved = [each for each in formset.forms if each not in deleted]
            closings = pass_closed_resales(saved)
            tell_closings(self, request, closings)
            tell_income_limits(self, request, [each for each in saved if each.has_changed()])


def parcels_taken_message(lease: GroundLease) -> str:
    """What staff are told when a lease added with Parcels left empty took its holding's."""
    apns = ", ".join(parcel.apn for parcel in lease.parcels.order_by("apn"))
    return (
        f"Parcels were left empty, so lease {lease.reference} is on the parcels {lease.holding} "
        f"holds now: {apns} (as a lease signed with `lease_create`). If it is on fewer, "
        "correct its parcels."
    )


def sync_fee(lease: GroundLease, *, signed_now: bool) -> str | None:
    """Keep the lease's current fee and its fee changes in step after an admin edit; returns
    what staff are to be told, if anything.

    A lease added here (`signed_now`) has its fee at signing recorded as a fee change on its
    start date, as `lease_create` records it, beside the later changes staff entered with it:
    written only when no fee change was recorded at all, the fee at signing of a lease added
    with a scheduled raise was lost, and the prices of past dates read the raise. A lease saved
    before with no fee change at all gets one from its stored fee. Then the stored fee is the
    one in force today: a change dated later waits for its date.
    """
    note = None
    if signed_now or not lease.fee_changes.exists():
        note = record_fee_at_signing(lease)
    today = lease.fee_in_force(timezone.localdate())
    if today != lease.fee_monthly:
        lease.fee_monthly = today
        lease.save(update_fields=["fee_monthly"])
    return note


def record_fee_at_signing(lease: GroundLease) -> str | None:
    """Record the lease's fee (`fee_monthly`, as typed on the add form) as its fee at signing,
    a fee change on its start date, unless staff entered a fee change on that date themselves:
    that row is dated, so it is the fee at signing and wins. Returns what staff are told when
    it differs from the fee typed (which is then not recorded); else None."""
    on_start = lease.fee_changes.filter(effective_on=lease.starts_on).order_by("-pk").first()
    if on_start is None:
        LeaseFeeChange.objects.create(
            lease=lease,
            effective_on=lease.starts_on,
            fee_monthly=lease.fee_monthly,
            reason="fee at signing",
        )
        return None
    if on_start.fee_monthly == lease.fee_monthly:
        return None
    return (
        f"The fee change dated {lease.starts_on.isoformat()}, the lease's start, is its fee at "
        f"signing: {dollars(on_start.fee_monthly)} a month, not the {dollars(lease.fee_monthly)} "
        "entered as the monthly fee. If the lease says otherwise, correct that fee change."
    )


AMENDED_FROM = "formula_amended_from"  # the lease form's amendment date (`GroundLeaseForm`)


def save_formula(form: GroundLeaseForm, request, *, added: bool) -> None:
    """Record the formula of a lease saved on its page, by date: a new lease's as signed, from
    its start; a changed one as an amendment from the date the form checked (`formula_amend`),
    noted as entered here, by whom and when."""
    if form.amendment is None:
        if added:
            formula_keep_signed(form.instance)
        return
    formula, on = form.amendment
    note = (
        f"entered on the lease page by {request.user.get_username()} on "
        f"{timezone.localdate().isoformat()}"
    )
    formula_amend(lease=form.instance, formula=formula, effective_on=on, note=note)


def pass_closed_resales(forms) -> list[Closing]:
    """Pass the lease to the buyer of each resale these saved forms newly closed, in order;
    then carry into the lease each correction of the closing its purchase base came from.
    Returns what each closing that passed a lease did."""
    closed = [
        form.instance
        for form in forms
        if form.instance.closed_on is not None and form.initial.get("closed_on") is None
    ]
    closings = []
    for resale in sorted(closed, key=lambda each: each.closed_on):
        closing = lease_pass_to_buyer(resale=resale)
        if closing is not None:
            closings.append(closing)
    for form in forms:
        was_closed_on = form.initial.get("closed_on")
        if was_closed_on is not None and CLOSING_FIELDS & set(form.changed_data):
            lease_follow_corrected_closing(
                resale=form.instance,
                was_closed_on=was_closed_on,
                was_buyer_id=form.initial.get("buyer"),
            )
    return closings


def tell_closings(model_admin: admin.ModelAdmin, request, closings: list[Closing]) -> None:
    """Tell staff what each closing did: the lease passed, the arrears collected, the default
    cured, the seller's events settled, the home no longer listed."""
    for closing in closings:
        model_admin.message_user(request, " ".join(closing.messages()), messages.INFO)


# What a closed resale gives its lease: a change to one of them is a correction to carry over.
CLOSING_FIELDS = {"closed_on", "agreed_price", "buyer"}


def tell_income_limits(model_admin: admin.ModelAdmin, request, forms) -> None:
    """Warn staff of each resale these saved forms recorded whose buyer was above the trust's
    buyer income limit, or whose buyer's income is not recorded, so it was not checked.

    A warning, not a refusal: boards grant exceptions. But the home is the next household's
    because of that limit, so the sale is not recorded (or closed) without a word. Also warned
    of: a typed % of AMI that the buyer's recorded income on the loaded AMI contradicts
    (`income_pct_mismatch`)."""
    for form in forms:
        warnings = [income_limit_warning(form.instance), income_pct_mismatch(form.instance)]
        for warning in filter(None, warnings):
            model_admin.message_user(request, warning, messages.WARNING)


def income_limit_warning(resale: Resale) -> str | None:
    """What staff are told of a resale's buyer and the trust's income limit: above it, with the
    buyer's % of AMI, the limit and HUD's figure for the household; or that the buyer's income
    is not recorded (for a household buyer: the trust buying back has no income to check).
    None for a buyer at or below the limit."""
    limit = buyer_income_limit_pct_ami()
    pct, buyer = resale.buyer_income_pct_ami, resale.buyer
    above = above_income_limit(pct, limit)
    sale = f"The resale of {resale.lease.reference} to {buyer}"
    sale += f", closed on {resale.closed_on.isoformat()}," if resale.closed_on else ""
    if above is None and buyer.kind == PartyKind.HOUSEHOLD:
        return (
            f"{sale} was saved without the buyer's income as % of area median income, so "
            f"whether they are within the trust's buyer income limit ({limit}% of AMI, "
            "CLT_BUYER_INCOME_LIMIT_PCT_AMI) was not checked: enter their certified income "
            "as “Buyer income pct ami” on the resale."
        )
    if not above:
        return None
    done = (
        "It closed all the same: record the board's exception (a limit is not a refusal)."
        if resale.closed_on
        else "It was saved: the board's exception is needed before it closes."
    )
    return (
        f"{sale} is to a buyer above the trust's buyer income limit: their income is "
        f"{pct}% of area median income, above the limit of {limit}% "
        f"(CLT_BUYER_INCOME_LIMIT_PCT_AMI). {hud_limit_words(buyer, limit, resale.contract_on)} "
        f"{done}"
    )


def hud_limit_words(buyer: Party, percent: int, on: dt.date) -> str:
    """HUD's published income limit for the buyer's household at `percent` of median, for the
    year of `on` (or the latest year before it loaded), as a sentence naming its year and
    source (`leases.pricing.hud_income_limit`, the formulas' own lookup); or what is missing
    to name it. From the loaded tables: never a percentage of the median."""
    size = buyer.household_size
    if size is None:
        return (
            f"HUD's {percent}% income limit for the household is not named: {buyer}'s household "
            "size is not recorded (enter it on the party's page)."
        )
    persons = f"{size} person{'s' if size != 1 else ''}"
    try:
        limit = hud_income_limit(percent, size, on)
    except FormulaError as exc:
        return (
            f"HUD's figure for the household is not given ({exc.message}): load HUD's table "
            "with `clt load-index --kind hud_income_limit`."
        )
    return (
        f"HUD's income limit at {percent}% of median for {persons} is {dollars(limit.annual)}, "
        f"from the {limit.source} table."
    )


@admin.register(MonitoringEvent)
class MonitoringEventAdmin(RecordedAdmin):
    list_display = ["lease", "type", "on", "status", "resolved_on"]
    list_filter = ["type", "status"]
    list_select_related = ["lease"]
    search_fields = ["lease__reference", folded_search("lease__lessees__name"), "notes"]
    autocomplete_fields = ["lease"]
    date_hierarchy = "on"


@admin.register(Resale)
class ResaleAdmin(RecordedAdmin):
    form = ResaleForm
    list_display = [
        "lease",
        "seller",
        "buyer",
        "contract_on",
        "closed_on",
        "formula_price",
        "agreed_price",
    ]
    list_select_related = ["lease", "seller", "buyer"]
    search_fields = [
        "lease__reference", folded_search("seller__name"), folded_search("buyer__name")
    ]
    autocomplete_fields = ["lease", "seller", "buyer"]
    date_hierarchy = "contract_on"
    readonly_fields = ["arrears_collected"]  # written by the closing (lease_settle_seller)

    def save_model(self, request, obj, form, change):
        with self.named_action(request, "change" if change else "add"):
            super().save_model(request, obj, form, change)
            closings = pass_closed_resales([form])
        tell_closings(self, request, closings)
        tell_income_limits(self, request, [form] if form.has_changed() else [])


# ---------------------------------------------------------------------------------------------
# Published index tables and source documents


class IndexValueFormSet(BaseInlineFormSet):
    """The series' values as submitted: one per key (year, month, size, percent), a blank
    counted as a value, as the database's constraint counts it (`nulls_distinct=False`).

    Checked here, once for the whole series, because the inline lists every saved value too:
    a new row repeating one of them is found among the forms, without a query per row (the
    forms leave their series out of Django's own unique checks, and the constraint gave a 500).
    """

    def clean(self):
        super().clean()
        saved_first: dict[tuple, bool] = {}  # each key, and whether a saved row holds it
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            unsaved_and_blank = not form.has_changed() and not form.instance.pk
            if not data or data.get("DELETE") or unsaved_and_blank:
                continue
            key = tuple(data.get(name) for name in INDEX_KEY)
            if key in saved_first:
                form.add_error(None, _repeated_index_value(key, saved_first[key]))
            saved_first.setdefault(key, form.instance.pk is not None)
        self.refuse_dropping_what_leases_read(set(saved_first))

    def refuse_dropping_what_leases_read(self, kept: set[tuple]) -> None:
        """Refuse deleting (or re-keying) a saved value a lease reads today, as `clt load-index
        --replace` refuses it (`leases.indexes.leases_reading`): deleted here, the lease pages
        said "No price" and nothing had said why."""
        series = self.instance
        if series.pk is None:
            return
        dropped = set()
        for form in self.forms:
            if form.instance.pk is None:
                continue
            was = tuple(form.initial.get(name) for name in INDEX_KEY)
            if was not in kept:
                dropped.add(was)
        on_record = {value_key(value): value for value in series.values.all()}
        problems = leases_reading(series, dropped, on_record)
        if problems:
            raise forms.ValidationError(
                "These values cannot be deleted or moved to another year: leases in force read "
                f"them today ({'; '.join(problems)}). Correct a value's number instead, or load "
                "the series again with clt load-index.",
                code="read_by_leases",
            )

    def mark_entered_in_admin(self, *, username: str, on: dt.date) -> None:
        """Give each value typed or changed on this page (its number or its year, month, size
        or percent) its provenance: "entered in the admin by edna on 2026-11-24".

        Its file's source and name no longer say where the number came from (the history keeps
        them). A value left as it was keeps its own; a source staff typed themselves is theirs.
        """
        entered = f"entered in the admin by {username} on {on.isoformat()}"
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not ENTERED.intersection(form.changed_data):
                continue
            if "source" not in form.changed_data or not data.get("source", "").strip():
                form.instance.source = entered
            if "loaded_from" not in form.changed_data:
                form.instance.loaded_from = ""


def _repeated_index_value(key: tuple, saved: bool) -> str:
    if not saved:
        return "This value is listed twice in the series."
    year, month = key[0], key[1]
    when = f"{year}" + (f"-{month:02d}" if month else "")
    return f"The series already has a value for {when} (same size and percent of median)."


INDEX_KEY = ("year", "month", "household_size", "percent_of_median")
ENTERED = frozenset({"value", *INDEX_KEY})  # a change to any of these is a value typed here


class IndexValueInline(admin.TabularInline):
    model = IndexValue
    formset = IndexValueFormSet
    extra = 0

    def get_queryset(self, request):
        # Each row is titled by its value's name, which names the series: one query, not one
        # per row (a CPI series has twelve values a year).
        return super().get_queryset(request).select_related("series")


@admin.register(IndexSeries)
class IndexSeriesAdmin(RecordedAdmin):
    list_display = ["name", "kind", "area", "source", "loaded_at"]
    list_filter = ["kind"]
    search_fields = ["name", "area", "source"]
    inlines = [IndexValueInline]

    def get_deleted_objects(self, objs, request):
        """Keep a series leases read today from deletion, as its values are kept
        (`IndexValueFormSet.refuse_dropping_what_leases_read`): deleting the whole series
        took every value with it, and the lease pages said "No price". The admin lists each
        lease as what protects it, for the delete page and the list's delete action alike."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        for series in objs:
            on_record = {value_key(value): value for value in series.values.all()}
            problems = leases_reading(series, set(on_record), on_record)
            protected += [f"{problem}, from index series {series}" for problem in problems]
        return deleted, counts, perms_needed, protected

    def save_formset(self, request, form, formset, change):
        if isinstance(formset, IndexValueFormSet):
            formset.mark_entered_in_admin(
                username=request.user.get_username(), on=timezone.localdate()
            )
        super().save_formset(request, form, formset, change)


class SourceDocumentForm(forms.ModelForm):
    class Meta:
        model = SourceDocument
        fields = ["kind", "reference", "recorded_on", "holding", "lease", "easement"]

    def clean(self):
        """On its own page a source names its record (under a record's page, that record)."""
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("holding", "lease", "easement")):
            raise forms.ValidationError(
                "A source stands behind one record: choose its holding, its lease or its "
                "easement.", code="one_record",
            )  # fmt: skip
        return cleaned


@admin.register(SourceDocument)
class SourceDocumentAdmin(RecordedAdmin):
    form = SourceDocumentForm
    list_display = ["__str__", "kind", "recorded_on", "holding", "lease", "easement"]
    list_filter = ["kind"]
    list_select_related = ["holding", "lease", "easement"]
    search_fields = ["reference", folded_search("holding__name"), "lease__reference",
                     folded_search("easement__name")]  # fmt: skip
    autocomplete_fields = ["holding", "lease", "easement"]
