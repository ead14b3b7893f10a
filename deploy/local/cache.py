"""The download/build cache (``$CIVICGRID_CACHE``): one directory per server and version.

An entry counts as complete only when its marker file holds the expected fingerprint, which
is written last, after a successful resolve or build. So an interrupted ``mvn`` or ``go``
run is redone, and a change of what is resolved (the pom, the Go source) is noticed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shlex
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.local.processes import tail

MARKER = ".complete"


class BuildError(RuntimeError):
    """A resolve or build step failed; the message ends with the tail of its log."""


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """``<cache>/<name>/<version>/``, complete when ``.complete`` holds ``fingerprint``."""

    root: Path
    fingerprint: str

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    def is_complete(self) -> bool:
        try:
            return self.marker.read_text().strip() == self.fingerprint
        except OSError:
            return False

    def mark_complete(self) -> None:
        tmp = self.marker.with_name(MARKER + ".tmp")
        tmp.write_text(self.fingerprint + "\n")
        os.replace(tmp, self.marker)

    def invalidate(self) -> None:
        self.marker.unlink(missing_ok=True)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for the ``with`` block; blocks until free."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run_step(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800.0,
) -> float:
    """Run one build step with output appended to ``log_path``; return its duration in s."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log_path.open("ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(
                f"`{shlex.join(argv)}` took more than {timeout:.0f} s. "
                f"Last lines of {log_path}:\n{tail(log_path, 30)}"
            ) from None
        except OSError as exc:
            raise BuildError(f"cannot run `{shlex.join(argv)}`: {exc}") from exc
    if result.returncode != 0:
        raise BuildError(
            f"`{shlex.join(argv)}` failed with exit status {result.returncode} (in {cwd}). "
            f"Last lines of {log_path}:\n{tail(log_path, 30)}"
        )
    return time.monotonic() - start
