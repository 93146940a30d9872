"""The map's browser libraries: pinned on the npm registry, installed into the app's static
folder, never fetched from a CDN at run time."""

from __future__ import annotations

import json
import re
import subprocess

from maps import assets


def test_every_library_is_pinned_to_one_version():
    package = json.loads((assets.NPM_DIR / "package.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is a range"
    lock = json.loads((assets.NPM_DIR / "package-lock.json").read_text())
    for path, entry in lock["packages"].items():
        if path:
            assert entry["integrity"].startswith("sha512-"), path


def test_the_served_files_are_installed_and_match_the_lock_file():
    assert assets.installed(), "run: .venv/bin/clt map-assets (./dev setup does it)"
    for _, target in assets.FILES:
        assert (assets.VENDOR_DIR / target).exists(), target


def test_a_changed_lock_file_means_the_files_must_be_installed_again(monkeypatch):
    monkeypatch.setattr(assets, "wanted_stamp", lambda: "a different lock file")
    assert not assets.installed()


def test_a_second_install_is_a_no_op():
    assert assets.install(log=lambda message: None) is False


def test_the_cli_says_whether_the_files_are_installed():
    result = subprocess.run(
        [str(assets.NPM_DIR.parents[1] / ".venv" / "bin" / "clt"), "map-assets", "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "map assets: up to date" in result.stderr
