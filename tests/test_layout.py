"""The shape of the domain: packages split by concept, private names kept private, guard and
effect kinds registered once, and imports running one way (domain never imports delivery)."""

import ast
import pathlib

import pytest

from tests.conftest import make_ticket, user
from ticketing.definitions import EFFECT_KINDS, GUARD_KINDS
from ticketing.errors import Conflict
from ticketing.services import SYSTEM
from ticketing.services.effects import EFFECTS, apply_effect
from ticketing.services.guards import GUARDS, guard, guard_failure

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = ("ticketing", "admin", "api", "mailgate", "notifications", "tests", "bench")
# split into packages: none of their modules may reach into another's private names
PACKAGES = ("ticketing.services", "ticketing.fields")
# the domain records what delivery must do; it never imports it (import-linter's contracts
# in pyproject.toml say the same for the whole graph; this reads each file's own imports)
DOMAIN = tuple(
    f"ticketing.{name}"
    for name in (
        "services",
        "fields",
        "models",
        "process_io",
        "definitions",
        "design",
        "visibility",
        "outbox",
        "attachments",
        "errors",
        "db",
    )
)
FORBIDDEN_IN_DOMAIN = (
    "notifications",
    "admin",
    "api",
    "mailgate",
    "ticketing.app",
    "ticketing.cli",
    "ticketing.web",
    "ticketing.worker",
    "rq",
    "flask_mail",
)


def _modules(*tops):
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _imports(path):
    """(imported module, imported name or None) for every import in the file, late ones too."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_of_a_split_package_is_imported_elsewhere():
    leaks = [
        f"{module} imports {source}.{name}"
        for module, path in _modules(*PROJECT)
        for source, name in _imports(path)
        if name is not None and _private(name) and source.startswith(PACKAGES) and source != module
    ]
    assert leaks == []


def test_no_private_service_name_is_reached_through_the_package():
    leaks = [
        f"{path.relative_to(ROOT)}:{node.lineno} services.{node.attr}"
        for _module, path in _modules(*PROJECT)
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("services", "fields")
        and _private(node.attr)
    ]
    assert leaks == []


def test_the_domain_never_imports_delivery_adapters_or_the_app():
    domain = [(module, path) for module, path in _modules("ticketing") if module.startswith(DOMAIN)]
    assert len(domain) > 20
    wrong = [
        f"{module} imports {source}"
        for module, path in domain
        for source, _name in _imports(path)
        if any(source == f or source.startswith(f + ".") for f in FORBIDDEN_IN_DOMAIN)
    ]
    assert wrong == []


def test_every_guard_and_effect_kind_the_schema_accepts_has_exactly_one_implementation():
    assert set(GUARDS) == set(GUARD_KINDS)
    assert set(EFFECTS) == set(EFFECT_KINDS)


def test_an_unknown_guard_kind_refuses_and_an_unknown_effect_kind_is_a_conflict(app):
    ticket = make_ticket(user("interno"))
    assert guard_failure(SYSTEM, ticket, "no_such_guard", None) == (
        "Condición desconocida: no_such_guard"
    )
    assert guard_failure(SYSTEM, ticket, {"kind": "no_such_guard"}, None) == (
        "Condición desconocida: no_such_guard"
    )
    with pytest.raises(Conflict, match="Efecto desconocido: no_such_effect"):
        apply_effect(SYSTEM, ticket, {"kind": "no_such_effect"}, comment=None)


def test_a_new_guard_kind_is_one_registered_function(app):
    ticket = make_ticket(user("interno"))
    seen = []

    @guard("test_only_kind")
    def _test_only(actor, ticket, settings, comment):
        seen.append((actor, ticket.id, settings, comment))
        return "refused by the test kind" if settings.get("refuse") else None

    try:
        spec = {"kind": "test_only_kind", "refuse": True}
        assert guard_failure(SYSTEM, ticket, spec, "why") == "refused by the test kind"
        assert guard_failure(SYSTEM, ticket, "test_only_kind", None) is None
    finally:
        GUARDS.pop("test_only_kind")
    assert seen == [(SYSTEM, ticket.id, spec, "why"), (SYSTEM, ticket.id, {}, None)]
