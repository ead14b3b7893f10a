"""FerretDB 1.x with its SQLite backend: the MongoDB wire protocol without a ``mongod``.

Built once with ``go`` from the wrapper in ``deploy/local/ferretdb/main.go`` (a Go source
file, copied into the cache build directory). The module is named ``ferret`` so that it does
not clash with that ``ferretdb/`` source directory.

FerretDB's source is built with the fixes in ``PATCHES`` applied (a copy of the module, wired in
with ``go mod edit -replace``). The one there today: in 1.24.2 the SQLite backend filters ``_id``
with ``_ferretdb_sjson->'$._id'`` while the unique index it creates is on ``_ferretdb_sjson->"_id"``;
SQLite matches index expressions by their text, so every find, update and delete by ``_id`` read
the whole table (measured: 52 ms per ``find_one`` at 20,000 documents, 0.6 ms with the fix).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploy.local import probes
from deploy.local.base import LocalServer, Report
from deploy.local.cache import BuildError, CacheEntry, file_lock, fingerprint, run_step
from deploy.local.config import FERRETDB_VERSION, HOST

MAIN_GO = Path(__file__).resolve().parent / "ferretdb" / "main.go"
WRAPPER_MODULE = "civicgrid/ferretdb-local"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"


PATCHED_SOURCE = "ferretdb-src"


@dataclass(frozen=True)
class SourcePatch:
    """One exact text replacement in FerretDB's source; the build fails if ``old`` is not there."""

    path: str
    old: str
    new: str
    why: str


PATCHES = (
    SourcePatch(
        path="internal/backends/sqlite/metadata/metadata.go",
        old="""IDColumn = DefaultColumn + "->'$._id'\"""",
        new="""IDColumn = DefaultColumn + `->"_id"`""",
        why="filter _id with the expression of the unique _id index, so SQLite uses it",
    ),
)


def fetch_commands(go: str) -> list[list[str]]:
    """The go steps that fetch FerretDB into a directory holding main.go."""
    return [
        [go, "mod", "init", WRAPPER_MODULE],
        [go, "get", f"{FERRETDB_MODULE}@v{FERRETDB_VERSION}"],
        [go, "mod", "tidy"],
    ]


def build_commands(go: str, binary_name: str = "ferretdb") -> list[list[str]]:
    """The go steps that build the binary once the patched source is in place."""
    return [
        [go, "mod", "edit", f"-replace={FERRETDB_MODULE}=./{PATCHED_SOURCE}"],
        [go, "build", "-trimpath", "-o", binary_name, "."],
    ]


def apply_patches(source: Path, patches: tuple[SourcePatch, ...] = PATCHES) -> None:
    for patch in patches:
        target = source / patch.path
        text = target.read_text()
        if text.count(patch.old) != 1:
            raise BuildError(
                f"cannot patch {target}: expected exactly one {patch.old!r} ({patch.why}); "
                "has FERRETDB_VERSION changed?"
            )
        target.write_text(text.replace(patch.old, patch.new))


def copy_module_source(go: str, build: Path, env: Mapping[str, str]) -> Path:
    """A writable copy of the fetched FerretDB module next to main.go."""
    found = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", FERRETDB_MODULE],
        cwd=build,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    module_dir = Path(found.stdout.strip())
    if found.returncode != 0 or not module_dir.is_dir():
        raise BuildError(f"cannot find the FerretDB module source: {found.stderr.strip()}")
    target = build / PATCHED_SOURCE
    shutil.copytree(module_dir, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


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
        return CacheEntry(
            self.cache_root,
            fingerprint("ferretdb", FERRETDB_VERSION, MAIN_GO.read_bytes(), repr(PATCHES).encode()),
        )

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
            go = tools["go"]
            seconds = sum(run_step(cmd, cwd=build, log_path=log, env=env) for cmd in fetch_commands(go))
            apply_patches(copy_module_source(go, build, env))
            seconds += sum(run_step(cmd, cwd=build, log_path=log, env=env) for cmd in build_commands(go))
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
