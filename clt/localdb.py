"""The project's own PostgreSQL + PostGIS cluster, for when no DATABASE_URL is given.

A new user should not have to administer a database server to try `clt`, and tests must run on
a real PostGIS (never SQLite). So, with no `DATABASE_URL`, `clt` keeps a private cluster:

* data in ``<checkout>/.clt/pgdata`` (git-ignored), or ``$CLT_HOME/pgdata``;
* listening on 127.0.0.1 only, on a port of its own (chosen once, free at the time, kept in
  ``.clt/port``) and with no Unix socket, so it never collides with a system server;
* a superuser ``clt`` with a random password kept in ``.clt/password`` (mode 0600).

PostgreSQL refuses to run as root (``initdb: cannot be run as root``). When we are root we run
the server as an unprivileged system account (``postgres``, which Debian's package creates) via
``runuser``. That account must be able to reach the data directory; when a checkout lives under a
private folder (a ``mktemp -d`` clone, a 0700 home) it cannot, and we place the data in
``/var/lib/clt/<hash of the checkout path>`` instead, with a symlink from ``.clt/pgdata`` so the
layout stays the same. Nothing outside ``.clt`` (or that one folder) is touched.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DB_USER = "clt"
DB_NAME = "clt"
SERVER_ACCOUNT = "postgres"  # used only when we are root
FIRST_PORT = 54330


class LocalDbError(RuntimeError):
    """The local cluster could not be set up or started; the message says how to fix it."""


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    user: str
    password: str
    name: str

    @property
    def url(self) -> str:
        return f"postgis://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"


def home() -> Path:
    """The folder that holds the cluster's state (.clt in the checkout unless CLT_HOME says)."""
    return Path(os.environ.get("CLT_HOME", PROJECT_ROOT / ".clt")).resolve()


def data_dir() -> Path:
    return home() / "pgdata"


def connection() -> Connection:
    """Connection settings for the local cluster, creating the password and port on first use.

    Settings call this at import, so it must not start anything: it only reads (or creates) two
    small files.
    """
    state = home()
    state.mkdir(parents=True, exist_ok=True)
    return Connection("127.0.0.1", _port(state), DB_USER, _password(state), DB_NAME)


def _password(state: Path) -> str:
    path = state / "password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _port(state: Path) -> int:
    path = state / "port"
    if path.exists():
        return int(path.read_text())
    # A stable first guess per checkout, then the next free one.
    offset = int(hashlib.sha1(str(PROJECT_ROOT).encode()).hexdigest(), 16) % 500
    for port in range(FIRST_PORT + offset, FIRST_PORT + offset + 200):
        if _port_is_free(port):
            path.write_text(str(port))
            return port
    raise LocalDbError("no free TCP port found for the local database; set DATABASE_URL")


def bind_error(
    port: int, *, host: str = "127.0.0.1", reuse_address: bool = False
) -> OSError | None:
    """Why `host`:`port` cannot be bound now (None if it can). With `reuse_address`, as a
    server binds: connections closing in TIME_WAIT do not hold it, a listening program does."""
    with socket.socket() as s:
        if reuse_address:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _port_is_free(port: int, *, reuse_address: bool = False) -> bool:
    return bind_error(port, reuse_address=reuse_address) is None


# --- finding the server programs ---------------------------------------------------------


def bindir() -> Path:
    """The folder with initdb, pg_ctl and postgres (newest PostgreSQL on the machine)."""
    override = os.environ.get("CLT_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise LocalDbError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found.\n"
        "  Fix: run ./dev setup (it installs them), or on Debian/Ubuntu:\n"
        "       apt-get install postgresql-15 postgresql-15-postgis-3\n"
        "  or point DATABASE_URL at an existing PostGIS server."
    )


