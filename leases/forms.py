"""Staff forms for the records that hang on a lease, with the rules a single field cannot hold.

A resale's formula price is the lease's formula on the contract date (`leases.pricing`), not a
figure staff type: left blank it is filled in; above the formula's price it is refused. Only a
sale the formula cannot price from the registry takes a price entered by hand: a historical sale
before the current purchase, or a formula reading what the registry does not keep (the seller's
mortgage and closing costs, `NOT_ON_RECORD`). A missing appraisal is asked for on the form, a
missing index value is loaded: a typed cap was accepted unchecked, and a home closed at $150,000
against a formula price of $59,030. The closing prices the sale again, from the records as they
stand then (an appraisal or a repair entered since the contract).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone

from leases.actions import (
    buy_back_correction_errors,
    closing_date_error,
    closing_ended_lease,
    closing_errors,
    closing_made_base,
    closing_passed_to_error,
    closing_seller_error,
    contract_date_error,
)
from leases.models import CapitalImprovement, GroundLease, Party, PartyKind, Resale
from leases.pricing import NOT_ON_RECORD, not_on_record_needed, priced_sale
from leases.resale import FormulaError
from leases.resale.money import CENT, format_money

MAX_PCT_AMI = Decimal(1000)
# The first price the formula_price field cannot hold (its whole digits, from the model).
_PRICE_FIELD = Resale._meta.get_field("formula_price")
RECORDABLE_PRICE = Decimal(10) ** (_PRICE_FIELD.max_digits - _PRICE_FIELD.decimal_places)
# Where staff record what a formula lacks, by the input it names (`ResaleForm.cannot_price`).
RECORD_FIRST = {
    "appraisal_at_purchase": "add the appraisal at purchase under Appraisals on the lease page",
    "indexes": "load the index value with clt load-index",
    "target_income_annual": "load HUD's income limits with clt load-index",
    "": "correct that on the lease page",
}
# What the formula price depends on: a form that changes none of them keeps its stored price.
PRICED_FROM = {"lease", "contract_on", "appraised_value", "formula_price"}


class ResaleForm(forms.ModelForm):
    """A resale as staff record it, in its own page or inline on the lease."""

    class Meta:
        model = Resale
        fields = [
            "lease",
            "seller",
            "buyer",
            "contract_on",
            "closed_on",
            "formula_price",
            "agreed_price",
            "appraised_value",
            "buyer_income_pct_ami",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        price = self.fields.get("formula_price")
        if price is None:  # a read-only page
            return
        price.required = False
        price.help_text = (
            "Left blank, the lease's formula price on the contract date is filled in; "
            "a price above it is refused"
        )
        appraised = self.fields.get("appraised_value")
        if appraised is not None:
            appraised.help_text = (
                "Market value at resale. Left blank, the appraisal on record the formula "
                "priced the sale from is filled in"
            )

    def clean(self) -> dict:
        data = super().clean()
        seller, buyer = data.get("seller"), data.get("buyer")
        if seller is not None and seller == buyer:
            self.add_error("buyer", "The buyer must be another party than the seller.")
        contract_on, closed_on = data.get("contract_on"), data.get("closed_on")
        if contract_on and contract_on > timezone.localdate():  # the formula prices that day
            self.add_error(
                "contract_on", f"{contract_on.isoformat()} is after today: record the sale "
                "once its contract is signed (the formula prices it on the contract date).",
            )  # fmt: skip
        if closed_on and closed_on > timezone.localdate():  # closing passes the lease at once
            self.add_error(
                "closed_on", f"{closed_on.isoformat()} is after today: record the closing "
                "once it has happened (the lease then passes to the buyer).",
            )  # fmt: skip
        if contract_on and closed_on and closed_on < contract_on:
            self.add_error(
                "closed_on", f"{closed_on.isoformat()} is before the contract date "
                f"{contract_on.isoformat()}.",
            )  # fmt: skip
        pct = data.get("buyer_income_pct_ami")
        if pct is not None and not Decimal(0) <= pct <= MAX_PCT_AMI:
            self.add_error("buyer_income_pct_ami", "Give a percentage from 0 to 1000.")
        self.check_agreed_within_formula_price()
        self.check_closed_cap_not_raised()
        lease = data.get("lease")
        if isinstance(lease, GroundLease) and lease.pk is not None:
            self.check_closing(lease, seller, closed_on, buyer)
            self.check_seller_on_contract(lease, seller, contract_on, closed_on)
            self.check_place_in_chain(lease, seller, buyer, closed_on)
        if isinstance(lease, GroundLease) and contract_on and self.prices_anew():
            self.check_formula_price(lease, contract_on, self.appraisal_to_price_on())
        return data

    def check_agreed_within_formula_price(self) -> None:
        """An agreed price above the formula price given, at its field with the cap (a closed
        sale's correction met only the database's constraint, a page-level message)."""
        entered = self.cleaned_data.get("formula_price")
        agreed = self.cleaned_data.get("agreed_price")
        if entered is not None and agreed is not None and agreed > entered:
            self.add_error(
                "agreed_price", f"Above the formula price given: {format_money(entered)}."
            )

    def check_closed_cap_not_raised(self) -> None:
        """A closed sale's formula price was its cap when it closed, checked then: a
        correction may lower it, never raise it. The closing that passed the lease cannot be
        priced again (the lease's purchase is that sale's own), and raising its price moved the
        lease's base: a $72,625 cap edited to $150,000 took the home's price from $73,250 to
        $133,000."""
        was, now = self.initial.get("formula_price"), self.cleaned_data.get("formula_price")
        if self.instance.pk is None or self.initial.get("closed_on") is None:
            return
        if was is not None and now is not None and Decimal(now) > Decimal(was):
            self.add_error("formula_price", (
                f"This sale closed with a formula price of {format_money(Decimal(was))}, its "
                "cap when it closed: a correction may lower it, not raise it."
            ))  # fmt: skip

    def appraisal_to_price_on(self) -> Decimal | None:
        """The appraised value to price the sale on: the one typed in this form, else the
        records' (None). A value kept from an earlier save (filled in from the records then)
        gives way to the records as they stand at the closing, and is used only when they
        hold none (`check_formula_price` falls back to it)."""
        if self.instance.pk is None or "appraised_value" in self.changed_data:
            return self.cleaned_data.get("appraised_value")
        return None

    def check_seller_on_contract(
        self,
        lease: GroundLease,
        seller: Party | None,
        contract_on: dt.date | None,
        closed_on: dt.date | None,
    ) -> None:
        """Refuse a sale contracted by someone who does not hold the lease: only the closing
        asked (`check_closing`), so a contract with the wrong seller was priced and kept. A
        sale before the lease's purchase is history (the seller held it then), and a closing
        is checked at its own date."""
        if not contract_on or (closed_on and closed_on < lease.purchase_date):
            return  # history: the seller held the lease then
        if self.instance.pk is not None and self.initial.get("closed_on") is not None:
            return  # a closed sale: its corrections are checked as a closing (`check_closing`)
        early = contract_date_error(lease, contract_on)
        if early and "contract_on" not in self.errors:
            self.add_error("contract_on", (
                f"{early}. Correct the date; a sale that closed before that purchase is "
                "recorded with its closing date (history)."
            ))  # fmt: skip
        if closed_on or seller is None or "seller" in self.errors:
            return
        if self.instance.pk is not None and not {"seller", "lease"} & set(self.changed_data):
            return
        error = closing_seller_error(lease, seller)
        if error:
            self.add_error("seller", error)

    def check_place_in_chain(
        self,
        lease: GroundLease,
        seller: Party | None,
        buyer: Party | None,
        closed_on: dt.date | None,
    ) -> None:
        """A sale recorded as history (closed before the lease's purchase: it passes nothing),
        or a closed sale corrected, fits its home's chain of owners: closed while the lease
        was in force, its seller bought from the sale before it, and its buyer sold in the
        sale after it. Without this, a household that had sold was recorded selling the home
        again (or a sale re-dated past the next), and the report counted the phantom sale; the
        import checks the same chain (`leases.registry_import._check_sale`)."""
        if closed_on is None or seller is None:
            return
        corrected = self.initial.get("closed_on") is not None
        if corrected and not {"seller", "buyer", "closed_on", "lease"} & set(self.changed_data):
            return
        if not corrected and closed_on >= lease.purchase_date:
            return  # a new closing passes the lease: its seller is checked as its lessee
        if closed_on < lease.starts_on and "closed_on" not in self.errors:
            self.add_error("closed_on", closing_date_error(lease, closed_on))
            return
        closed = lease.resales.exclude(pk=self.instance.pk).filter(closed_on__isnull=False)
        closed = closed.select_related("seller", "buyer")
        before = closed.filter(closed_on__lte=closed_on).order_by("-closed_on", "-pk").first()
        after = closed.filter(closed_on__gt=closed_on).order_by("closed_on", "pk").first()
        if before is not None and before.buyer_id != seller.pk and "seller" not in self.errors:
            self.add_error("seller", (
                f"The sale before this one, closed on {before.closed_on.isoformat()}, was to "
                f"{before.buyer}: the home's next seller is {before.buyer}. Choose them as the "
                "seller, or check this sale's closing date."
            ))  # fmt: skip
        sold_on = after is not None and buyer is not None and after.seller_id != buyer.pk
        if sold_on and "buyer" not in self.errors:
            self.add_error("buyer", (
                f"The next sale, closed on {after.closed_on.isoformat()}, was by "
                f"{after.seller}: this sale's buyer is who sold then. Choose "
                f"{after.seller} as the buyer, or check this sale's closing date."
            ))  # fmt: skip

    def check_closing(
        self,
        lease: GroundLease,
        seller: Party | None,
        closed_on: dt.date | None,
        buyer: Party | None = None,
    ) -> None:
        """Refuse a closing that cannot pass the lease to the buyer: a seller who is not its
        lessee, a lease not in force on the day (`closing_errors`).

        A new closing dated before the lease's purchase is history and passes nothing. A
        correction of the closing the lease's base came from is checked by its date only (the
        buyer holds the lease by then), cannot clear the date (the lease has passed) and cannot
        make the trust its buyer (a buy-back ends the lease). A correction of the trust's
        buy-back that ended the lease keeps it ended (`buy_back_correction_errors`).
        """
        was = self.initial.get("closed_on")
        if was is None:
            if closed_on is None or closed_on < lease.purchase_date:
                return
            if seller is None:  # already an error on the seller field
                errors = {"closed_on": closing_date_error(lease, closed_on)}
            else:
                errors = closing_errors(lease=lease, seller=seller, closed_on=closed_on)
        elif self.corrects_buy_back(lease):
            errors = buy_back_correction_errors(
                lease, was_closed_on=was, closed_on=closed_on, buyer=buyer
            )
        elif not self.corrects_base(lease):
            return
        elif buyer is not None and buyer.kind == PartyKind.TRUST:
            errors = {"buyer": closing_passed_to_error(lease, was, buyer)}
        elif closed_on is None:
            errors = {"closed_on": (
                f"This closing on {was.isoformat()} passed lease {lease.reference} to the "
                "buyer; clearing its date would not give the lease back. Correct the date, "
                "or record the sale back as a resale of its own."
            )}  # fmt: skip
        elif closed_on == was:
            return
        else:
            errors = {"closed_on": closing_date_error(lease, closed_on)}
        for field, message in errors.items():
            if message and field not in self.errors:
                self.add_error(field, message)

    def corrects_base(self, lease: GroundLease) -> bool:
        """Whether this form edits the closing that the lease's purchase base came from."""
        stored = self.instance
        return (
            stored.pk is not None
            and stored.lease_id == lease.pk
            and closing_made_base(lease, self.initial.get("closed_on"), self.initial.get("buyer"))
        )

    def corrects_buy_back(self, lease: GroundLease) -> bool:
        """Whether this form edits the trust's buy-back that ended the lease."""
        stored = self.instance
        return (
            stored.pk is not None
            and stored.lease_id == lease.pk
            and closing_ended_lease(lease, self.initial.get("closed_on"), self.initial.get("buyer"))
        )

    def prices_anew(self) -> bool:
        """Whether the formula price is set or depends on a change in this form, or the form
        closes the sale: the closing prices it again, from the records as they stand (an
        appraisal saved with the sale, or a repair entered since, was not counted)."""
        if self.instance.pk is None or PRICED_FROM & set(self.changed_data):
            return True
        return self.initial.get("closed_on") is None and bool(self.cleaned_data.get("closed_on"))

    def check_formula_price(
        self, lease: GroundLease, on: dt.date, appraisal: Decimal | None
    ) -> None:
        """Fill in a blank formula price from the lease's formula; refuse one above it, and an
        agreed price above either, each at its field with the price it is above."""
        entered = self.cleaned_data.get("formula_price")
        agreed = self.cleaned_data.get("agreed_price")
        kept = self.initial.get("appraised_value") if appraisal is None else None
        try:
            if lease.pk is None:
                raise FormulaError("lease", "the lease is not saved yet")
            try:
                result, inputs = priced_sale(lease, on=on, appraisal=appraisal)
            except FormulaError as exc:
                if exc.field != "appraisal_at_resale" or kept is None:
                    raise
                appraisal = Decimal(kept)  # the records hold none: the value saved before
                result, inputs = priced_sale(lease, on=on, appraisal=appraisal)
        except FormulaError as exc:
            self.cannot_price(lease, on, appraisal, entered, exc)
            return
        if inputs.appraisal_at_resale is not None:
            self.cleaned_data["appraised_value"] = inputs.appraisal_at_resale
        if entered is None and result.price >= RECORDABLE_PRICE:
            self.add_error(
                "formula_price",
                f"The formula's price on {on.isoformat()}, {format_money(result.price)}, is "
                "too large to record (the registry holds prices up to "
                f"{format_money(RECORDABLE_PRICE - CENT)}). So large a figure comes from a "
                "wrong input: check the formula's rates and index values, and the purchase "
                f"price and date on lease {lease.reference}.",
            )
        elif entered is None:
            self.cleaned_data["formula_price"] = result.price
            if agreed is not None and agreed > result.price:
                self.add_error(
                    "agreed_price",
                    f"Above the formula's price on {on.isoformat()}: "
                    f"{format_money(result.price)}.",
                )
        elif entered > result.price:
            see = f"clt resale-price --lease {lease.reference} --sale-date {on.isoformat()}"
            if appraisal is not None:
                see += f" --appraisal {appraisal}"
            self.add_error(
                "formula_price",
                f"Above the formula's price on {on.isoformat()}: {format_money(result.price)}. "
                f"See its lines on the lease page, or with `{see}`.",
            )

    def cannot_price(
        self,
        lease: GroundLease,
        on: dt.date,
        appraisal: Decimal | None,
        entered: Decimal | None,
        exc: FormulaError,
    ) -> None:
        """Say, at the field that fixes it, why the formula cannot price the sale. A price
        typed by hand is taken only where the registry cannot give the formula what it reads:
        a sale before the lease's purchase (history), or the seller's mortgage and closing
        costs (`NOT_ON_RECORD`, priced with `clt resale-price --input`)."""
        if exc.field == "appraisal_at_resale":
            if "appraised_value" in self.errors:
                return
            if appraisal is not None:  # the value typed here is what is wrong (negative)
                fix = f"from this appraised value ({exc.message}): correct the appraisal."
            else:
                fix = (f"without the appraised value at resale ({exc.message}): give it here "
                       "(or add the appraisal on the lease page, and save it before the "
                       "resale), and the formula price is filled in from it.")  # fmt: skip
            self.add_error(
                "appraised_value",
                f"The lease's formula cannot price the sale on {on.isoformat()} {fix}",
            )
            return
        by_hand = exc.field == "sale_date" or exc.field in NOT_ON_RECORD
        if "formula_price" in self.errors or (by_hand and entered is not None):
            return
        if exc.field in NOT_ON_RECORD:
            needed = not_on_record_needed(lease, on=on) or (exc.field,)
            inputs = " ".join(f"--input {name}=AMOUNT" for name in needed)
            fix = (
                f"the registry does not keep it: price the sale with `clt resale-price --lease "
                f"{lease.reference} --sale-date {on.isoformat()} {inputs}` and enter that "
                "formula price by hand."
            )
        elif by_hand:
            fix = "enter the formula price by hand."
        else:
            fix = f"{RECORD_FIRST.get(exc.field.split('.')[0], RECORD_FIRST[''])}, then save " \
                "again: a price typed by hand could not be checked against the formula."
        self.add_error(
            "formula_price",
            f"The lease's formula cannot price a sale on {on.isoformat()} ({exc}); {fix}",
        )


IMPROVEMENT_CREDIT_LABEL = "Value added (appraised)"
IMPROVEMENT_CREDIT_HELP = (
    "Credited instead of the cost when the lease's formula credits improvements at value added"
)


class CapitalImprovementForm(forms.ModelForm):
    """A capital improvement, its `credit` named for what the formulas use it as: the value
    added, credited only by a formula that credits improvements at value added."""

    class Meta:
        model = CapitalImprovement
        fields = ["lease", "description", "approved_on", "completed_on", "cost", "credit"]
        labels = {"credit": IMPROVEMENT_CREDIT_LABEL}
        help_texts = {"credit": IMPROVEMENT_CREDIT_HELP}
