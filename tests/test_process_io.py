"""The process as one file: export, import into an empty database, versions of a type."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.errors import ValidationFailed
from ticketing.models import (
    ChecklistItemDef,
    DefaultTrackingItem,
    FieldDef,
    NotificationTemplate,
    StateDef,
    Ticket,
    TicketType,
    TicketTypeVersion,
    TransitionDef,
)
from ticketing.process_io import (
    ImportErrors,
    dump_yaml,
    export_process,
    import_process,
    parse,
)

ROOT = Path(__file__).resolve().parents[1]
PROCESS_TABLES = (
    TicketTypeVersion,
    TransitionDef,
    StateDef,
    ChecklistItemDef,
    FieldDef,
    TicketType,
    DefaultTrackingItem,
    NotificationTemplate,
)


def _empty_process():
    for model in PROCESS_TABLES:
        model.delete().execute()


def test_export_then_import_into_an_empty_database_gives_an_identical_process(app):
    exported = export_process()
    assert {t["slug"] for t in exported["ticket_types"]} >= {"soporte", "paso-produccion"}
    text = dump_yaml(exported)
    _empty_process()
    assert export_process()["ticket_types"] == []

    counts = import_process(parse(text))

    assert counts["ticket_types"] == len(exported["ticket_types"])
    assert export_process() == exported
    assert dump_yaml(export_process()) == text


def test_import_is_idempotent_and_makes_no_new_version(app):
    data = export_process()
    versions = TicketTypeVersion.select().count()
    import_process(data)
    import_process(data)
    assert TicketTypeVersion.select().count() == versions
    assert export_process() == data


def test_every_mistake_is_reported_with_its_location_and_nothing_is_written(app):
    data = export_process()
    before = dump_yaml(data)
    types = data["ticket_types"]
    # a valid change early in the file must not survive a mistake later in it
    types[0]["name"] = "Nombre cambiado"
    support = next(t for t in types if t["slug"] == "soporte")
    support["transitions"][0]["to"] = "no_existe"
    support["fields"].append(dict(support["fields"][0]))  # duplicated field name
    types[-1]["states"] = [dict(s, initial=False) for s in types[-1]["states"]]
    data["notification_templates"][0]["subject"] = "{{ sin cerrar"

    with pytest.raises(ImportErrors) as refused:
        import_process(data)

    errors = refused.value.errors
    index = types.index(support)
    assert any(
        e.startswith(f"ticket_types[{index}] soporte: transitions[0]") and "no_existe" in e
        for e in errors
    ), errors
    assert any(f"ticket_types[{index}] soporte: fields[" in e and "repetido" in e for e in errors)
    assert any("exactamente un estado inicial" in e for e in errors)
    assert any(e.startswith("notification_templates[0].subject") for e in errors)
    assert dump_yaml(export_process()) == before


def test_a_yaml_syntax_error_names_its_line():
    with pytest.raises(ImportErrors) as refused:
        parse("ticket_types:\n  - slug: x\n   name: [sin cerrar\n")
    assert refused.value.errors[0].startswith("línea ")


def _edit_support_type(**changes):
    """Re-import the support type with `changes` applied, as the designer would save it."""
    data = export_process()
    support = next(t for t in data["ticket_types"] if t["slug"] == "soporte")
    support.update(changes)
    import_process({"ticket_types": [support]})


def test_editing_a_type_with_tickets_makes_a_new_version_the_old_tickets_keep(app, client, auth):
    old = make_ticket()
    old_version = old.type_version
    support = next(t for t in export_process()["ticket_types"] if t["slug"] == "soporte")
    fields = [dict(f) for f in support["fields"]]
    fields[0]["label"] = "Tipo de requerimiento"
    fields.append(
        {"name": "oficina", "label": "Oficina", "kind": "text", "required": True, "order": 99}
    )

    _edit_support_type(fields=fields)

    newest = (
        TicketTypeVersion.select()
        .where(TicketTypeVersion.ticket_type == old.type)
        .order_by(TicketTypeVersion.number.desc())
        .first()
    )
    assert newest.number == old_version.number + 1
    assert Ticket.get_by_id(old.id).type_version_id == old_version.id
    assert TicketTypeVersion.get_by_id(old_version.id).definition == old_version.definition

    # the old ticket still validates with its own version: no "oficina" asked of it
    services.update_fields(user("focal"), old.id, {"descripcion": "Sigue sin firmar."}, old.version)
    # a new ticket gets the new version and its new required field
    with pytest.raises(ValidationFailed) as refused:
        make_ticket()
    assert "oficina" in refused.value.fields
    new = make_ticket(fields={"oficina": "Matriz"})
    assert new.type_version_id == newest.id

    # and each renders with its own labels
    auth.login("focal")
    old_page = text_of(client.get(f"/ticket/{old.id}/"))
    new_page = text_of(client.get(f"/ticket/{new.id}/"))
    assert "Tipo de requerimiento" not in old_page and "Oficina" not in old_page
    assert "Tipo de requerimiento" in new_page and "Matriz" in new_page


def test_editing_a_type_without_tickets_keeps_its_single_version(app):
    support = TicketType.get(TicketType.slug == "soporte")
    before = TicketTypeVersion.select().where(TicketTypeVersion.ticket_type == support).count()
    _edit_support_type(description="Otra descripción")
    after = TicketTypeVersion.select().where(TicketTypeVersion.ticket_type == support)
    assert after.count() == before
    assert after.order_by(TicketTypeVersion.number.desc()).first().definition["description"] == (
        "Otra descripción"
    )


def _flask(tmp_path, db_file, *args, stdin=None):
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / db_file}",
        INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="cli-test",
        SEED_DEMO="0",
    )
    env.pop("REDIS_URL", None)
    env.pop("MAIL_SERVER", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_export_imports_into_a_fresh_database_identically(tmp_path):
    _flask(tmp_path, "a.sqlite3", "db", "upgrade")
    _flask(tmp_path, "a.sqlite3", "seed")
    exported = _flask(tmp_path, "a.sqlite3", "process", "export")
    (tmp_path / "process.yaml").write_text(exported, encoding="utf-8")

    _flask(tmp_path, "b.sqlite3", "db", "upgrade")
    _flask(tmp_path, "b.sqlite3", "process", "import", str(tmp_path / "process.yaml"))
    again = _flask(tmp_path, "b.sqlite3", "process", "export")

    assert "slug: paso-produccion" in exported
    assert again == exported
