"""docker-compose.yml and the Dockerfile agree with each other and with the settings.

There is no Docker engine on the build machines, so this reads the files instead of running them.
"""

import json
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_database_is_the_official_postgis_image_on_postgresql_15_or_later(compose):
    image = compose["services"]["db"]["image"]
    name, tag = image.split(":")
    assert name == "postgis/postgis"
    pg_major, postgis_version = tag.split("-")
    assert int(pg_major) >= 15
    assert postgis_version.startswith("3")


def test_database_url_matches_the_database_service(compose):
    db_env = compose["services"]["db"]["environment"]
    url = urlsplit(compose["services"]["web"]["environment"]["DATABASE_URL"])
    assert url.scheme in {"postgis", "postgres", "postgresql"}
    assert url.hostname == "db"
    assert url.port == 5432
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]


def test_web_waits_for_a_healthy_database(compose):
    assert compose["services"]["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    check = " ".join(compose["services"]["db"]["healthcheck"]["test"])
    # Over TCP: a socket check passes during the image's first initialisation, before the
    # server that web connects to (db:5432) listens.
    assert "pg_isready" in check and "-h 127.0.0.1" in check
    assert compose["services"]["web"]["restart"] == "on-failure"


def test_the_image_can_back_up_and_import(dockerfile):
    assert "postgresql-client-15" in dockerfile  # clt backup / restore run pg_dump, pg_restore
    assert "chown -R clt /app/.clt" in dockerfile  # the reject files of imports


def test_web_health_check_calls_the_apps_health_endpoint(compose):
    from django.urls import resolve

    test = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/\S*?)'", test).group(1)
    assert resolve(path).url_name == "healthz"


def test_published_port_is_the_one_gunicorn_binds(compose, dockerfile):
    host_port, container_port = compose["services"]["web"]["ports"][0].rsplit(":", 2)[-2:]
    assert container_port == "8000"
    assert "--bind 0.0.0.0:8000" in compose["services"]["web"]["command"]
    assert '"0.0.0.0:8000"' in dockerfile and "EXPOSE 8000" in dockerfile


def test_gunicorn_serves_with_threads_in_the_image_and_in_compose(compose, dockerfile):
    # Sync workers (gunicorn's default) answer one request each: three downloads waiting for
    # their file to be built (CLT_EXPORT_WAIT_S) left no worker for a tile or a page.
    cmd = re.search(r"^CMD (\[.*?\])$", dockerfile, re.M | re.S).group(1).replace("\\\n", "")
    serving = [shlex.join(json.loads(cmd)), compose["services"]["web"]["command"]]
    sizes = {re.search(r"--workers (\d+) --threads (\d+)", command).groups() for command in serving}
    assert len(sizes) == 1, sizes  # the image and compose serve alike
    assert int(sizes.pop()[1]) >= 2


def test_database_data_lives_in_a_named_volume(compose):
    volume, mount = compose["services"]["db"]["volumes"][0].split(":")
    assert volume in compose["volumes"]
    assert mount == "/var/lib/postgresql/data"


def test_every_clt_variable_in_compose_is_read_by_the_settings_or_the_command(compose):
    settings_source = (ROOT / "clt" / "settings.py").read_text()
    command = compose["services"]["web"]["command"]
    for name in compose["services"]["web"]["environment"]:
        read = f'"{name}"' in settings_source or f"$${name}" in command
        assert read, f"{name} is set in compose but never read"


def web_command_runs(compose: dict, tmp_path: Path, **environment: str) -> list[str]:
    """The programs web's command runs, in order, with `clt` and `gunicorn` stand-ins that
    note their arguments (a `clt load-demo` stand-in that fails with CLT_STUB_FAIL set)."""
    command = compose["services"]["web"]["command"]
    # Compose puts the host's value in a lone $ and leaves $ for $$: every variable must be the
    # container's.
    assert not re.search(r"(?<!\$)\$(?!\$)", command.replace("$$", "")), command
    stubs, ran = tmp_path / "bin", tmp_path / "ran"
    stubs.mkdir(parents=True)
    for program in ("clt", "gunicorn"):
        stub = stubs / program
        stub.write_text(
            f'#!/bin/sh\necho "{program} $1" >> {ran}\n'
            '[ "$1" = load-demo ] && [ -n "$CLT_STUB_FAIL" ] && exit 1\nexit 0\n'
        )
        stub.chmod(0o755)
    env = {"PATH": f"{stubs}:/usr/bin:/bin", **environment}
    subprocess.run(shlex.split(command.replace("$$", "$")), env=env, timeout=10)
    return ran.read_text().splitlines() if ran.exists() else []


