"""What the routes and consumers are wired with (built once in bootstrap)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from civicgrid_orggraph.domain.cross_appointments import RuleMode
from civicgrid_orggraph.service_layer.ports import UnitOfWork
from civicgrid_orggraph.service_layer.queries import CoverageReader, Reader
from civicgrid_runtime.http import Authenticator


@dataclass(frozen=True)
class Container:
    uow: UnitOfWork
    reader: Reader
    coverage: CoverageReader
    auth: Authenticator
    policy: Mapping[str, RuleMode]
    id_hash_salt: str
