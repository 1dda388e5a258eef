"""End to end through the service: a ticket type with one field of every kind, imported as
data, opened with valid values (stored normalized) and with invalid ones (nothing saved)."""

import io

import pytest

from tests.conftest import text_of, user
from tests.fields.helpers import PDF, every_kind
from ticketing import services
from ticketing.errors import ValidationFailed
from ticketing.fields import KINDS, UploadedFile
from ticketing.models import Attachment, Blob, Outbox, Ticket, TicketEvent, TicketType
from ticketing.process_io import import_process

SLUG = "prueba-campos"


def import_every_kind_type():
    """Import, as a process file would, a test-only type with a field of every kind."""
    fields = every_kind()
    for definition in fields:  # what the file format carries, without derived keys
        del definition["fieldset"], definition["default"]
        if not definition["choices"]:
            del definition["choices"]
    import_process(
        {
            "format": "mesa-process/1",
            "ticket_types": [
                {
                    "slug": SLUG,
                    "name": "Prueba de campos",
                    "name_en": "Field test",
                    "category": "support",
                    "open_roles": ["interno", "focal", "aiq"],
                    "queue_level": 1,
                    "fields": fields,
                    "states": [
                        {"key": "nuevo", "label": "Nuevo", "category": "open", "initial": True},
                        {"key": "cerrado", "label": "Cerrado", "category": "done"},
                    ],
                    "transitions": [
                        {"name": "cerrar", "label": "Cerrar", "from": ["nuevo"], "to": "cerrado"}
                    ],
                }
            ],
        }
    )


def valid_raw():
    aiq, focal = user("aiq"), user("focal")
    return {
        "nombre": "  Ministerio de Prueba ",
        "descripcion": "Primera línea\r\nSegunda línea",
        "usuarios": "250",
        "presupuesto": "1500,50",
        "fecha_oficio": "2024-05-24",
        "reunion": "2024-05-28 09:30",
        "correo": "AIQ@Prueba.GOB.EC",
        "telefono": "02 123 4567 ext. 123",
        "cedula": "171003406-5",
        "ruc": "1760000230001",
        "modulo": "consulta",
        "modulos": ["otro", "incidente", "otro"],
        "produccion": "sí",
        "oficio": PDF,
        "focales": [str(focal.id), str(aiq.id)],
        "responsable": str(aiq.id),
        "acepta": True,
    }


def counts():
    return {
        model.__name__: model.select().count()
        for model in (Ticket, Attachment, Blob, Outbox, TicketEvent)
    }


def test_the_test_type_has_every_kind(app):
    import_every_kind_type()
    version = services.current_version(TicketType.get(TicketType.slug == SLUG))
    assert {f["kind"] for f in version.definition["fields"]} == set(KINDS)


def test_valid_values_are_stored_normalized(app):
    import_every_kind_type()
    aiq, focal = user("aiq"), user("focal")
    ticket = services.open_ticket(user("interno"), SLUG, "Solicitud de uso", valid_raw())
    stored = Ticket.get_by_id(ticket.id).fields
    attachment = Attachment.get(Attachment.ticket == ticket.id)
    assert stored == {
        "nombre": "Ministerio de Prueba",
        "descripcion": "Primera línea\nSegunda línea",
        "usuarios": 250,
        "presupuesto": "1500.50",
        "fecha_oficio": "2024-05-24",
        "reunion": "2024-05-28T09:30",
        "correo": "AIQ@prueba.gob.ec",
        "telefono": "+593 2-123-4567 ext. 123",
        "cedula": "1710034065",
        "ruc": "1760000230001",
        "modulo": "consulta",
        "modulos": ["otro", "incidente"],
        "produccion": True,
        "oficio": {"attachment_id": attachment.id, "filename": "oficio.pdf", "size": len(PDF.data)},
        "focales": [focal.id, aiq.id],
        "responsable": aiq.id,
        "acepta": True,
    }
    assert attachment.field_name == "oficio"
    assert attachment.content_type == "application/pdf"
    assert bytes(attachment.blob.data) == PDF.data


def test_optional_fields_left_blank_are_stored_empty(app):
    import_every_kind_type()
    raw = {
        k: v
        for k, v in valid_raw().items()
        if k in ("nombre", "correo", "telefono", "cedula", "ruc", "modulo", "oficio", "acepta")
    }
    ticket = services.open_ticket(user("interno"), SLUG, "Mínimo", raw)
    stored = Ticket.get_by_id(ticket.id).fields
    assert stored["usuarios"] is None
    assert stored["modulos"] == []
    assert stored["focales"] == []
    assert stored["responsable"] is None
    assert stored["produccion"] is None


INVALID = {
    "nombre": ("x" * 101, "Máximo 100 caracteres."),
    "descripcion": ("con\x00nulo", "El texto contiene caracteres no permitidos."),
    "usuarios": ("0", "El valor mínimo es 1."),
    "presupuesto": ("mil", "Escriba un número."),
    "fecha_oficio": ("24/05/2024", "Escriba una fecha válida (AAAA-MM-DD)."),
    "reunion": ("mañana", "Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM)."),
    "correo": ("aiq@prueba", "Escriba un correo electrónico válido."),
    "telefono": ("+1 202 555 0123", "Solo se aceptan números de teléfono de Ecuador."),
    "cedula": ("1710034066", "La cédula no es válida: revise sus 10 dígitos."),
    "ruc": ("1760000230000", "El RUC no es válido: revise sus 13 dígitos."),
    "modulo": ("inventada", "Elija una de las opciones."),
    "modulos": (["otro", "inventada"], "Elija solo entre las opciones."),
    "produccion": ("quizás", "Responda sí o no."),
    "oficio": (
        UploadedFile("virus.exe", "application/octet-stream", b"MZ"),
        "Tipo de archivo no permitido; se aceptan: pdf.",
    ),
    "focales": (["999999"], "Elija una persona de la institución."),
    "responsable": ("abc", "Elija una persona de la institución."),
    "acepta": (False, "Debe marcar esta casilla."),
}


