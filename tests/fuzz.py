"""schemathesis as a user runs it: a separate process fuzzing a live server's OpenAPI document."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def schemathesis(url: str, *extra: str) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        url,
        "--checks",
        "not_a_server_error,content_type_conformance,response_schema_conformance",
        "--seed",
        "6",
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        *extra,
    ]
    # Run from a scratch folder: schemathesis keeps a crash cache (.schemathesis/) where it runs.
    scratch = tempfile.mkdtemp(prefix="clt-schemathesis-")
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
