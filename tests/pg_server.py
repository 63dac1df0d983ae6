"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` from
``/usr/lib/postgresql/*/bin`` on a temporary data directory, listening on a unix socket in
that directory only, run as the ``postgres`` user when the tests run as root (PostgreSQL
refuses root)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BIN_GLOB = "/usr/lib/postgresql/*/bin"
USER = "postgres"


class PgUnavailable(RuntimeError):
    """PostgreSQL could not be started here (the message says why)."""


def find_bin() -> Path | None:
    """The newest PostgreSQL's bin folder holding initdb (None: not installed)."""
    found = [Path(p) for p in glob.glob(BIN_GLOB) if (Path(p) / "initdb").exists()]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running server; :meth:`database` makes a fresh database and gives its URL."""

    bin: Path
    base: Path
    port: int
    prefix: list[str]
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    def url(self, database: str = "postgres") -> str:
        return (f"postgresql+psycopg://{USER}@/{database}?host={self.socket_dir}"
                f"&port={self.port}")

    def database(self, name: str | None = None) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._n)}"
        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=USER,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=USER,
                             dbname=database, autocommit=True) as conn:
            conn.execute(statement)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "stop",
                  check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([*self.prefix, str(self.bin / tool), *args], capture_output=True,
                              text=True, timeout=120, cwd=self.base)
        if check and proc.returncode != 0:
            raise PgUnavailable(f"{tool} failed ({proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-800:]}")
        return proc


def start() -> PgServer:
    """Start a server in a new temporary folder (raises :class:`PgUnavailable`)."""
    binary = find_bin()
    if binary is None:
        raise PgUnavailable(f"PostgreSQL is not installed (no {BIN_GLOB}/initdb): install "
                            "the Debian package postgresql (bash scripts/run-tests.sh does)")
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PgUnavailable("running as root and runuser is missing")
        prefix = [runuser, "-u", USER, "--"]
    base = Path(tempfile.mkdtemp(prefix="xlsales-pg-"))
    try:
        (base / "sock").mkdir()
        if prefix:
            for p in (base, base / "sock"):
                shutil.chown(p, USER, USER)
        server = PgServer(binary, base, _free_port(), prefix)
        server._run("initdb", "-D", str(base / "data"), "-A", "trust", "-U", USER,
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        server._run("pg_ctl", "-D", str(base / "data"), "-l", str(base / "log"), "-w",
                    "-t", "60", "-o",
                    f"-c listen_addresses='' -c unix_socket_directories={base / 'sock'} "
                    f"-p {server.port} -c fsync=off -c full_page_writes=off", "start")
    except (OSError, subprocess.SubprocessError, PgUnavailable, KeyError, LookupError) as exc:
        log = base / "log"
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise PgUnavailable(f"{exc} {tail}".strip()) from None
    return server
