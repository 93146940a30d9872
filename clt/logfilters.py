"""Logging filters the LOGGING setting (clt/settings.py) attaches to noisy loggers.

Kept free of Django imports: logging is configured during `django.setup()`, before the apps load.
"""

from __future__ import annotations

import logging


class OneLineWarning(logging.Filter):
    """Turns a record into a WARNING without its traceback.

    For `django.security.DisallowedHost`: a request naming a host not in ALLOWED_HOSTS is what
    scanners send all day, and Django logs each at ERROR with a 15-line traceback of its own code,
    burying the errors an operator must see. The one line left names the host; the client has
    had its 400.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        record.stack_info = None
        return True
