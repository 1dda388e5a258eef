"""The layering is enforced by import-linter; these tests keep its contracts covering everything.

A new module of `ticketing/` must be placed: in the domain list of the "forbidden" contract,
or in one of the layers above it. A new top-level package must be a root package.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]


def _contract(kind: str) -> dict:
    return next(c for c in CONFIG["contracts"] if c["type"] == kind)


def _layer_modules() -> set[str]:
    names = set()
    for layer in _contract("layers")["layers"]:
        names.update(part.strip() for part in layer.replace(":", "|").split("|"))
    return names


def _placed(module: str, places: set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in places)


def test_every_module_of_ticketing_is_placed_in_a_layer():
    domain = set(_contract("forbidden")["source_modules"])
    places = domain | _layer_modules()
    unplaced = []
    for path in sorted((ROOT / "ticketing").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module != "ticketing" and not _placed(module, places):
            unplaced.append(module)
    assert not unplaced, f"place these in pyproject's import-linter contracts: {unplaced}"


def test_every_top_level_package_is_a_root_package():
    packages = {
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in ("tests", "bench", "docs")
    }
    assert packages == set(CONFIG["root_packages"])


def test_the_domain_cannot_import_the_layers_above_it():
    forbidden = set(_contract("forbidden")["forbidden_modules"])
    above = _layer_modules() - {"ticketing.services"}
    assert above <= forbidden


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "0 broken" in result.stdout
