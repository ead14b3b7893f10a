"""``python -m civicgrid_contracts export|check``: write the committed schemas, or check compatibility."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from civicgrid_contracts.asyncapi import asyncapi_document
from civicgrid_contracts.compat import Incompatibility, Kind, compare
from civicgrid_contracts.errors import summarise
from civicgrid_contracts.schemas import event_schemas, render

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = "schemas"
ASYNCAPI_FILE = "asyncapi.json"


def generated_files() -> dict[str, str]:
    """Relative path (under the contracts directory) → exact file content."""
    files = {f"{SCHEMAS_DIR}/{name}": render(schema) for name, schema in event_schemas().items()}
    files[ASYNCAPI_FILE] = render(asyncapi_document())
    return files


def export(root: Path) -> list[str]:
    """Write every generated file under ``root`` and delete stale schema files; return what changed."""
    changed: list[str] = []
    files = generated_files()
    (root / SCHEMAS_DIR).mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(f"wrote {relative}")
    for path in sorted((root / SCHEMAS_DIR).glob("*.json")):
        if f"{SCHEMAS_DIR}/{path.name}" not in files:
            path.unlink()
            changed.append(f"removed {SCHEMAS_DIR}/{path.name}")
    return changed


def committed_schemas(root: Path) -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((root / SCHEMAS_DIR).glob("*.json"))
    }


def schemas_at_ref(root: Path, ref: str) -> dict[str, dict[str, Any]]:
    """The schema files as committed at a git ref (for CI: compare with the target branch).

    Empty if the ref has no schemas yet; ``ValueError`` if ``ref`` is not a commit.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout

    try:
        git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        raise ValueError(f"{ref!r} is not a git commit") from None
    prefix = git("rev-parse", "--show-prefix").strip()
    try:
        git("cat-file", "-e", f"{ref}:{prefix}{SCHEMAS_DIR}")
    except subprocess.CalledProcessError:
        return {}
    names = git("ls-tree", "--full-tree", "--name-only", f"{ref}:{prefix}{SCHEMAS_DIR}").split()
    return {
        name: json.loads(git("show", f"{ref}:{prefix}{SCHEMAS_DIR}/{name}"))
        for name in names
        if name.endswith(".json")
    }


def check(baseline: dict[str, dict[str, Any]], root: Path) -> tuple[list[Incompatibility], list[str]]:
    """Incompatibilities of the models against ``baseline``, and notes (new types, stale files)."""
    current = event_schemas()
    problems: list[Incompatibility] = []
    notes: list[str] = []
    for name, old in baseline.items():
        event_type = name.removesuffix(".json")
        if name not in current:
            problems.append(
                Incompatibility(event_type, Kind.REMOVED_EVENT_TYPE, "event type no longer in the catalogue")
            )
            continue
        problems.extend(
            Incompatibility(f"{event_type} {p.path}", p.kind, p.detail) for p in compare(old, current[name])
        )
    notes.extend(
        f"new event type {name.removesuffix('.json')} (additive)" for name in current if name not in baseline
    )
    try:
        files = generated_files()
    except ValidationError as error:  # an incompatible model no longer fits its example
        notes.append(f"cannot generate asyncapi.json: {summarise(error, 'example')}")
        files = {}
    for relative, text in files.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            notes.append(f"{relative} is out of date: run `python -m civicgrid_contracts export`")
    return problems, notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m civicgrid_contracts", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=CONTRACTS_DIR, help="the contracts directory (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export", help="write schemas/*.json and asyncapi.json from the models")
    check_parser = commands.add_parser("check", help="fail on an incompatible change of the models")
    check_parser.add_argument(
        "--base-ref", help="compare with the schemas committed at this git ref instead of the working tree"
    )
    args = parser.parse_args(argv)
    root: Path = args.dir
    if args.command == "export":
        for line in export(root) or ["all files up to date"]:
            print(line)
        return 0
    try:
        baseline = schemas_at_ref(root, args.base_ref) if args.base_ref else committed_schemas(root)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems, notes = check(baseline, root)
    for note in notes:
        print(f"note: {note}")
    if problems:
        print(
            f"{len(problems)} incompatible change(s); make a new version (….v2) side by side instead:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"compatible: {len(baseline)} committed schema(s) checked")
    return 0
