"""Gzip for the text the app writes, to a client that accepts it (`Accept-Encoding: gzip`).

A resident opening /map/ on a phone over a slow mobile link waited for 313 kB, none of it
compressed; gzipped, the same visit is 114 kB (the page 12 kB -> 3.4 kB, Leaflet 148 kB ->
43 kB, an items page of 1,000 features 132 kB -> 15 kB). What is compressed where:

- static files: once, by collectstatic, in production (`clt.production`: whitenoise writes a .gz
  beside each text file and serves it); in development whitenoise serves the source folders, and
  this middleware compresses them as they are sent;
- pages, JSON, GeoJSON, problem documents, CSV: here, as each answer is sent, with Django's
  GZipMiddleware and its BREACH mitigation (random padding in the gzip header: a page that
  carries a CSRF token and echoes what a visitor typed does not give the token away by size);
- streamed downloads (a whole layer as GeoJSON or CSV): here too, at level 1. The 1M-parcel
  GeoJSON is 339 MB written in about 3 s; level 1 makes it 47 MB for 1.1 s of CPU, level 6
  38 MB for 3.9 s (the export's own GeoJSON, repeated to that size; 2 cores). 7 times fewer
  bytes is a shorter download on any link slower than a few hundred Mbit/s, and the worker,
  which a slow client holds for the whole download, is freed sooner. A GeoPackage too, though
  binary: an SQLite file of geometry blobs and half-filled pages, it shrank 5.5 times (the demo's
  parcels, 209 kB -> 38 kB); it then goes without a Content-Length, as the streamed ones do;
- vector tiles: by the tile view (maps/views.py), which keeps each tile's gzip in the tile
  cache instead of compressing a cached tile again for each visitor.

Other binary answers (PNG, zipped shapefiles) are compressed already and are left alone. A
response that compresses changes its strong ETag to a weak one (RFC 9110 8.8.1: the bytes differ
from the identity body's); If-None-Match compares weakly, so a client that sends the weak form
back still gets its 304 (maps/tiles.py `etag_matches`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from gzip import GzipFile

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.text import StreamingBuffer

# text/*, JSON and XML of any kind (GeoJSON, problem+json, CSVW, OpenAPI), JavaScript, SVG, and
# GeoPackage (see above).
COMPRESSIBLE = re.compile(
    r"^(text/|application/(json|javascript|xml|[\w.+-]+\+(json|xml)|geopackage\+sqlite3)\b"
    r"|image/svg\+xml)",
    re.I,
)
ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # Django's own test of Accept-Encoding
MIN_BYTES = 200  # below this the gzip header and trailer eat the saving (Django's threshold)
STREAM_LEVEL = 1  # a streamed download: most of the saving for a third of level 6's CPU


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether the client said it takes gzip-encoded answers."""
    return bool(ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))


def weak_etag(etag: str) -> str:
    """`etag` as a weak validator (`W/"..."`), as an encoded body's ETag must be."""
    return etag if etag.startswith("W/") else f"W/{etag}"


class CompressTextMiddleware(GZipMiddleware):
    """Django's GZipMiddleware for compressible answers only, with streams at `STREAM_LEVEL`."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase):
        if not COMPRESSIBLE.match(response.get("Content-Type", "")):
            return response
        if response.status_code == 206 or response.has_header("Content-Range"):
            return response  # a byte range of the identity body: compressing it breaks the range
        if not response.streaming or response.is_async:
            return super().process_response(request, response)
        if response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not accepts_gzip(request):
            return response
        response.streaming_content = gzip_stream(
            response.streaming_content, padding=self.max_random_bytes
        )
        del response.headers["Content-Length"]  # unknown until the last chunk is compressed
        if response.has_header("ETag"):
            response.headers["ETag"] = weak_etag(response["ETag"])
        response.headers["Content-Encoding"] = "gzip"
        return response


def gzip_stream(
    chunks: Iterable[bytes], *, padding: int, level: int = STREAM_LEVEL
) -> Iterator[bytes]:
    """`chunks` gzipped as they come, with up to `padding` random bytes in the header (Django's
    BREACH mitigation); what each chunk compresses to is sent as soon as zlib gives it out."""
    buffer = StreamingBuffer()
    filename = b"a" * secrets.randbelow(padding) if padding else None
    with GzipFile(
        filename=filename, mode="wb", compresslevel=level, fileobj=buffer, mtime=0
    ) as zfile:
        yield buffer.read()
        for chunk in chunks:
            zfile.write(chunk)
            data = buffer.read()
            if data:
                yield data
    yield buffer.read()
