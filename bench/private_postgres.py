"""A throwaway PostgreSQL cluster of the bench's own, so a thousand concurrent calls cannot use up
the connections of the server the other engineers share."""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.fixtures.processes import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; on a developer machine we already are an ordinary user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _binary(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


@dataclass
class PrivatePostgres:
    port: int
    directory: Path

    @classmethod
    def start(cls, *, max_connections: int = 600, options: str = "") -> "PrivatePostgres":
        """`options`: more `-c name=value` settings (bench/round_trips.py loads pg_stat_statements)."""
        directory = Path(tempfile.mkdtemp(prefix="gw-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres")
        server = cls(port=free_port(), directory=directory)
        data = str(directory / "data")
        initdb = [_binary("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]
        subprocess.run(_as_postgres(initdb), check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        options = (
            f"-p {server.port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
            " -c shared_buffers=256MB"  # durability settings stay at PostgreSQL's defaults, as in production
            f" {options}"
        )
        start = [_binary("pg_ctl"), "-D", data, "-o", options, "-l", str(directory / "log"), "-w", "start"]
        subprocess.run(_as_postgres(start), check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        return server

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        command = [_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]
        subprocess.run(command, check=True)  # noqa: S603

    def pids(self) -> list[int]:
        """The postmaster and its children (a backend per connection), for the bench's CPU figures."""
        try:
            postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
            parent = psutil.Process(postmaster)
            return [postmaster, *(child.pid for child in parent.children(recursive=True))]
        except (OSError, ValueError, IndexError, psutil.Error):
            return []

    def stop(self) -> None:
        stop = [_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "stop"]
        subprocess.run(_as_postgres(stop), check=False, stdout=subprocess.DEVNULL)  # noqa: S603
        shutil.rmtree(self.directory, ignore_errors=True)
