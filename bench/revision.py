"""A module of this repository as it was at another revision, to time beside this checkout's."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_at(revision: str, path: str):
    """The file `path` (e.g. "maps/tiles.py") at git `revision`, imported under another name;
    what it imports comes from this checkout."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    name = Path(path).stem + "_at_revision"
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_bytes(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module