def test_every_invalid_field_gets_its_message_and_nothing_is_saved(app):
    import_every_kind_type()
    assert set(INVALID) == {f["name"] for f in every_kind()}
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.open_ticket(
            user("interno"), SLUG, "", {name: value for name, (value, _) in INVALID.items()}
        )
    assert refused.value.fields == {
        "title": "Este campo es obligatorio.",
        **{name: message for name, (_, message) in INVALID.items()},
    }
    assert refused.value.message == "Revise los campos marcados."
    assert counts() == before


@pytest.mark.parametrize("name", sorted(INVALID))
def test_one_invalid_field_among_valid_ones_saves_nothing(app, name):
    import_every_kind_type()
    before = counts()
    raw = valid_raw()
    raw[name] = INVALID[name][0]
    with pytest.raises(ValidationFailed) as refused:
        services.open_ticket(user("interno"), SLUG, "Solicitud", raw)
    assert refused.value.fields == {name: INVALID[name][1]}
    assert counts() == before  # not even the valid file's bytes


def test_file_over_the_limit_is_refused_before_anything_is_stored(app):
    import_every_kind_type()
    before = counts()
    raw = dict(
        valid_raw(), oficio=UploadedFile("grande.pdf", "application/pdf", b"x" * (1024 * 1024 + 1))
    )
    with pytest.raises(ValidationFailed) as refused:
        services.open_ticket(user("interno"), SLUG, "Solicitud", raw)
    assert refused.value.fields == {"oficio": "El archivo supera el tamaño máximo de 1 MB."}
    assert counts() == before


def test_person_of_another_institution_is_refused(app):
    import_every_kind_type()
    raw = dict(valid_raw(), responsable=str(user("focal_b").id), focales=[str(user("aiq_b").id)])
    with pytest.raises(ValidationFailed) as refused:
        services.open_ticket(user("interno"), SLUG, "Solicitud", raw)
    assert refused.value.fields == {
        "responsable": "Elija una persona de la institución.",
        "focales": "Elija una persona de la institución.",
    }


def test_unknown_field_is_refused(app):
    import_every_kind_type()
    with pytest.raises(ValidationFailed) as refused:
        services.open_ticket(user("interno"), SLUG, "Solicitud", dict(valid_raw(), rol="agq"))
    assert refused.value.fields == {"rol": "Campo desconocido."}


def test_update_fields_validates_and_normalizes_only_what_changes(app):
    import_every_kind_type()
    ticket = services.open_ticket(user("interno"), SLUG, "Solicitud", valid_raw())
    focal = user("focal")
    services.update_fields(focal, ticket.id, {"telefono": "0991234567"}, ticket.version)
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.fields["telefono"] == "+593 99 123 4567"
    assert ticket.fields["cedula"] == "1710034065"
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.update_fields(
            focal, ticket.id, {"cedula": "1710034066", "ruc": ""}, ticket.version
        )
    assert refused.value.fields == {
        "cedula": "La cédula no es válida: revise sus 10 dígitos.",
        "ruc": "Este campo es obligatorio.",
    }
    assert Ticket.get_by_id(ticket.id).fields == ticket.fields
    assert counts() == before


def test_portal_form_refuses_a_wrong_cedula_beside_its_field(app, client, auth):
    import_every_kind_type()
    auth.login("interno")
    aiq = user("aiq")
    form = {
        "title": "Solicitud de uso",
        "f_nombre": "Ministerio de Prueba",
        "f_correo": "aiq@prueba.gob.ec",
        "f_telefono": "(04) 2305678",
        "f_cedula": "1710034066",
        "f_ruc": "1760000230001",
        "f_modulo": "consulta",
        "f_modulos": ["otro", "incidente"],
        "f_responsable": str(aiq.id),
        "f_acepta": "y",
        "f_oficio": (io.BytesIO(PDF.data), "oficio.pdf", "application/pdf"),
    }
    before = counts()
    response = client.post(f"/nuevo/{SLUG}/", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    body = text_of(response)
    assert 'data-field="f_cedula">La cédula no es válida: revise sus 10 dígitos.' in body
    assert counts() == before

    form["f_cedula"] = "171003406-5"
    form["f_oficio"] = (io.BytesIO(PDF.data), "oficio.pdf", "application/pdf")
    response = client.post(f"/nuevo/{SLUG}/", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)[:2000]
    ticket = Ticket.select().order_by(Ticket.id.desc()).get()
    assert ticket.fields["cedula"] == "1710034065"
    assert ticket.fields["telefono"] == "+593 4-230-5678"
    assert ticket.fields["modulos"] == ["otro", "incidente"]
    assert ticket.fields["oficio"]["filename"] == "oficio.pdf"
