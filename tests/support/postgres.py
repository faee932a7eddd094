"""A real, throw-away PostgreSQL server for tests, started from the Debian binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "apt-get update && apt-get install -y postgresql  (scripts/test.sh does this when it can)"


def postgres_bin_dir() -> Path:
    """Folder with initdb and pg_ctl: $LEADLOOP_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    explicit = os.environ.get("LEADLOOP_PG_BIN")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and Path(candidate, "initdb").exists():
            return Path(candidate)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(f"No PostgreSQL server binaries found (set LEADLOOP_PG_BIN). Install them: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: where it listens and how to stop it."""

    bin_dir: Path
    data_dir: Path
    port: int
    user: str = "leadloop"
    password: str = "leadloop-test"
    database: str = "leadloop"

    def environment(self) -> dict[str, str]:
        """LEADLOOP_PG_* settings that point dbt and dlt at this server."""
        return {"LEADLOOP_PG_HOST": "127.0.0.1", "LEADLOOP_PG_PORT": str(self.port),
                "LEADLOOP_PG_USER": self.user, "LEADLOOP_PG_PASSWORD": self.password,
                "LEADLOOP_PG_DATABASE": self.database}

    def create_database(self, name: str) -> str:
        """Create another database on this server (e.g. for Dagster's own storage)."""
        subprocess.run([str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                        name], check=True, capture_output=True, env={**os.environ, "PGPASSWORD": self.password})
        return name

    def stop(self) -> None:
        """Stop the server fast, wait for it, and remove its files."""
        _as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                  self.data_dir, check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _as_owner(command: list[str], data_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a server command as user postgres when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, capture_output=True, text=True)


def start_postgres() -> PostgresServer:
    """initdb a fresh cluster in a new /tmp folder, start it on a free loopback port, create the database."""
    bin_dir = postgres_bin_dir()
    # Not under pytest's tmp_path: that is private to root, and the server runs as user postgres.
    base_dir = Path(tempfile.mkdtemp(prefix="leadloop-pg-"))
    data_dir = base_dir / "pgdata"
    socket_dir = base_dir / "pgsock"
    data_dir.mkdir(parents=True)
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base_dir, "postgres")
        for folder in (data_dir, socket_dir):
            shutil.chown(folder, "postgres")
    server = PostgresServer(bin_dir=bin_dir, data_dir=data_dir, port=_free_port())
    password_file = base_dir / "pwfile"
    password_file.write_text(server.password + "\n")
    if os.geteuid() == 0:
        shutil.chown(password_file, "postgres")
    # Password authentication, as a production server has: dlt and dbt must send credentials.
    _as_owner([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", server.user, "--auth=scram-sha-256",
               f"--pwfile={password_file}", "--encoding=UTF8", "--no-locale"], data_dir)
    password_file.unlink()
    options = f"-p {server.port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options, "-l",
               str(data_dir / "server.log"), "-w", "-t", "60", "start"], data_dir)
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user,
             server.database], capture_output=True, text=True, check=False,
            env={**os.environ, "PGPASSWORD": server.password})
        if result.returncode == 0:
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"PostgreSQL did not accept connections: {result.stderr}")
        time.sleep(0.5)
