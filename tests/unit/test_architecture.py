"""The layering rule: a service's domain imports no adapter, entrypoint or driver."""

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_the_real_services_keep_their_domains_free_of_adapters_and_drivers():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _fake_service(tmp_path: Path, domain_source: str) -> Path:
    """A throw-away org-graph tree checked with the project's own org-graph contract."""
    pkg = tmp_path / "civicgrid_orggraph"
    for sub in ("", "domain", "adapters", "entrypoints", "service_layer"):
        (pkg / sub).mkdir(parents=True, exist_ok=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "bootstrap.py").write_text("")
    (pkg / "adapters" / "graph.py").write_text("VALUE = 1\n")
    (pkg / "domain" / "model.py").write_text(domain_source)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in project["contracts"] if c["source_modules"] == ["civicgrid_orggraph.domain"])
    forbidden = [m for m in contract["forbidden_modules"] if not m.startswith("civicgrid_runtime")]
    config = tmp_path / "importlinter.toml"
    config.write_text(
        textwrap.dedent(f"""
        [tool.importlinter]
        root_packages = ["civicgrid_orggraph"]
        include_external_packages = true
        [[tool.importlinter.contracts]]
        name = "{contract["name"]}"
        type = "forbidden"
        source_modules = ["civicgrid_orggraph.domain"]
        forbidden_modules = {forbidden!r}
    """)
    )
    return config


def test_a_domain_module_importing_an_adapter_breaks_the_rule(tmp_path):
    config = _fake_service(tmp_path, "from civicgrid_orggraph.adapters import graph\n")
    result = _lint(tmp_path, config)
    assert result.returncode != 0
    assert "civicgrid_orggraph.domain.model -> civicgrid_orggraph.adapters.graph" in result.stdout


def test_a_domain_module_importing_the_neo4j_driver_breaks_the_rule(tmp_path):
    config = _fake_service(tmp_path, "import neo4j\n")
    result = _lint(tmp_path, config)
    assert result.returncode != 0
    assert "civicgrid_orggraph.domain.model -> neo4j" in result.stdout


def test_a_plain_domain_module_keeps_the_rule(tmp_path):
    config = _fake_service(tmp_path, "import dataclasses\n")
    result = _lint(tmp_path, config)
    assert result.returncode == 0, result.stdout
