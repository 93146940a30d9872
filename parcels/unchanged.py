"""Which rows of a county file the registry already holds exactly so, found before they are sent.

Counties republish their parcel file every month or so, and most parcels in it have not
changed. Each parcel keeps the hash of the source row it was last imported from
(`Parcel.import_hash`); the import hashes every row of the new file as it reads it and looks the
hash up among the registry's, so an unchanged row costs a hash and a set lookup in the importing
process and never crosses the wire with its outline.

The hash is the one earlier imports computed inside PostgreSQL, kept byte for byte so the hashes
already stored stay valid: md5 of the row's text form, ``ROW(fingerprint, apn, address, ...)::text``
(PostgreSQL's record_out), followed by the source WKB. `record_texts` builds that text form for a
whole Arrow batch at once; only the md5 itself runs per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# record_out puts a field in double quotes when it is empty or holds one of these bytes (the
# ASCII white space of isspace(), the quote, the backslash, the parentheses and the comma), and
# doubles every quote and backslash inside. A NULL field is written as nothing at all.
_QUOTE_TRIGGERS = np.zeros(256, dtype=bool)
_QUOTE_TRIGGERS[list(b' \t\n\v\f\r"\\(),')] = True


def record_texts(fields: Sequence[pa.Array], fingerprint: str) -> pa.Array:
    """Each row as PostgreSQL writes ``ROW(fingerprint, *fields)::text`` (fields are strings)."""
    head = _record_field(pa.array([fingerprint], pa.string()))[0].as_py()
    joined = pc.binary_join_element_wise(*(_record_field(f) for f in fields), ",")
    return pc.binary_join_element_wise(f"({head},", joined, ")", "")


def _record_field(array: pa.Array) -> pa.Array:
    quote = _needs_quotes(array)
    if not quote.any():
        return array
    escaped = pc.replace_substring(pc.replace_substring(array, "\\", "\\\\"), '"', '""')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.fill_null(pc.if_else(pa.array(quote), quoted, array), "")


def _needs_quotes(array: pa.Array) -> np.ndarray:
    """Per value: empty, NULL, or holding a byte that record_out quotes for."""
    _, offsets_buffer, data_buffer = array.buffers()
    if offsets_buffer is None:  # an all-NULL array of no size
        return np.ones(len(array), dtype=bool)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        array.offset : array.offset + len(array) + 1
    ].astype(np.int64)
    lengths = np.diff(offsets)
    if data_buffer is None or offsets[-1] == offsets[0]:
        return lengths == 0
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    seen = np.concatenate(([0], np.cumsum(_QUOTE_TRIGGERS[data], dtype=np.int64)))
    relative = offsets - offsets[0]
    return (seen[relative[1:]] - seen[relative[:-1]] > 0) | (lengths == 0)


class KnownRows:
    """The (hash, APN) of every active parcel of a jurisdiction, to recognise unchanged rows.

    Held as one string per parcel (hex digest + APN): about 100 MB for a million, fetched as a
    single aggregated value because a million one-row fetches cost three times as much. The APN
    is part of it so a parcel whose APN staff corrected since is not matched by its hash alone:
    its row is then a new parcel, as it was when the comparison ran in SQL.
    """

    SQL = """SELECT count(*),
                    string_agg(import_hash || apn, E'\\n') FILTER (WHERE length(import_hash) = 32)
             FROM parcels_parcel WHERE jurisdiction = %s AND retired_at IS NULL"""

    def __init__(self, cursor, jurisdiction: str):
        cursor.execute(self.SQL, [jurisdiction])
        self.active, joined = cursor.fetchone()  # every active parcel, hashed or not
        self._known = set(joined.split("\n")) if joined else set()

    def hashes(
        self, texts: pa.Array, wkbs: pa.Array, keys: pa.Array
    ) -> tuple[list[str], np.ndarray]:
        """The md5 of each row (text form, then WKB), and which rows the registry holds so."""
        md5, known = hashlib.md5, self._known
        texts_list = texts.cast(pa.binary()).to_pylist()
        wkbs_list = wkbs.to_pylist()
        hashes = [md5(t + w).hexdigest() if w is not None else md5(t).hexdigest()
                  for t, w in zip(texts_list, wkbs_list, strict=True)]  # fmt: skip
        if not known:
            return hashes, np.zeros(len(hashes), dtype=bool)
        found = [k is not None and h + k in known
                 for h, k in zip(hashes, keys.to_pylist(), strict=True)]  # fmt: skip
        return hashes, np.array(found, dtype=bool)


def apn_keys(apns: pa.Array) -> pa.Array:
    """The registry key of each row: the APN without surrounding spaces (PostgreSQL's btrim),
    NULL when nothing is left."""
    trimmed = pc.utf8_trim(apns, characters=" ")
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def wkb_kinds(wkbs: pa.Array) -> np.ndarray:
    """The ISO WKB geometry type code of each value (modulo the Z/M thousands); -1 for NULL or
    a value too short to say."""
    if isinstance(wkbs, pa.ChunkedArray):
        wkbs = wkbs.combine_chunks()
    offsets_type = np.int64 if pa.types.is_large_binary(wkbs.type) else np.int32
    validity, offsets_buffer, data_buffer = wkbs.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offsets_type)[
        wkbs.offset : wkbs.offset + len(wkbs) + 1
    ].astype(np.int64)
    kinds = np.full(len(wkbs), -1, dtype=np.int64)
    if data_buffer is None:
        return kinds
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1]
    usable = np.diff(offsets) >= 5
    if validity is not None:
        usable &= wkbs.is_valid().to_numpy(zero_copy_only=False)
    at = starts[usable]
    little = data[at] == 1
    low = np.where(little, data[at + 1], data[at + 4]).astype(np.int64)
    high = np.where(little, data[at + 2], data[at + 3]).astype(np.int64)
    kinds[usable] = (low + 256 * high) % 1000
    return kinds
