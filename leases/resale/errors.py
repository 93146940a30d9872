"""The one error the resale engine raises for anything a user or a stored formula got wrong,
and its kinds a page answers with a fix of their own (an input to give, an index to load)."""

from __future__ import annotations


class FormulaError(ValueError):
    """A formula or its inputs are invalid; `field` names where (a dotted path in the JSON form)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def within(self, prefix: str) -> FormulaError:
        """The same error, of its own kind, with its field placed under `prefix` ("steps[1]")."""
        if not prefix:
            return self
        field = f"{prefix}{self.field}" if self.field.startswith("[") else f"{prefix}.{self.field}"
        moved = type(self).__new__(type(self))  # its kind and what it carries (`MissingInput`)
        moved.__dict__.update(self.__dict__)
        moved.field = field
        moved.args = (f"{field}: {self.message}",)
        return moved


class MissingIndexValue(FormulaError):
    """An index series has no value for the period the formula reads: every January until HUD
    publishes the year's median income, for a lease priced on it. `series` names it, so a page
    can say which to load; `reads_latest`, whether the formula already takes the latest value
    on record (then none is on record by the date, and only loading one helps)."""

    def __init__(self, series: str, message: str, *, reads_latest: bool) -> None:
        self.series = series
        self.reads_latest = reads_latest
        super().__init__(f"indexes.{series}", message)


class MissingInput(FormulaError):
    """A sale input the formula needs was not given: `field` names the input, `needed_by` the
    formula ("itemized formula"), so a page can say in words what to enter and where;
    `because`, when the inputs say, why it was not given (the only appraisal on record is too
    old to value the home at the sale), so a page does not say "none on record" over one."""

    def __init__(self, field: str, needed_by: str, because: str | None = None) -> None:
        self.needed_by = needed_by
        self.because = because
        why = f": {because}" if because else ""
        super().__init__(field, f"is needed by the {needed_by} but was not given{why}")
