"""Conditional GET for the OGC API and the downloads: an ETag built from the data versions, and a
304 to a client whose copy is still current (OGC 17-069r4 /rec/core/etag, RFC 9110 §13).

The tiles' design (maps/tiles.py, maps/versions.py), applied to documents: every table a layer
reads bumps its data version in the writing transaction, so a digest of those versions and of
everything else an answer depends on changes exactly when the answer may. What goes in:

- the data versions of each layer's tables, with the trust's day for a layer built for one
  (`versions.layer_tables`), and `extra_tables` a view reads besides (a download's import runs);
- the absolute URL as asked: scheme, host (every link in a document is absolute), path (the
  collection, the feature, a download's suffix) and the whole query string, as sent. Two
  spellings of one query get two ETags: each URL is its own resource to a cache, and the
  `self` and `next` links repeat the query as written;
- the representation chosen (JSON, GeoJSON, HTML: one URL answers either by its Accept);
- who may see what: each layer's name and audience, so /collections, which lists the layers
  this user may see, has one ETag per set of layers;
- the trust's day, name and contact (`tiles.layer_inputs`), which layers and pages print;
- the code: `FORMAT`, bumped when these documents change shape, and the app's version.

The ETags are weak (`W/"..."`): two answers with one ETag say the same, but not byte for byte
(an items page's `timeStamp`, a download's `generated_at`, a GeoPackage GDAL wrote again), and
RFC 9110 (8.8.1) keeps strong ETags for identical bytes. If-None-Match compares weakly anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from django.http import HttpRequest
from django.utils.http import parse_etags

from maps import versions
from maps.exporting import clt_version
from maps.layers import Layer
from maps.ogcapi import crs as ogc_crs
from maps.tiles import etag_matches, layer_inputs

FORMAT = "clt-ogcapi-1"  # bump when a document or download changes shape, to retire old ETags
ETAG = "ogcapi_etag"  # the request attribute `ogc_view` puts on its answer as the ETag


class NotModified(Exception):
    """The client's copy is current: `ogc_view` answers 304 Not Modified."""


def answer_etag(
    request: HttpRequest,
    layers: Iterable[Layer],
    *,
    representation: str,
    extra_tables: frozenset[str] = frozenset(),
) -> str:
    """The ETag of this request's answer, from the data versions as of now; kept on the request
    for `ogc_view` to send with a 200.

    Call it BEFORE reading the data the answer is made of. The versions and the data are then
    read by two statements, and a write may commit between them: the data can only be newer
    than the ETag says, so the client's next If-None-Match names versions that are no longer
    current and it gets the whole answer again (one extra download). Read the other way round,
    the ETag would name versions newer than the body, and a 304 would keep a stale copy alive
    until the next write.
    """
    layers = list(layers)
    tables = frozenset().union(*(_tables_of(layer) for layer in layers)) | extra_tables
    versions.watch(tables)
    described = [
        FORMAT,
        _app_version(),
        request.build_absolute_uri(),
        representation,
        [(layer.name, layer.audience.value) for layer in layers],
        [str(value) for value in layer_inputs()],
        versions.versions(tables),
        # The CRSs served (CLT_OGC_CRS and the metric CRS) are named by every collection: a
        # restart with another list must not answer 304 to a copy naming the old one.
        [crs.uri for crs in ogc_crs.served()],
    ]
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
    etag = f'W/"{digest[:32]}"'
    setattr(request, ETAG, etag)
    return etag


def revalidate(request: HttpRequest, etag: str) -> None:
    """Raise `NotModified` if the request's If-None-Match names `etag` (weakly), or is `*`.

    Call it once the resource is known to exist (RFC 9110 §13.1.2: `*` matches any current
    representation, and a missing one is still a 404), and after checking the parameters: a
    request that would be a 400 without the header is a 400 with it (§13.2.1).
    """
    client_etags = parse_etags(request.headers.get("If-None-Match", ""))
    if client_etags and etag_matches(etag, client_etags):
        raise NotModified


def conditional(
    request: HttpRequest,
    layers: Iterable[Layer],
    *,
    representation: str,
    extra_tables: frozenset[str] = frozenset(),
) -> None:
    """`answer_etag`, then `revalidate`: for an answer whose resource exists once its layers
    do (a collection, a page of items, a download)."""
    etag = answer_etag(request, layers, representation=representation, extra_tables=extra_tables)
    revalidate(request, etag)


_tables: dict[tuple, frozenset[str]] = {}


def _tables_of(layer: Layer) -> frozenset[str]:
    """`versions.layer_tables(layer)`, kept per layer and day: which tables a layer reads is
    fixed by its declaration, and compiling its SQL to find them cost more than the rest of
    the ETag."""
    key = (layer.name, layer.as_of)
    found = _tables.get(key)
    if found is None:
        if len(_tables) > 100:  # yesterday's entries
            _tables.clear()
        found = _tables[key] = versions.layer_tables(layer)
    return found


@cache
def _app_version() -> str:
    """The installed app's version and a digest of the code that writes these answers: a
    release may write any document differently, and so may a checkout between releases (whose
    version number stays), while the export cache keeps files across restarts under the ETag."""
    writers = Path(__file__).parent.parent  # maps/: layers, exporting, ogcapi
    code = hashlib.sha256()
    for source in sorted([*writers.glob("*.py"), *writers.glob("ogcapi/*.py")]):
        code.update(source.read_bytes())
    return f"{clt_version()}+{code.hexdigest()[:12]}"