def _version_key(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


# --- running as the right account ---------------------------------------------------------


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_server_account(cmd: list[str]) -> list[str]:
    if not _running_as_root():
        return cmd
    try:
        pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError as exc:
        raise LocalDbError(
            f"running as root, and the '{SERVER_ACCOUNT}' account that would run PostgreSQL "
            "does not exist (PostgreSQL refuses to run as root).\n"
            f"  Fix: install the server package (it creates the account), or: "
            f"adduser --system --group {SERVER_ACCOUNT}"
        ) from exc
    return ["runuser", "-u", SERVER_ACCOUNT, "--", *cmd]


def _server_account_can_use(folder: Path) -> bool:
    probe = _as_server_account(["test", "-w", str(folder), "-a", "-x", str(folder)])
    return subprocess.run(probe, capture_output=True).returncode == 0


def _chown_to_server_account(path: Path) -> None:
    if _running_as_root():
        account = pwd.getpwnam(SERVER_ACCOUNT)
        os.chown(path, account.pw_uid, account.pw_gid)


# Where the data goes when the server account cannot enter the checkout.
FALLBACK_ROOT = Path("/var/lib/clt")


def _prepare_data_location() -> Path:
    """Create the (empty) data directory where the server account may write it."""
    target = data_dir()
    if target.is_symlink() or target.exists():
        return target.resolve()
    target.mkdir(parents=True)
    _chown_to_server_account(target)
    if _server_account_can_use(target):
        return target
    # The checkout is inside a folder the server account cannot enter (see module docstring).
    target.rmdir()
    # Keyed by the data folder (so by CLT_HOME), not the checkout: two CLT_HOMEs of one checkout
    # are two clusters. A cluster made before keeps its symlink, so it is found as it was.
    digest = hashlib.sha1(str(target.absolute()).encode()).hexdigest()[:12]
    outside = FALLBACK_ROOT / digest / "pgdata"
    outside.mkdir(parents=True, exist_ok=True)
    for folder in (outside.parent.parent, outside.parent, outside):
        _chown_to_server_account(folder)
    target.symlink_to(outside)
    return outside


# --- lifecycle ----------------------------------------------------------------------------


def is_initialised() -> bool:
    return (data_dir() / "PG_VERSION").exists()


def initialise(log=print) -> None:
    """Run initdb once, with a password-protected superuser and loopback-only access."""
    if is_initialised():
        return
    location = _prepare_data_location()
    conn = connection()
    pwfile = location.parent / f".pw-{os.getpid()}"
    pwfile.write_text(conn.password)
    pwfile.chmod(0o600)
    _chown_to_server_account(pwfile)
    log(f"  creating a PostgreSQL cluster in {location}")
    try:
        _run(
            [
                str(bindir() / "initdb"),
                "-D", str(location),
                "-U", DB_USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            what="initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    _write_server_settings(location, conn.port)


def _write_server_settings(location: Path, port: int) -> None:
    # Tuned for a laptop-sized dev/test server; production uses its own server (DATABASE_URL).
    settings = f"""
# written by clt.localdb
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 60
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 512MB
fsync = on
synchronous_commit = off
max_wal_size = 2GB
"""
    with open(location / "postgresql.conf", "a") as conf:
        conf.write(settings)


def is_running() -> bool:
    if not is_initialised():
        return False
    status = subprocess.run(
        _as_server_account([str(bindir() / "pg_ctl"), "status", "-D", str(data_dir().resolve())]),
        capture_output=True,
    )
    return status.returncode == 0


def start(log=print) -> bool:
    """Start the cluster if needed; return True when this call started it."""
    initialise(log)
    if is_running():
        return False
    location = data_dir().resolve()
    logfile = location / "server.log"
    port = connection().port
    log(f"  starting PostgreSQL on 127.0.0.1:{port}")
    try:
        _run(
            _as_server_account(
                [str(bindir() / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(location),
                 "-l", str(logfile)]
            ),
            what="pg_ctl start",
            hint=f"see the server log: {logfile}",
            as_account=False,
        )
    except LocalDbError as exc:
        # Asked only once the start failed: a port just released by a stopping server (its
        # clients' connections in TIME_WAIT) is free to PostgreSQL but not to a bare probe.
        if _port_is_free(port, reuse_address=True):
            raise
        raise LocalDbError(
            f"port {port} (kept in {home() / 'port'}) is used by another program now.\n"
            f"  Fix: stop that program, or delete {home() / 'port'} and start again to choose "
            "a free port"
        ) from exc
    return True


def stop(log=print) -> bool:
    """Stop the cluster if it runs; return True when this call stopped it."""
    if not is_running():
        return False
    log("  stopping PostgreSQL")
    _run(
        _as_server_account(
            [str(bindir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(data_dir().resolve())]
        ),
        what="pg_ctl stop",
        as_account=False,
    )
    return True


def ensure_database(name: str = DB_NAME) -> None:
    """Create the database (if missing) with the PostGIS extension."""
    import psycopg

    conn = connection()
    params = {"host": conn.host, "port": conn.port, "user": conn.user, "password": conn.password}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input
    with psycopg.connect(dbname=name, autocommit=True, **params) as db:
        try:
            db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.errors.FeatureNotSupported as exc:
            raise LocalDbError(
                "PostGIS is not installed for this PostgreSQL.\n"
                "  Fix: apt-get install postgresql-15-postgis-3 (match your server's version)"
            ) from exc


def _run(cmd: list[str], *, what: str, hint: str = "", as_account: bool = True) -> None:
    full = _as_server_account(cmd) if as_account else cmd
    result = subprocess.run(full, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise LocalDbError(f"{what} failed: {detail}" + (f"\n  {hint}" if hint else ""))
