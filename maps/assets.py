"""The map's browser libraries, installed from the npm registry and served by the app itself.

Residents' browsers load Leaflet and Leaflet.VectorGrid from this app, never from a CDN: a CDN
would learn which addresses people look up, and the map would break when it is down. The
versions are pinned in `maps/npm/package.json` and its lock file (with integrity hashes);
`install()` runs `npm ci` in a scratch folder and copies only the files the map serves into
`maps/static/maps/vendor/` (git-ignored). A stamp of the lock file and the file list makes a
second run a no-op that takes milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

NPM_DIR = Path(__file__).resolve().parent / "npm"
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "maps" / "vendor"
STAMP = VENDOR_DIR / ".installed"

# What the map serves: (path inside node_modules, path under maps/vendor/). Folders are copied
# whole (Leaflet's CSS refers to its images folder).
FILES: tuple[tuple[str, str], ...] = (
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    # leaflet.js ends with `//# sourceMappingURL=leaflet.js.map`: production's collectstatic
    # (hashed names, clt.production) rewrites that reference and refuses a file it names that is
    # not there. The map is installed rather than the comment cut, so each file stays byte for
    # byte the one npm verified against the lock file's hash; browsers fetch it only while
    # their developer tools are open.
    ("leaflet/dist/leaflet.js.map", "leaflet/leaflet.js.map"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/images", "leaflet/images"),
    ("leaflet/LICENSE", "leaflet/LICENSE"),
    ("leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js", "vectorgrid/vectorgrid.min.js"),
    ("leaflet.vectorgrid/package.json", "vectorgrid/package.json"),  # its licence (Beerware)
)

# The URLs (under STATIC_URL) the map pages link, in load order.
SCRIPTS = ("maps/vendor/leaflet/leaflet.js", "maps/vendor/vectorgrid/vectorgrid.min.js")
STYLESHEETS = ("maps/vendor/leaflet/leaflet.css",)


class AssetsError(RuntimeError):
    """The map's libraries could not be installed; the message says how to fix it."""


def wanted_stamp() -> str:
    """A digest of what should be installed: the lock file and the list of served files."""
    digest = hashlib.sha256((NPM_DIR / "package-lock.json").read_bytes())
    digest.update(json.dumps(FILES).encode())
    return digest.hexdigest()


def installed() -> bool:
    """Whether the vendored files are present and match the pinned versions."""
    if not STAMP.exists() or STAMP.read_text().strip() != wanted_stamp():
        return False
    return all((VENDOR_DIR / target).exists() for _, target in FILES)


def install(*, force: bool = False, log: Callable[[str], None] = print) -> bool:
    """Install the pinned libraries into the static folder; False if they already were."""
    if installed() and not force:
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            "npm is not installed, so the map's libraries cannot be fetched.\n"
            "  Fix: apt-get install nodejs npm   (or run ./dev setup, which does it)"
        )
    with tempfile.TemporaryDirectory(prefix="clt-map-assets-") as scratch:
        work = Path(scratch)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(NPM_DIR / name, work / name)
        log("map assets: npm ci (Leaflet, VectorGrid, pinned by maps/npm/package-lock.json)")
        # --ignore-scripts: no package gets to run code on this machine at install time.
        result = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise AssetsError(f"npm ci failed in {work}:\n{result.stderr.strip()}")
        _copy_served_files(work / "node_modules")
    STAMP.write_text(wanted_stamp() + "\n")
    log(f"map assets: installed into {VENDOR_DIR}")
    return True


def _copy_served_files(node_modules: Path) -> None:
    if VENDOR_DIR.exists():
        shutil.rmtree(VENDOR_DIR)
    for source, target in FILES:
        src, dst = node_modules / source, VENDOR_DIR / target
        if not src.exists():
            raise AssetsError(f"{source}: not in the installed package (did its layout change?)")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
