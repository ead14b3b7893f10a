"""The version of the contracts package (kept equal to contracts/pyproject.toml by a test)."""

__version__ = "0.1.0"
