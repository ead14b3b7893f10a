"""Detached background processes with a pid file and a log file.

Generic: nothing here knows about Kafka or Neo4j, so the same helper runs the servers and
the Python services (uvicorn)::

    pid = start_process("org-graph", ["uvicorn", ...], env=env, cwd=repo,
                        log_path=state / "org-graph.log", pid_path=state / "org-graph.pid")
    wait_healthy(lambda: http_ok("http://127.0.0.1:8001/healthz"), timeout=30,
                 pid_path=..., log_path=..., name="org-graph")
    stop_process(state / "org-graph.pid")

The process is started in a new session (``start_new_session=True``), so it outlives the
caller, is its own process group leader, and stopping it also stops its children. The pid
file holds the pid alone (``kill $(cat x.pid)`` works); ``x.pid.start`` beside it records the
process start time (Linux ``/proc``), so a pid later reused by another process is not taken
for ours.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "AlreadyRunningError",
    "HealthTimeoutError",
    "ProcessError",
    "ProcessExitedError",
    "is_running",
    "read_pid",
    "start_process",
    "stop_process",
    "tail",
    "wait_healthy",
]

# Popen objects of children started by this Python process: kept so that they are not
# garbage-collected while running (ResourceWarning) and so that exited ones get reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ProcessError(RuntimeError):
    """Base class of this module's errors."""


class AlreadyRunningError(ProcessError):
    """The pid file names a live process."""


class ProcessExitedError(ProcessError):
    """The process died while we waited for it to become healthy."""


class HealthTimeoutError(ProcessError):
    """The process did not become healthy in time."""


def tail(log_path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ("" if it does not exist)."""
    try:
        with log_path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux /proc), or None if unknown.

    Unlike wall-clock times this is immune to clock changes, so it tells a process apart from
    a later one that was given the same pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22 of proc(5)
    except (OSError, ValueError, IndexError):
        return None


def _identity_path(pid_path: Path) -> Path:
    return pid_path.with_name(pid_path.name + ".start")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def read_pid(pid_path: Path) -> int | None:
    """The pid in ``pid_path`` if that process is alive (and is the one we started), else None."""
    try:
        raw = pid_path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        pid = int(raw.split()[0])
    except (ValueError, IndexError):
        return None
    if pid <= 0 or not _alive(pid):
        return None
    try:
        recorded = int(_identity_path(pid_path).read_text().strip())
    except (OSError, ValueError):
        return pid  # no identity recorded (pid file not written by us): trust the pid
    current = _start_ticks(pid)
    if current is not None and current != recorded:
        return None  # the pid now belongs to a process started later
    return pid


def is_running(pid_path: Path) -> bool:
    """Whether the process named by ``pid_path`` is alive."""
    return read_pid(pid_path) is not None


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path,
    pid_path: Path,
) -> int:
    """Start ``argv`` detached, stdout and stderr appended to ``log_path``; return its pid.

    ``env`` replaces the environment when given (pass ``{**os.environ, ...}`` to extend it).
    Raises :class:`AlreadyRunningError` if ``pid_path`` names a live process.
    """
    running = read_pid(pid_path)
    if running is not None:
        raise AlreadyRunningError(f"{name} is already running (pid {running}, {pid_path})")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"\n==== {stamp} starting {name}: {shlex.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    ticks = _start_ticks(proc.pid)
    identity = _identity_path(pid_path)
    if ticks is None:
        identity.unlink(missing_ok=True)
    else:
        identity.write_text(f"{ticks}\n")
    tmp = pid_path.with_name(pid_path.name + ".tmp")
    tmp.write_text(f"{proc.pid}\n")
    os.replace(tmp, pid_path)
    return proc.pid


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (our processes lead their own), else the pid."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def stop_process(pid_path: Path, *, timeout: float = 30.0) -> bool:
    """SIGTERM the process (and its group), wait up to ``timeout`` s, then SIGKILL.

    Returns True if a live process was stopped, False if none was running. The pid file is
    removed either way.
    """
    pid = read_pid(pid_path)
    if pid is None:
        pid_path.unlink(missing_ok=True)
        _identity_path(pid_path).unlink(missing_ok=True)
        return False
    try:
        leads_group = os.getpgid(pid) == pid
    except ProcessLookupError:
        leads_group = False
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, time.monotonic() + timeout):
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, time.monotonic() + 10.0)
    if leads_group and _group_alive(pid):
        # children left behind by the leader
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    pid_path.unlink(missing_ok=True)
    _identity_path(pid_path).unlink(missing_ok=True)
    return True


def wait_healthy(
    check: Callable[[], bool],
    timeout: float,
    *,
    interval: float = 0.5,
    pid_path: Path | None = None,
    log_path: Path | None = None,
    name: str = "process",
) -> float:
    """Call ``check`` until it returns True; return the seconds waited.

    An exception from ``check`` counts as "not yet". With ``pid_path``, a process that dies
    meanwhile fails at once with :class:`ProcessExitedError`; after ``timeout`` seconds,
    :class:`HealthTimeoutError`. Both messages end with the tail of ``log_path``.
    """
    start = time.monotonic()
    deadline = start + timeout
    last_error = ""
    while True:
        try:
            if check():
                return time.monotonic() - start
            last_error = ""
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if pid_path is not None and not is_running(pid_path):
            raise ProcessExitedError(_failure(f"{name} exited before it became healthy", log_path))
        if time.monotonic() >= deadline:
            detail = f" (last check: {last_error})" if last_error else ""
            raise HealthTimeoutError(
                _failure(f"{name} was not healthy after {timeout:.0f} s{detail}", log_path)
            )
        time.sleep(interval)


def _failure(headline: str, log_path: Path | None, lines: int = 40) -> str:
    if log_path is None:
        return headline
    text = tail(log_path, lines)
    if not text:
        return f"{headline}; its log {log_path} is empty"
    return f"{headline}. Last {lines} lines of {log_path}:\n{text}"
