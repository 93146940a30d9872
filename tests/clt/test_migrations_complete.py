"""Every model change has its migration, for any trust's settings: a field changed without one
would leave the tables behind the code (pages fail on a missing column), and a setting that
changed the models (CLT_METRIC_SRID, parcels/metric.py) would make `makemigrations` write a
trust its own migration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("metric_srid", ["26995", "32119"])
def test_the_models_need_no_migration_that_is_not_written(metric_srid):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clt.settings",
           "CLT_METRIC_SRID": metric_srid}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
