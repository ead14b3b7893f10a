"""FerretDB 1.x with its SQLite backend: the MongoDB wire protocol without a ``mongod``.

Built once with ``go`` from the wrapper in ``deploy/local/ferretdb/main.go`` (a Go source
file, copied into the cache build directory). The module is named ``ferret`` so that it does
not clash with that ``ferretdb/`` source directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from deploy.local import probes
from deploy.local.base import LocalServer, Report
from deploy.local.cache import BuildError, CacheEntry, file_lock, fingerprint, run_step
from deploy.local.config import FERRETDB_VERSION, HOST

MAIN_GO = Path(__file__).resolve().parent / "ferretdb" / "main.go"
WRAPPER_MODULE = "civicgrid/ferretdb-local"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"


def build_commands(go: str, binary_name: str = "ferretdb") -> list[list[str]]:
    """The go steps that turn a directory holding main.go into a FerretDB binary."""
    return [
        [go, "mod", "init", WRAPPER_MODULE],
        [go, "get", f"{FERRETDB_MODULE}@v{FERRETDB_VERSION}"],
        [go, "mod", "tidy"],
        [go, "build", "-trimpath", "-o", binary_name, "."],
    ]


class FerretDBServer(LocalServer):
    name = "ferretdb"
    version = FERRETDB_VERSION
    start_timeout = 60.0
    stop_timeout = 20.0

    @property
    def port(self) -> int:
        return self.settings.mongo_port

    @property
    def port_variable(self) -> str:
        return "CIVICGRID_MONGO_PORT"

    def connection_env(self) -> dict[str, str]:
        return {"CIVICGRID_MONGO_URI": f"mongodb://{self.address}"}

    @property
    def binary(self) -> Path:
        return self.cache_root / "ferretdb"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def cache_entry(self) -> CacheEntry:
        return CacheEntry(self.cache_root, fingerprint("ferretdb", FERRETDB_VERSION, MAIN_GO.read_bytes()))

    def is_installed(self) -> bool:
        return self.cache_entry().is_complete() and self.binary.is_file()

    def tools_to_install(self) -> list[str]:
        return [] if self.is_installed() else ["go"]

    def install(self, tools: Mapping[str, str], report: Report) -> float | None:
        entry = self.cache_entry()
        with file_lock(self.cache_root.parent / f".{self.version}.lock"):
            if self.is_installed():
                return None
            report(
                f"ferretdb: building FerretDB {self.version} with Go into {self.cache_root} (first run only)"
            )
            self.cache_root.mkdir(parents=True, exist_ok=True)
            entry.invalidate()
            build = self.cache_root / "build"
            shutil.rmtree(build, ignore_errors=True)
            build.mkdir()
            shutil.copyfile(MAIN_GO, build / "main.go")
            env = {**os.environ, "CGO_ENABLED": "0"}  # modernc SQLite is pure Go: a static binary
            log = self.cache_root / "build.log"
            seconds = sum(
                run_step(cmd, cwd=build, log_path=log, env=env) for cmd in build_commands(tools["go"])
            )
            built = build / "ferretdb"
            if not built.is_file():
                raise BuildError(f"go build finished but {built} is missing; see {log}")
            os.replace(built, self.binary)
            entry.mark_complete()
            return seconds

    def prepare(self, tools: Mapping[str, str], report: Report) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def argv(self, tools: Mapping[str, str]) -> list[str]:
        return [
            str(self.binary),
            "-listen",
            self.address,
            "-dir",
            str(self.data_dir),
            "-log-level",
            "info",
        ]

    def healthy(self) -> bool:
        return probes.mongo_ready(HOST, self.port)
