"""What a parcel import does to the vacancy of a jurisdiction's parcels, and what to warn of.

Vacancy is read from the county's land-use codes through the mapping's `vacant_codes`, so one
typo in a code ("VAC_RES" for "VAC-RES") quietly classes every vacant lot occupied, and the
finder, which offers vacant lots only, loses them all. So an import says how many of the
jurisdiction's parcels are vacant, occupied and unknown before and after it, and warns of a
code the user gave that matches no row, and of many vacant parcels turning not vacant.

The counts are the registry's (the jurisdiction's active parcels), not the rows sent: a usual
re-import sends only the few changed rows, whose counts say nothing of the whole; the registry's
after the import covers every row of the file, unchanged ones by the values they already have.
They are counted inside the import's transaction, before the write, so a dry run has them too.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

STATUSES = ("vacant", "occupied", "unknown")

# A warning when more than this share of the vacant parcels, and at least MIN of them, would no
# longer be vacant: a county re-classes a few lots a year, not a fifth of them.
NO_LONGER_VACANT_SHARE = 0.2
NO_LONGER_VACANT_MIN = 10

# Each group of the jurisdiction's parcels by land-use code, vacancy before the import (NULL:
# not active before) and after it (NULL: retired by it). Rows sent (`parcel_ready`) replace
# their parcel; the others keep theirs. One scan of the jurisdiction's parcels, one hash join.
VACANCY_SQL = """
SELECT coalesce(s.land_use, a.land_use, '') AS land_use,
       a.vacancy_status AS before,
       CASE WHEN gone.apn IS NULL THEN coalesce(s.vacancy_status, a.vacancy_status) END AS after,
       count(*)
FROM (SELECT id, apn, land_use, vacancy_status FROM parcels_parcel
      WHERE jurisdiction = %(jurisdiction)s AND retired_at IS NULL) a
FULL JOIN (SELECT parcel_id, land_use, vacancy_status FROM parcel_ready WHERE reject IS NULL) s
       ON s.parcel_id = a.id
LEFT JOIN unnest(%(retiring)s::text[]) AS gone(apn) ON gone.apn = a.apn
GROUP BY 1, 2, 3
"""


@dataclass(frozen=True)
class VacancyTally:
    """The vacancy of a jurisdiction's active parcels before and after an import."""

    before: Mapping[str, int]  # vacancy status -> parcels
    after: Mapping[str, int]
    land_uses: Mapping[str, int]  # land-use code (as written) -> parcels after the import
    no_longer_vacant: Mapping[str, int]  # status after -> parcels that were vacant before

    def summary(self, jurisdiction: str, *, dry_run: bool) -> str:
        """One line: the counts after the import, and before it if they differ."""
        when = "if this file is imported" if dry_run else "after this import"
        if _counts_text(self.before) == _counts_text(self.after):
            change = " (unchanged)"
        else:
            change = f" ({'now' if dry_run else 'before'}: {_counts_text(self.before)})"
        return f"clt: {jurisdiction} parcels {when}: {_counts_text(self.after)}{change}"


def tally_vacancy(cursor, jurisdiction: str, retiring: list[str]) -> VacancyTally:
    """The tally of `jurisdiction`, from the rows the import is about to write (`parcel_ready`)
    and the parcels it retires (`retiring`, APNs)."""
    cursor.execute(VACANCY_SQL, {"jurisdiction": jurisdiction, "retiring": retiring})
    before, after, land_uses, no_longer = Counter(), Counter(), Counter(), Counter()
    for land_use, was, now, count in cursor.fetchall():
        if was is not None:
            before[was] += count
        if now is not None:
            after[now] += count
            if land_use:
                land_uses[land_use] += count
            if was == "vacant" and now != "vacant":
                no_longer[now] += count
    return VacancyTally(dict(before), dict(after), dict(land_uses), dict(no_longer))


def vacancy_warnings(
    tally: VacancyTally | None,
    *,
    codes: tuple[str, ...],
    codes_given: bool,
    land_use_column: str | None,
    dry_run: bool,
) -> list[str]:
    """The warnings the tally calls for, each a line starting "warning: ": codes the user gave
    that match no row (with the file's codes that look close), then a mass loss of vacancy.
    None: not counted, as an import that changes no parcel changes no vacancy."""
    if tally is None:
        return []
    warnings = _unmatched_code_warnings(tally, codes, land_use_column) if codes_given else []
    lost = sum(tally.no_longer_vacant.values())
    vacant_before = tally.before.get("vacant", 0)
    if lost >= NO_LONGER_VACANT_MIN and lost > NO_LONGER_VACANT_SHARE * vacant_before:
        which = ", ".join(f"{n:,} {status}" for status, n in sorted(tally.no_longer_vacant.items()))
        verb = "would make" if dry_run else "made"
        warnings.append(
            f"warning: this import {verb} {lost:,} of the {vacant_before:,} vacant parcels "
            f"({lost / vacant_before:.0%}) no longer vacant ({which}), and the finder no longer "
            f"offers them; unless the county re-classed them, check the vacant codes "
            f"({', '.join(codes) or 'none'}) against the file's land-use codes "
            f"({_codes_text(_commonest(tally.land_uses)) or 'none'})"
        )
    return warnings


def _unmatched_code_warnings(
    tally: VacancyTally, codes: tuple[str, ...], land_use_column: str | None
) -> list[str]:
    """A warning for each vacant code that no parcel's land-use code matches (as the import
    matches them: trimmed, in any case)."""
    if not codes:
        return []  # an empty list given: no code is vacant, on purpose
    if land_use_column is None:
        return [
            f"warning: the vacant codes ({', '.join(codes)}) are not used: no land-use column "
            "is mapped; name it with --field land_use=COLUMN (or under [fields] in the mapping)"
        ]
    by_upper: dict[str, tuple[str, int]] = {}
    for code, count in tally.land_uses.items():
        written, total = by_upper.get(code.upper(), (code, 0))
        by_upper[code.upper()] = (written, total + count)
    vacant = {code.upper() for code in codes}
    warnings = []
    for code in codes:
        if code.upper() in by_upper:
            continue
        others = [c for c in by_upper if c not in vacant]
        close = difflib.get_close_matches(code.upper(), others, n=3, cutoff=0.7)
        if close:
            found = f"the file's land-use codes include {_codes_text(by_upper[c] for c in close)}"
        elif by_upper:
            commonest = _codes_text(_commonest(dict(by_upper.values())))
            found = f"none is close; the file's commonest land-use codes are {commonest}"
        else:
            found = f"the land-use column '{land_use_column}' is blank in every row"
        warnings.append(f"warning: vacant code '{code}' matches no row; {found}")
    return warnings


def _commonest(land_uses: Mapping[str, int], n: int = 5) -> list[tuple[str, int]]:
    return sorted(land_uses.items(), key=lambda item: (-item[1], item[0]))[:n]


def _codes_text(codes) -> str:
    """Codes with their counts, as the warnings write them: 'VAC-RES' (3 rows), 'RES' (1 row)."""
    return ", ".join(f"'{code}' ({n:,} row{'' if n == 1 else 's'})" for code, n in codes)


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts.get(status, 0):,} {status}" for status in STATUSES)
