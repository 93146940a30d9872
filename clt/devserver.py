"""Django's development server answering a kept-alive connection without a 40 ms pause.

Django's request handler writes a response in more than one `send()` (the headers, then the
body). With Nagle's algorithm on, the kernel holds the second write until the client has
acknowledged the first, and a client on a kept-alive connection delays that acknowledgement
(Linux's delayed ACK, 40 ms), so every request after the first on a connection took 40 ms
more than its work: a map's tiles, a page's assets, a GIS client paging through features, and
the test suite's clients of its live servers (a tile on the demo: 44.7 ms a request, 3.9 ms
without; `bench/devserver_nagle.py`). gunicorn, which production and the benchmarks use, sets
TCP_NODELAY itself.
"""

from __future__ import annotations

from django.core.servers.basehttp import WSGIRequestHandler


def answer_without_delay() -> None:
    """Send each write of Django's development server (`clt serve`, the tests' live servers)
    at once: TCP_NODELAY on every connection it accepts (socketserver's own switch)."""
    WSGIRequestHandler.disable_nagle_algorithm = True
