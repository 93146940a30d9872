"""FEMA's flood maps: which polygons of a county's National Flood Hazard Layer are the special
flood hazard area, the floodplain `clt import-layer --kind flood-zone` keeps.

Pure functions of the file's table (pandas), no database: `parcels.overlays` reads the file,
asks `special_flood_hazard_area`, and stages the rows kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from parcels.importing import ImportRefused, count_text, rows_text

# FEMA's National Flood Hazard Layer (its S_FLD_HAZ_AR polygons), the flood map a county
# publishes, covers the whole county: the special flood hazard area, the floodplain with a 1%
# chance of flooding each year where flood insurance is required (zones A, AE, AH, AO, AR,
# A99, V, VE; A1-A30 and V1-V30 on older maps), and zone X (a 0.2% chance, or minimal hazard)
# and D (not studied) everywhere else. Imported whole, every lot in the county was "in a flood
# zone", so the finder's outside-flood filter found none. A flood-zone file with FEMA's
# columns keeps the special flood hazard area unless told otherwise (--all-zones).
SFHA_FLAG, FLOOD_ZONE_CODE = "sfha_tf", "fld_zone"
SFHA_ZONES = re.compile(r"A|AE|AH|AO|AR|A99|A\d{1,2}|V|VE|V\d{1,2}")
SFHA_TRUE = frozenset({"T", "TRUE", "Y", "YES", "1"})
def special_flood_hazard_area(path: Path, frame) -> tuple[np.ndarray, str]:
    """Which rows of a flood map lie in FEMA's special flood hazard area (all of them for a
    file without FEMA's columns), and what was left out, tallied by zone. A row says so by its
    SFHA_TF flag or, where that is blank, by its FLD_ZONE (an A or V zone): a blank flag on an
    AE polygon is not "outside". A row saying neither is left out, and why is said. Refused
    when that leaves nothing: a file of zone X only is not a map of flood zones to keep lots
    out of."""
    columns = {column.lower(): column for column in frame.columns}
    if SFHA_FLAG not in columns and FLOOD_ZONE_CODE not in columns:
        return np.ones(len(frame), dtype=bool), ""
    flags, zones = _given(frame, columns, SFHA_FLAG), _given(frame, columns, FLOOD_ZONE_CODE)
    by_flag = flags.notna().to_numpy(dtype=bool)
    by_zone = ~by_flag & zones.notna().to_numpy(dtype=bool)
    kept = (by_flag & flags.isin(SFHA_TRUE).to_numpy(dtype=bool)) | (
        by_zone & zones.str.fullmatch(SFHA_ZONES).fillna(False).to_numpy(dtype=bool)
    )
    rule = _sfha_rule(columns, by_zone)
    outside, unsaid = (by_flag | by_zone) & ~kept, ~(by_flag | by_zone)
    unsaid_text = _unsaid(columns, unsaid) if unsaid.any() else ""
    if not kept.any():
        raise ImportRefused(
            f"{path.name}: no polygon lies in FEMA's special flood hazard area ({rule}; the "
            f"file holds {_zone_tally(frame, columns, ~kept)}), so no lot would be kept out as "
            f"flooded.{f' Of them, {unsaid_text}.' if unsaid_text else ''} To import every "
            "zone as a flood zone, add --all-zones. Nothing was imported"
        )
    if kept.all():
        return kept, ""
    said = [f"{_zone_tally(frame, columns, outside)}: outside FEMA's special flood hazard area "
            f"({rule})"] if outside.any() else []  # fmt: skip
    said += [unsaid_text] if unsaid_text else []
    return kept, f"left out {'; and '.join(said)}; to import every zone, add --all-zones"


def _given(frame, columns: dict[str, str], column: str) -> pd.Series:
    """The `column` (SFHA_TF, FLD_ZONE) of each row as text, trimmed and in upper case; NA
    where blank (null, empty or spaces) and in every row of a file without it. An integer
    flag with a blank in its column is read as a float (1.0), and is "1" here."""
    if column not in columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = frame[columns[column]]
    text = values.astype("string").str.strip().str.upper()
    if values.dtype.kind == "f":
        text = text.str.replace(r"\.0+$", "", regex=True)
    return text.mask(text == "")


def _sfha_rule(columns: dict[str, str], by_zone: np.ndarray) -> str:
    """'SFHA_TF = T', 'FLD_ZONE A or V zones', or both when a row's zone stood in for its
    blank flag."""
    flag = f"{columns[SFHA_FLAG]} = T" if SFHA_FLAG in columns else ""
    zone = f"{columns[FLOOD_ZONE_CODE]} A or V zones" if FLOOD_ZONE_CODE in columns else ""
    if flag and zone and by_zone.any():
        return f"{flag}; where it is blank, {zone}"
    return flag or zone


def _unsaid(columns: dict[str, str], rows: np.ndarray) -> str:
    """The rows saying neither SFHA_TF nor FLD_ZONE, which no rule can keep: '1 polygon (row
    4) whose SFHA_TF is blank, in a file without FLD_ZONE: nothing says it lies in the special
    flood hazard area'."""
    count, where = int(rows.sum()), rows_text(np.flatnonzero(rows) + 1)
    blank = " and ".join(columns[c] for c in (SFHA_FLAG, FLOOD_ZONE_CODE) if c in columns)
    are = "are" if " and " in blank else "is"
    lacking = next((f", in a file without {c.upper()}" for c in (SFHA_FLAG, FLOOD_ZONE_CODE)
                    if c not in columns), "")  # fmt: skip
    return (
        f"{count_text(count, 'polygon')} ({where}) whose {blank} {are} "
        f"blank{lacking}: nothing says {'it lies' if count == 1 else 'they lie'} in the "
        "special flood hazard area"
    )


def _zone_tally(frame, columns: dict[str, str], rows: np.ndarray) -> str:
    """'zone X ×1,204, zone D ×3' of `rows` by their FLD_ZONE (else a count of polygons)."""
    count = int(rows.sum())
    if FLOOD_ZONE_CODE not in columns:
        return count_text(count, "polygon")
    zones = frame[columns[FLOOD_ZONE_CODE]][rows].astype("string").str.strip()
    zones = zones.mask(zones == "").fillna("(none)")
    counts = sorted(zones.value_counts().items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"zone {zone} ×{n:,}" for zone, n in counts)
