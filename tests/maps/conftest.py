"""Fixtures of the map tests: the trust's day the dated layers are tested on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.maps.factories_map import LAYER_DAY


@pytest.fixture
def day(monkeypatch):
    """`day(date)` sets the trust's day: Django's clock at noon of `date` in Jackson (from
    LAYER_DAY on, not the machine's date, so the layers must read the trust's clock)."""

    def set_day(date: dt.date) -> None:
        noon = dt.datetime.combine(date, dt.time(12), tzinfo=timezone.get_default_timezone())
        monkeypatch.setattr(timezone, "now", lambda: noon)

    set_day(LAYER_DAY)
    return set_day
