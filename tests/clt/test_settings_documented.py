"""Every setting the environment can give is in the README's table of settings, where an
adopting trust looks for it (a setting read but not listed is one nobody knows to set)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_read_from_the_environment() -> set[str]:
    return set(re.findall(r'"(CLT_[A-Z0-9_]+)"', (ROOT / "clt" / "settings.py").read_text()))


def test_every_setting_read_from_the_environment_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Settings (environment)") :]
    table = table[: table.index("\n\n", table.index("| --- |"))]
    listed = set(re.findall(r"`(CLT_[A-Z0-9_]+)`", table))
    assert "CLT_HOW_TO_APPLY" in settings_read_from_the_environment()
    assert settings_read_from_the_environment() - listed == set()
