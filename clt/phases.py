"""Status lines for the long steps of a command that no progress bar can measure.

A bulk write is a few big SQL statements: PostgreSQL says nothing until each returns, so a bar
cannot move. Saying what is starting, and how long it took when it ends, shows the work going
on (a clerk watching minutes of silence presses Ctrl-C) and where the time goes. A line per
step costs nothing, even for a million rows.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

Log = Callable[[str], None]


class Phases:
    """Announce each step as it starts (`clt: writing 9 changed parcels...`) and as it ends
    with its time (`clt: writing 9 changed parcels: done in 0.1 s`); silent without `log`
    (`--quiet`)."""

    def __init__(self, log: Log | None, clock: Callable[[], float] = time.monotonic):
        self._log = log
        self._clock = clock

    def begin(self, doing: str, *, when: bool = True) -> Callable[[], None]:
        """Announce `doing`; return what to call when it is done (for a step that ends outside
        one block, such as a commit at the end of a transaction's block). Not `when`, the step
        runs unannounced (it has nothing to do: "inserting 0 new parcels" would be noise)."""
        if self._log is None or not when:
            return lambda: None
        log, started = self._log, self._clock()
        log(f"clt: {doing}...")
        return lambda: log(f"clt: {doing}: done in {self._clock() - started:.1f} s")

    @contextlib.contextmanager
    def __call__(self, doing: str, *, when: bool = True) -> Iterator[None]:
        """Announce `doing` for the block (as `begin`); its end is said only if the block
        succeeds (a failure has its own message)."""
        done = self.begin(doing, when=when)
        yield
        done()
