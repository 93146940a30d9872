"""The project's own PostgreSQL: private, loopback-only, and safe to start twice."""

import dataclasses
import os
import socket

import psycopg
import pytest

from clt import localdb


def test_local_cluster_is_running_for_the_tests():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("tests run against DATABASE_URL, not the local cluster")
    assert localdb.is_running()


def test_starting_a_running_cluster_is_a_no_op():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("tests run against DATABASE_URL")
    assert localdb.start(log=lambda m: None) is False


def test_cluster_listens_on_loopback_only_and_needs_the_password():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("tests run against DATABASE_URL")
    conn = localdb.connection()
    with psycopg.connect(
        host=conn.host, port=conn.port, user=conn.user, password=conn.password, dbname="postgres"
    ) as db:
        assert db.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert db.execute("SHOW unix_socket_directories").fetchone()[0] == ""
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=conn.host, port=conn.port, user=conn.user, password="wrong", dbname="postgres"
        )


def test_password_file_is_private():
    mode = (localdb.home() / "password").stat().st_mode & 0o777
    assert mode == 0o600


def test_database_has_postgis():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("tests run against DATABASE_URL")
    conn = localdb.connection()
    with psycopg.connect(
        host=conn.host, port=conn.port, user=conn.user, password=conn.password, dbname=conn.name
    ) as db:
        assert db.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")


def test_chosen_port_was_free_of_other_servers():
    # The port is ours: a system PostgreSQL on 5432 is never touched.
    assert localdb.connection().port != 5432
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", localdb.connection().port)) == 0


def test_two_clt_homes_of_one_checkout_get_two_fallback_data_folders(tmp_path, monkeypatch):
    """When the server account cannot enter the checkout, the data goes under FALLBACK_ROOT:
    keyed by the data folder, so a second CLT_HOME does not find the first one's cluster."""
    monkeypatch.setattr(localdb, "FALLBACK_ROOT", tmp_path / "var-lib-clt")
    monkeypatch.setattr(localdb, "_server_account_can_use", lambda path: False)
    monkeypatch.setattr(localdb, "_chown_to_server_account", lambda path: None)
    made = []
    for name in ("a", "b"):
        monkeypatch.setenv("CLT_HOME", str(tmp_path / name / "state"))
        made.append(localdb._prepare_data_location())
        assert localdb.data_dir().is_symlink() and localdb.data_dir().resolve() == made[-1]
    assert made[0] != made[1]
    assert all(path.parent.parent == tmp_path / "var-lib-clt" for path in made)


def test_a_saved_port_taken_since_is_said_with_the_fix(monkeypatch):
    """The port is kept in .clt/port from the first start; if another program took it since,
    say so (pg_ctl said only "could not start server, examine the log")."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(localdb, "initialise", lambda log=print: None)
        monkeypatch.setattr(localdb, "is_running", lambda: False)
        moved = dataclasses.replace(localdb.connection(), port=port)
        monkeypatch.setattr(localdb, "connection", lambda: moved)
        # pg_ctl fails as it does on a taken port; the message then says why and what to do
        monkeypatch.setattr(localdb, "_run", _pg_ctl_fails)
        with pytest.raises(localdb.LocalDbError, match=f"port {port} .* another program now"):
            localdb.start(log=lambda message: None)


def _pg_ctl_fails(*args, **kwargs):
    raise localdb.LocalDbError("pg_ctl start failed: could not start server")
