"""Whether production's static files were collected for this code, as `clt doctor` and /healthz
tell it. Under the manifest storage (clt.production) a page is a 500 when the manifest lacks a
file it names, and every page is one without a manifest (an install upgraded from before the
manifest, or an empty CLT_STATIC_ROOT), while /healthz, doctor and `check --deploy` said all
was well."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from clt.doctor import check_static_files, run_checks

pytestmark = pytest.mark.django_db

PRODUCTION_STORAGES = {  # clt/production.py's (importing it needs the production environment)
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "clt.staticfiles.CollectedStaticFiles"},
}
MANIFEST = "staticfiles.json"
COLLECT_FIX = (
    "Fix: clt manage collectstatic --noinput, with these same settings (DJANGO_SETTINGS_MODULE, "
    "CLT_STATIC_ROOT), then restart the server (a running one keeps the manifest it started with)"
)
NOT_COLLECTED = {
    "status": "static files not collected",
    "fix": "clt manage collectstatic --noinput (with these settings), then restart",
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """A STATIC_ROOT that collectstatic filled with the production storage (once, ~0.7 s)."""
    root = tmp_path_factory.mktemp("collected")
    with override_settings(STORAGES=PRODUCTION_STORAGES, STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def production_storage(settings):
    """The settings' static storage made production's; STATIC_ROOT is each test's to set."""
    settings.STORAGES = PRODUCTION_STORAGES
    return settings


def doctor_line(label: str) -> str:
    lines: list[str] = []
    run_checks(lines.append, start_local_db=False)
    (found,) = [text for text in lines if text[5:].startswith(f"{label} ")]
    return found


def test_doctor_finds_what_collectstatic_wrote_complete(production_storage, collected):
    production_storage.STATIC_ROOT = collected
    paths = json.loads((collected / MANIFEST).read_text())["paths"]

    assert doctor_line("Static") == f"  ok Static     {len(paths)} files collected in {collected}"


def test_doctor_fails_when_production_has_no_manifest(production_storage, tmp_path):
    production_storage.STATIC_ROOT = tmp_path  # collectstatic never ran there

    assert doctor_line("Static") == (
        f"  !! Static     no static files manifest at {tmp_path / MANIFEST}, so every page "
        f"fails. {COLLECT_FIX}"
    )


def test_doctor_fails_naming_the_files_an_older_manifest_lacks(
    production_storage, collected, tmp_path
):
    manifest = json.loads((collected / MANIFEST).read_text())
    for new in ("maps/map.js", "clt/site.css"):  # as if added since it was collected
        del manifest["paths"][new]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    production_storage.STATIC_ROOT = tmp_path

    assert doctor_line("Static") == (
        f"  !! Static     the static files manifest at {tmp_path / MANIFEST} is older than the "
        "code: it lacks 2 files (clt/site.css, maps/map.js), and the pages naming them fail. "
        f"{COLLECT_FIX}"
    )


def test_doctor_says_a_manifest_it_cannot_read_is_one(production_storage, tmp_path):
    (tmp_path / MANIFEST).write_text('{"paths": {"clt/site.css": ')  # cut short
    production_storage.STATIC_ROOT = tmp_path

    assert doctor_line("Static").startswith(
        f"  !! Static     {tmp_path / MANIFEST} cannot be read (Couldn't load manifest"
    )


def test_doctor_needs_no_collected_files_when_they_are_served_from_the_apps_folders():
    assert check_static_files() == (
        "served from the app's folders (no collectstatic with these settings)"
    )


def test_health_check_is_503_when_production_has_no_manifest(client, production_storage, tmp_path):
    production_storage.STATIC_ROOT = tmp_path

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == NOT_COLLECTED


def test_health_check_is_200_on_collected_static_files(client, production_storage, collected):
    production_storage.STATIC_ROOT = collected

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_check_answers_for_the_manifest_the_pages_use_until_a_restart(
    client, production_storage, collected, tmp_path
):
    """The storage reads the manifest once: collected after the start, it serves no page, and
    /healthz says so rather than look at the disk."""
    production_storage.STATIC_ROOT = tmp_path
    assert client.get("/healthz").status_code == 503

    shutil.copy(collected / MANIFEST, tmp_path / MANIFEST)

    assert client.get("/healthz").json() == NOT_COLLECTED
    with pytest.raises(ValueError, match="no static files manifest"):
        client.get("/")


def test_health_check_is_503_when_the_manifest_cannot_be_read(client, production_storage, tmp_path):
    (tmp_path / MANIFEST).write_text('{"paths": {"clt/site.css": ')  # cut short
    production_storage.STATIC_ROOT = tmp_path

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == NOT_COLLECTED


def test_health_check_is_503_when_the_manifest_is_older_than_the_code(
    client, production_storage, collected, tmp_path
):
    # After an upgrade without collectstatic: the map, naming a file the manifest lacks, was a
    # 500 while /healthz said "ok" and the load balancer kept sending residents to it.
    manifest = json.loads((collected / MANIFEST).read_text())
    del manifest["paths"]["maps/map.js"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    production_storage.STATIC_ROOT = tmp_path

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {**NOT_COLLECTED, "status": "static files older than the code"}