def test_compose_loads_the_demo_by_default_and_not_with_clt_demo_0(compose, tmp_path):
    assert compose["services"]["web"]["environment"]["CLT_DEMO"] == "1"
    assert web_command_runs(compose, tmp_path / "a", CLT_DEMO="1") == [
        "clt migrate", "clt load-demo", "gunicorn clt.wsgi",
    ]  # fmt: skip
    assert web_command_runs(compose, tmp_path / "b", CLT_DEMO="0") == [
        "clt migrate", "gunicorn clt.wsgi",
    ]  # fmt: skip


def test_compose_does_not_serve_when_the_demo_is_refused(compose, tmp_path):
    # Production settings with CLT_DEMO left at 1: `clt load-demo` refuses, and web stops there.
    ran = web_command_runs(compose, tmp_path, CLT_DEMO="1", CLT_STUB_FAIL="1")
    assert ran == ["clt migrate", "clt load-demo"]


def test_web_image_is_built_here_and_runs_the_wsgi_app(compose, dockerfile):
    assert compose["services"]["web"]["build"] == "."
    assert "clt.wsgi" in dockerfile
    for app in ("clt", "parcels", "leases", "maps", "fixtures"):
        assert f"COPY {app} ./{app}" in dockerfile
    # GeoDjango needs the system libraries, not just the Python wheels.
    assert "libgdal" in dockerfile and "libgeos" in dockerfile


def test_image_installs_the_map_libraries_before_collecting_static_files(dockerfile):
    # The public map serves Leaflet and VectorGrid itself; an image without them has no map.
    assert dockerfile.index("clt map-assets") < dockerfile.index("collectstatic")


def test_gunicorn_takes_the_shells_place_so_docker_stop_reaches_it(compose, tmp_path):
    # `docker stop` signals the container's first process: a shell that only started gunicorn
    # does not pass SIGTERM on, so each stop waited its 10 s and then killed gunicorn.
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "clt").write_text("#!/bin/sh\nexit 0\n")
    (stubs / "gunicorn").write_text(f"#!/bin/sh\ncat /proc/$PPID/comm > {tmp_path / 'parent'}\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    command = compose["services"]["web"]["command"].replace("$$", "$")
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "CLT_DEMO": "0"}
    subprocess.run(shlex.split(command), env=env, timeout=10, check=True)
    assert (tmp_path / "parent").read_text().strip() != "sh"  # started by us, not by the shell


def image_user_setup(dockerfile: str) -> tuple[str, list[str]]:
    """The app user's home in the image, and the folders chown'ed to it, from the Dockerfile's
    one `useradd` instruction (continuation lines joined)."""
    joined = dockerfile.replace("\\\n", " ")
    run = next(line for line in joined.splitlines() if line.startswith("RUN useradd"))
    home = re.search(r"--home(?:-dir)? (\S+) clt\b", run).group(1)
    owned = re.search(r"chown -R clt ((?:/\S+ ?)+)", run).group(1).split()
    assert joined.index(run) < joined.index("\nUSER clt")  # done as root, before the switch
    return home, owned


def test_backups_go_to_a_named_volume_the_apps_user_can_write(compose, dockerfile):
    # The user owns only what is chown'ed to it: `clt backup` in /app (root's) failed, and a
    # file written elsewhere in the container was lost when compose recreated it.
    assert "backups:/backups" in compose["services"]["web"]["volumes"]
    assert "backups" in compose["volumes"]
    _, owned = image_user_setup(dockerfile)
    assert "/backups" in owned  # a new named volume takes the image folder's owner
    readme = (ROOT / "README.md").read_text()
    assert "docker compose exec web clt backup /backups/" in readme
    assert "docker compose exec web clt restore /backups/" in readme


def test_the_apps_user_has_a_home_it_can_write_for_gunicorns_control_socket(dockerfile):
    # gunicorn 25.1+ makes its control socket in $HOME/.gunicorn: with root's /app as home it
    # logged "Control server error" at every start.
    home, owned = image_user_setup(dockerfile)
    assert any(home == folder or home.startswith(folder + "/") for folder in owned), home


def test_gunicorn_is_given_no_option_an_allowed_older_gunicorn_refuses(compose, dockerfile):
    # --no-control-socket and --control-socket came with gunicorn 25.1; pyproject allows older
    # ones, which stop at an unknown option.
    pyproject = (ROOT / "pyproject.toml").read_text()
    oldest = re.search(r'"gunicorn>=([\d.]+)', pyproject).group(1)
    if tuple(int(part) for part in oldest.split(".")) < (25, 1):
        cmd = re.search(r"^CMD (\[.*?\])$", dockerfile, re.M | re.S).group(1)
        for serving in (cmd, compose["services"]["web"]["command"]):
            assert "control-socket" not in serving
