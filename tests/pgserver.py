"""A throwaway PostgreSQL server for the history tests: Debian's postgresql, no mocks.

`make test` installs the `postgresql` package when /usr/lib/postgresql/15/bin is missing. The
first test that asks starts one cluster per test process (`initdb` + `pg_ctl` in a temporary
folder, on a free loopback port, password authentication), and it is stopped when the process
exits. PostgreSQL refuses to run as root: as root (as in CI), the cluster belongs to the
`postgres` system user the package creates, and its commands run through `runuser`.

Each test gets a database of its own (`fresh_database`), so tests never see each other's runs.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("EVALKIT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "evalkit"
PASSWORD = "s3cret-Pg-pa55word"
"""The superuser's password: tests check it never reaches an artifact or a log."""

_lock = threading.Lock()
_server: Server | None = None
_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One running cluster."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(
                f"{PG_BIN}/initdb is missing: run `make postgres` (apt-get install postgresql)"
            )
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="evalkit-pg-"))
        self.data = self.folder / "data"
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.as_root:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={password_file}",
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        for attempt in range(5):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
            )
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                "-w", "-t", "30", "start", check=False,
            )  # fmt: skip
            if started.returncode == 0:
                break
            if attempt == 4:
                log = (self.folder / "log").read_text(errors="replace")
                pytest.fail(f"PostgreSQL did not start: {started.stdout}{started.stderr}\n{log}")
        atexit.register(self.stop)

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(PG_BIN / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{program} failed: {done.stdout}{done.stderr}")
        return done

    def url(self, database: str = "postgres", *, password: bool = True) -> str:
        """A URL to one of its databases (with the password, by default)."""
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its name."""
        import psycopg

        name = f"history_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def stop(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def server() -> Server:
    """This process's cluster, started on first use."""
    global _server
    with _lock:
        if _server is None:
            _server = Server()
        return _server


def fresh_database() -> str:
    """The URL (with password) of a new, empty database on this process's cluster."""
    cluster = server()
    return cluster.url(cluster.create_database())
