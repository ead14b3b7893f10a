"""What every local server provides: cache and state locations, install, configure, run, probe."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from deploy.local import maven
from deploy.local.config import HOST, Settings

Report = Callable[[str], None]


def no_report(_message: str) -> None:
    """A :data:`Report` that says nothing."""


class LocalServer(ABC):
    """One server: installed into ``<cache>/<name>/<version>``, run from ``<state>/<name>``."""

    name: ClassVar[str]
    version: ClassVar[str]
    start_timeout: ClassVar[float] = 120.0
    stop_timeout: ClassVar[float] = 30.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def kind(self) -> str:
        """Which server this is (``kafka`` for every node of a Kafka cluster)."""
        return self.name

    # --- locations -------------------------------------------------------------------------
    @property
    def cache_root(self) -> Path:
        return self.settings.cache_dir / self.name / self.version

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def pid_path(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    # --- network ---------------------------------------------------------------------------
    @property
    @abstractmethod
    def port(self) -> int:
        """The port clients connect to."""

    def ports(self) -> dict[int, str]:
        """Every port the server listens on, with the variable that sets it."""
        return {self.port: self.port_variable}

    @property
    @abstractmethod
    def port_variable(self) -> str:
        """The environment variable that sets :attr:`port`."""

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @abstractmethod
    def connection_env(self) -> dict[str, str]:
        """The ``CIVICGRID_*`` variables that point clients at this server."""

    # --- lifecycle -------------------------------------------------------------------------
    @abstractmethod
    def is_installed(self) -> bool:
        """Whether the cache holds a complete install (no download or build needed)."""

    def tools_to_install(self) -> list[str]:
        """Tools needed to fill the cache; none when it is complete."""
        return []

    def tools_to_run(self) -> list[str]:
        """Tools needed to configure and run the server."""
        return []

    @abstractmethod
    def install(self, tools: Mapping[str, str], report: Report) -> float | None:
        """Fill the cache if needed; seconds spent, or None if it was complete already."""

    @abstractmethod
    def prepare(self, tools: Mapping[str, str], report: Report) -> None:
        """Write configuration and initialise storage under :attr:`state_dir`."""

    @abstractmethod
    def argv(self, tools: Mapping[str, str]) -> list[str]:
        """The command that runs the server in the foreground."""

    def process_env(self) -> dict[str, str]:
        return dict(os.environ)

    @abstractmethod
    def healthy(self) -> bool:
        """A protocol-level readiness probe; may raise ``OSError`` while starting."""

    def data_paths(self) -> list[Path]:
        """What ``reset`` deletes (by default the whole state directory)."""
        return [self.state_dir]


class MavenServer(LocalServer):
    """A server whose jars Maven resolves into the cache once, then run with ``java``."""

    artifact_id: ClassVar[str]
    display_name: ClassVar[str]
    dependencies: ClassVar[list[tuple[str, str, str]]]

    @property
    def pom(self) -> str:
        return maven.render_pom(self.artifact_id, self.dependencies)

    @property
    def lib_dir(self) -> Path:
        return self.cache_root / "lib"

    def is_installed(self) -> bool:
        return maven.lib_entry(self.cache_root, self.pom).is_complete()

    def tools_to_install(self) -> list[str]:
        return [] if self.is_installed() else ["mvn"]

    def tools_to_run(self) -> list[str]:
        return ["java"]

    def install(self, tools: Mapping[str, str], report: Report) -> float | None:
        if self.is_installed():
            return None
        report(
            f"{self.name}: resolving {self.display_name} {self.version} jars with Maven into "
            f"{self.lib_dir} (first run only)"
        )
        _lib, seconds = maven.resolve_jars(self.cache_root, self.pom, mvn=tools["mvn"])
        return seconds
