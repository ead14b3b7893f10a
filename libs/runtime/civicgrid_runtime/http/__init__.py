"""FastAPI pieces shared by services: app factory, correlation ids, errors, health, auth."""

from civicgrid_runtime.http.app import create_service_app
from civicgrid_runtime.http.health import HealthChecks
from civicgrid_runtime.http.security import Authenticator

__all__ = ["Authenticator", "HealthChecks", "create_service_app"]
