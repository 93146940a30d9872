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
from dataclasses import dataclass, field

import numpy as np
import psycopg
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
    data_buffer = array.buffers()[2]
    offsets = value_offsets(array)
    lengths = np.diff(offsets)
    if data_buffer is None or offsets[-1] == offsets[0]:
        return lengths == 0
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    seen = np.concatenate(([0], np.cumsum(_QUOTE_TRIGGERS[data], dtype=np.int64)))
    relative = offsets - offsets[0]
    return (seen[relative[1:]] - seen[relative[:-1]] > 0) | (lengths == 0)


class KnownRows:
    """The hash and APN of every active parcel of a jurisdiction, to recognise unchanged rows.

    Held as arrays, not Python objects: the 16-byte digests sorted by their first 8 bytes, and
    the APNs in the same order as an Arrow string array (about 30 MB for a million parcels),
    fetched as two aggregated binary values. A row is known when its digest is there in full
    and the parcel's APN is the row's key: a parcel whose APN staff corrected since is not
    matched by its hash alone, so its row is a new parcel, as when the comparison ran in SQL.
    Parcels made by hand have no hash; their APNs are held too, for `FileKeys.gone`.
    """

    # Per parcel: whether it has a hash, its 16-byte digest (zeros if not) and the length of its
    # APN (one blob), and its APN (another). import_hash is written only by imports: an md5 in
    # hex, or empty for parcels made by hand.
    SQL = """SELECT string_agg(CASE WHEN length(import_hash) = 32
                                    THEN '\\x01'::bytea || decode(import_hash, 'hex')
                                    ELSE '\\x0000000000000000000000000000000000'::bytea END
                               || int4send(octet_length(apn)), ''::bytea),
                    string_agg(convert_to(apn, 'UTF8'), ''::bytea)
             FROM parcels_parcel WHERE jurisdiction = %s AND retired_at IS NULL"""
    RECORD = np.dtype([("hashed", np.bool_), ("digest", np.uint8, 16), ("apn_length", ">i4")])

    def __init__(self, connection: psycopg.Connection, jurisdiction: str):
        """Read the registry through `connection` (psycopg's, not Django's wrapper: this may
        run in a helper thread, inside the import's transaction, while the file is read)."""
        # Binary results: the blobs arrive as they are, not as hex text twice their size.
        with psycopg.Cursor(connection) as raw:
            raw.execute(self.SQL, [jurisdiction], binary=True)
            records, apns = raw.fetchone()
        records = np.frombuffer(records or b"", dtype=self.RECORD)
        offsets = np.zeros(len(records) + 1, dtype=np.int32)
        np.cumsum(records["apn_length"], out=offsets[1:])
        order = np.argsort(_prefixes(records["digest"]), kind="stable")
        self._hashed = records["hashed"][order]
        self._digests = records["digest"][order]
        self._prefixes = _prefixes(self._digests)
        self._apns = pa.StringArray.from_buffers(
            len(records), pa.py_buffer(offsets), pa.py_buffer(apns or b"")
        ).take(pa.array(order))

    @staticmethod
    def digests(texts: pa.Array, wkbs: pa.Array) -> list[bytes]:
        """The md5 digest of each row: its text form (`record_texts`), then its WKB."""
        md5 = hashlib.md5
        texts_list = texts.cast(pa.binary()).to_pylist()
        return [md5(t + w).digest() if w is not None else md5(t).digest()
                for t, w in zip(texts_list, wkbs.to_pylist(), strict=True)]  # fmt: skip

    def holds(self, digests: list[bytes], keys: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Which rows (their digests and keys) the registry holds exactly so, and the entry
        each of those rows matched (a parcel, by its position here)."""
        if len(self._prefixes) == 0 or not digests:
            return np.zeros(len(digests), dtype=bool), np.zeros(0, dtype=np.intp)
        wanted = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16)
        at = _sorted_search(self._prefixes, _prefixes(wanted))
        at[at == len(self._prefixes)] = 0  # past the end: compared below, and not equal
        same_digest = (self._digests[at] == wanted).all(axis=1) & self._hashed[at]
        same_apn = pc.fill_null(pc.equal(keys, self._apns.take(pa.array(at))), False)
        known = same_digest & same_apn.to_numpy(zero_copy_only=False)
        return known, at[known]

    def __len__(self) -> int:
        return len(self._apns)

    def apns(self, positions: np.ndarray | None = None) -> pa.Array:
        """The APNs of the entries at `positions` (all of them without)."""
        return self._apns if positions is None else self._apns.take(pa.array(positions))


@dataclass
class FileKeys:
    """The keys (trimmed APNs) of a whole file, held as cheaply as a re-import allows: an
    unchanged row by the registry entry it matched, every other row by its key.

    The two questions asked of them once the file is read, which APNs it repeats and which
    active parcels it no longer names, then cost a count over entry numbers for the unchanged
    rows and hash tables of the other rows' keys only; hash tables of a million strings would
    take 0.7 s of a re-import that otherwise takes 3.
    """

    known_rows: list[np.ndarray] = field(default_factory=list)  # 0-based, in file order
    known_at: list[np.ndarray] = field(default_factory=list)  # the entry each matched
    other_rows: list[np.ndarray] = field(default_factory=list)
    other_keys: list[pa.Array] = field(default_factory=list)

    def add(self, first_row: int, keys: pa.Array, known: np.ndarray, at: np.ndarray) -> None:
        rows = np.arange(first_row, first_row + len(known), dtype=np.int64)
        self.known_rows.append(rows[known])
        self.known_at.append(at)
        self.other_rows.append(rows[~known])
        self.other_keys.append(keys.filter(pa.array(~known)))

    @property
    def known(self) -> int:
        """How many rows the registry holds exactly so."""
        return sum(len(rows) for rows in self.known_rows)

    def _others(self) -> pa.ChunkedArray:
        return pa.chunked_array(self.other_keys, pa.string())

    def repeated(self, registry: KnownRows) -> tuple[np.ndarray, list[str], np.ndarray]:
        """The rows (0-based, in file order) whose key the file holds more than once, their
        keys, and which of them are unchanged rows. Blank keys are not keys: they are rejected
        as blank, not as repeats."""
        known_at = _joined(self.known_at, np.intp)
        others = self._others()
        times_named = np.bincount(known_at, minlength=len(registry))  # by unchanged rows
        repeated = registry.apns(np.flatnonzero(times_named > 1)).to_pylist()
        if len(others):
            counts = pc.value_counts(others)
            repeated += (
                counts.field("values").filter(pc.greater(counts.field("counts"), 1)).to_pylist()
            )
            named = np.flatnonzero(times_named > 0)  # named by an unchanged row and another
            named_apns = registry.apns(named)
            repeated += named_apns.filter(pc.is_in(named_apns, value_set=others)).to_pylist()
        keys = pa.array({key for key in repeated if key is not None}, pa.string())
        if len(keys) == 0:
            return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=bool)
        entry_repeated = pc.is_in(registry.apns(), value_set=keys).to_numpy(False)
        hit = entry_repeated[known_at] if len(known_at) else np.zeros(0, bool)
        other_hit = pc.is_in(others, value_set=keys).to_numpy(False) if len(others) else hit[:0]
        known_rows = _joined(self.known_rows, np.int64)[hit]
        rows = np.concatenate([known_rows, _joined(self.other_rows, np.int64)[other_hit]])
        row_keys = pa.concat_arrays([
            registry.apns(known_at[hit]), others.filter(pa.array(other_hit)).combine_chunks()
        ])  # fmt: skip
        unchanged = np.arange(len(rows)) < len(known_rows)
        order = np.argsort(rows, kind="stable")
        return rows[order], row_keys.take(pa.array(order)).to_pylist(), unchanged[order]

    def gone(self, registry: KnownRows) -> list[str]:
        """The APNs of the active parcels the file does not name."""
        unnamed = np.ones(len(registry), dtype=bool)
        unnamed[_joined(self.known_at, np.intp)] = False
        candidates = registry.apns(np.flatnonzero(unnamed))
        others = self._others()
        if len(others) and len(candidates):
            candidates = candidates.filter(pc.invert(pc.is_in(candidates, value_set=others)))
        return candidates.to_pylist()


def value_offsets(array: pa.Array) -> np.ndarray:
    """Where each value of an Arrow string or binary array (large or not, sliced or not) starts
    in its data buffer, and where the last one ends: len(array) + 1 int64s."""
    buffer = array.buffers()[1]
    if buffer is None:  # an all-NULL array of no size
        return np.zeros(len(array) + 1, dtype=np.int64)
    large = pa.types.is_large_binary(array.type) or pa.types.is_large_string(array.type)
    offsets = np.frombuffer(buffer, dtype=np.int64 if large else np.int32)
    return offsets[array.offset : array.offset + len(array) + 1].astype(np.int64)


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    """The per-batch arrays as one (empty, of `dtype`, when there are none)."""
    return np.concatenate([np.zeros(0, dtype), *parts])


def _sorted_search(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """np.searchsorted(haystack, needles), the needles looked up in ascending order: memory is
    then read in order, which is four times faster for a million random digests."""
    order = np.argsort(needles)
    at = np.empty(len(needles), dtype=np.intp)
    at[order] = np.searchsorted(haystack, needles[order])
    return at


def _prefixes(digests: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each 16-byte digest, as one unsigned 64-bit number each."""
    return np.ascontiguousarray(digests[:, :8]).view("<u8").ravel()


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
    validity, _, data_buffer = wkbs.buffers()
    offsets = value_offsets(wkbs)
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
