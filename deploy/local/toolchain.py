"""Finding ``java``, ``mvn`` and ``go``, and saying clearly what is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_JAVA = 17
DOCKER_HINT = (
    "Alternative without these tools: run the same servers in Docker with\n"
    "  docker compose up -d kafka neo4j mongodb\n"
    "(see docs/local-servers.md)."
)

Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Tool:
    command: str
    purpose: str
    install: str


TOOLS: dict[str, Tool] = {
    "java": Tool(
        "java",
        f"runs Kafka and Neo4j (Java {MIN_JAVA} or 21)",
        "Debian/Ubuntu: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)",
    ),
    "mvn": Tool(
        "mvn",
        "downloads the Kafka and Neo4j jars from Maven Central (first run only)",
        "Debian/Ubuntu: apt-get install maven",
    ),
    "go": Tool(
        "go",
        "builds FerretDB, the MongoDB-protocol server (first run only)",
        "Go 1.24 or newer from go.dev/dl (Debian bookworm's golang-go is too old; "
        "Go 1.21+ fetches a newer toolchain by itself)",
    ),
}


class ToolchainError(RuntimeError):
    """A required tool is missing or too old. The CLI exits with status 2."""

    def __init__(self, message: str, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


def find_tool(name: str, env: Mapping[str, str] | None = None, which: Which = shutil.which) -> str | None:
    """Absolute path of a tool; ``java`` prefers ``$JAVA_HOME/bin/java``."""
    env = os.environ if env is None else env
    if name == "java" and env.get("JAVA_HOME"):
        candidate = Path(env["JAVA_HOME"]) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return which(name)


def missing_message(missing: Iterable[str], needed_for: Iterable[str] = ()) -> str:
    """The user-facing text for missing tools: what each is for and how to install it."""
    names = list(dict.fromkeys(missing))
    servers = ", ".join(dict.fromkeys(needed_for))
    head = f"Missing tool{'s' if len(names) > 1 else ''}: {', '.join(names)}"
    if servers:
        head += f" (needed to run {servers} locally)"
    lines = [head + "."]
    for name in names:
        tool = TOOLS.get(name)
        if tool is None:
            lines.append(f"  {name}: not found on PATH")
        else:
            lines.append(f"  {name}: {tool.purpose}. Install: {tool.install}.")
    lines.append(DOCKER_HINT)
    return "\n".join(lines)


def require(
    names: Iterable[str],
    *,
    needed_for: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    which: Which = shutil.which,
) -> dict[str, str]:
    """Paths of the named tools, or :class:`ToolchainError` naming every missing one."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in dict.fromkeys(names):
        path = find_tool(name, env, which)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        raise ToolchainError(missing_message(missing, needed_for), missing)
    return found


def parse_java_major(version_output: str) -> int | None:
    """Major version from ``java -version`` output ("1.8.0_392" -> 8, "17.0.15" -> 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def check_java(java: str) -> int:
    """The Java major version; :class:`ToolchainError` if it is older than 17."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise ToolchainError(f"Cannot run {java}: {exc}\n{DOCKER_HINT}", ["java"]) from exc
    major = parse_java_major(out.stderr + out.stdout)
    if major is None:
        raise ToolchainError(f"Cannot tell the version of {java} from: {out.stderr.strip()!r}", ["java"])
    if major < MIN_JAVA:
        raise ToolchainError(
            f"{java} is Java {major}; Kafka 4 and Neo4j 5 need Java {MIN_JAVA} or newer. "
            f"Install: {TOOLS['java'].install}.\n{DOCKER_HINT}",
            ["java"],
        )
    return major
