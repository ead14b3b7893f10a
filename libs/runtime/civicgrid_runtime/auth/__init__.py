"""Bearer-token auth: roles admin, coordinator (region-scoped), member (a person), integration."""

from civicgrid_runtime.auth.principal import Principal, Role
from civicgrid_runtime.auth.tokens import TokenError, TokenIssuer, TokenVerifier

__all__ = ["Principal", "Role", "TokenError", "TokenIssuer", "TokenVerifier"]
