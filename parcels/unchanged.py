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
    """The hash and APN of every active parcel of a jurisdiction, to recognise unchanged rows.

    Held as arrays, not Python objects: the 16-byte digests sorted by their first 8 bytes, and
    the APNs in the same order as an Arrow string array (about 30 MB for a million parcels),
    fetched as two aggregated binary values. A row is known when its digest is there in full
    and the parcel's APN is the row's key: a parcel whose APN staff corrected since is not
    matched by its hash alone, so its row is a new parcel, as when the comparison ran in SQL.
    """

    # Per parcel: its 16-byte digest and the length of its APN (one blob), its APN (another).
    # import_hash is written only by imports: an md5 in hex, or empty for parcels made by hand.
    SQL = """SELECT count(*),
                    string_agg(decode(import_hash, 'hex') || int4send(octet_length(apn)),
                               ''::bytea) FILTER (WHERE length(import_hash) = 32),
                    string_agg(convert_to(apn, 'UTF8'), ''::bytea)
                        FILTER (WHERE length(import_hash) = 32)
             FROM parcels_parcel WHERE jurisdiction = %s AND retired_at IS NULL"""
    RECORD = np.dtype([("digest", np.uint8, 16), ("apn_length", ">i4")])

    def __init__(self, cursor, jurisdiction: str):
        # Binary results: the blobs arrive as they are, not as hex text twice their size.
        with psycopg.Cursor(cursor.connection.connection) as raw:
            raw.execute(self.SQL, [jurisdiction], binary=True)
            self.active, records, apns = raw.fetchone()  # active: hashed or not
        records = np.frombuffer(records or b"", dtype=self.RECORD)
        offsets = np.zeros(len(records) + 1, dtype=np.int32)
        np.cumsum(records["apn_length"], out=offsets[1:])
        order = np.argsort(_prefixes(records["digest"]), kind="stable")
        self._digests = records["digest"][order]
        self._prefixes = _prefixes(self._digests)
        self._apns = pa.StringArray.from_buffers(
            len(records), pa.py_buffer(offsets), pa.py_buffer(apns or b"")
        ).take(pa.array(order))

    def hashes(
        self, texts: pa.Array, wkbs: pa.Array, keys: pa.Array
    ) -> tuple[list[bytes], np.ndarray]:
        """The md5 digest of each row (text form, then WKB), and which rows the registry holds
        exactly so."""
        md5 = hashlib.md5
        texts_list = texts.cast(pa.binary()).to_pylist()
        digests = [md5(t + w).digest() if w is not None else md5(t).digest()
                   for t, w in zip(texts_list, wkbs.to_pylist(), strict=True)]  # fmt: skip
        if len(self._prefixes) == 0 or not digests:
            return digests, np.zeros(len(digests), dtype=bool)
        wanted = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16)
        at = np.searchsorted(self._prefixes, _prefixes(wanted))
        at[at == len(self._prefixes)] = 0  # past the end: compared below, and not equal
        same_digest = (self._digests[at] == wanted).all(axis=1)
        same_apn = pc.fill_null(pc.equal(keys, self._apns.take(pa.array(at))), False)
        return digests, same_digest & same_apn.to_numpy(zero_copy_only=False)


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
