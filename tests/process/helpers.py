"""Data and small steps shared by the rollout tests."""

import datetime as dt
from dataclasses import dataclass

from ticketing import stats
from ticketing.fields import UploadedFile
from ticketing.models import Institution, Outbox, Ticket, TicketType, User

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
NEW_AIQ_EMAIL = "maria.paredes@minturismo.gob.ec"
NEW_AIQ_PASSWORD = "Quipux-Implantacion-2025"

# the oficio's data: an institution and its designated AIQ, as the source lists them
OFICIO = {
    "nombre": "Ministerio de Turismo Comunitario",
    "ruc": "1768000030001",
    "sigla": "mintur",
    "telefono": "02 399 9333",
    "direccion": "Av. Gran Colombia N11-165, Quito",
    "aiq_nombres": "María Paredes Ortiz",
    "aiq_cedula": "1710000108",
    "aiq_cargo": "Directora de Tecnologías de la Información",
    "aiq_correo": NEW_AIQ_EMAIL,
    "aiq_telefono": "02 399 9333 ext. 1204",
    "aiq_celular": "0991234567",
    "oficio_numero": "MINTUR-DM-2025-0412-O",
    "oficio_fecha": "2025-03-14",
}


def oficio_fields(**overrides) -> dict:
    """Raw step-1 fields as a form would send them, with the oficio as a PDF."""
    fields = dict(OFICIO, oficio_pdf=UploadedFile("oficio-0412.pdf", "application/pdf", PDF))
    fields.update(overrides)
    return fields


def next_step(ticket: Ticket, slug: str) -> Ticket:
    """The ticket of type `slug` that `ticket` opened."""
    return (
        Ticket.select()
        .join(TicketType)
        .where((Ticket.parent == ticket.id) & (TicketType.slug == slug))
        .get()
    )


def mails_to(email: str, event: str | None = None) -> list[Outbox]:
    """Outbox rows for one address (optionally one event), oldest first."""
    query = Outbox.select().where(Outbox.recipient == email)
    if event:
        query = query.where(Outbox.event == event)
    return list(query.order_by(Outbox.id))


def age_ticket(ticket_id: int, days: int) -> None:
    """Move a ticket `days` into the past: what the calendar would do."""
    ticket = Ticket.get_by_id(ticket_id)
    delta = dt.timedelta(days=days)
    Ticket.update(
        created_at=ticket.created_at - delta,
        due_at=ticket.due_at - delta if ticket.due_at else None,
    ).where(Ticket.id == ticket_id).execute()
    stats.rebuild()  # tickets written behind the services' back


def new_aiq() -> User:
    return User.get(User.email == NEW_AIQ_EMAIL)


def assert_no_password_in_outbox(*passwords: str) -> int:
    """No outbox row carries a password or a password hash, in its context or its mail."""
    secrets = [p for p in passwords if p]
    secrets += [u.password_hash for u in User.select() if u.password_hash]
    rows = list(Outbox.select())
    for row in rows:
        text = f"{row.context} {row.subject} {row.body}"
        for secret in secrets:
            assert secret not in text, (row.event, row.recipient)
    return len(rows)


def second_agq() -> User:
    """Another AGQ of SGE (for the four-eyes rule), signing in with the demo password."""
    from tests.conftest import _password_hash
    from ticketing import services

    agq2 = services.create_user(
        services.SYSTEM,
        full_name="Héctor Ibarra (AGQ)",
        cedula="1710000116",
        email="agq2@sge.ec",
        role="agq",
        institution_id=services.sge().id,
        invite=False,
    )
    User.update(password_hash=_password_hash()).where(User.id == agq2.id).execute()
    return User.get_by_id(agq2.id)


@dataclass
class Rollout:
    """An institution whose AIQ finished the training environment (steps 1 to 4 done)."""

    institution: Institution
    aiq: User
    steps: list[Ticket]

    @property
    def password(self) -> str:
        """The AIQ's password: the demo one."""
        from tests.conftest import PASSWORD

        return PASSWORD

    @property
    def aiq_key(self) -> str:
        """The AIQ's key for signing in (the part of the address before the @)."""
        return self.aiq.email.split("@")[0]

    def second_agq(self) -> User:
        """Another AGQ of SGE, with the demo password."""
        return second_agq()


def oficio_accepted(title: str, **overrides) -> Ticket:
    """The AGQ registers and accepts an oficio; returns the solicitud (step 1 done)."""
    from tests.conftest import user
    from ticketing import services

    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", title, oficio_fields(**overrides))
    services.transition(agq, solicitud.id, "aceptar")
    return solicitud


def rollout_to_step_5(support_mailbox: str = "mesadeayuda@mintur.gob.ec") -> Rollout:
    """MINTUR with steps 1 to 4 done through the services: its AIQ (demo password) may ask
    for production."""
    from tests.conftest import _password_hash, user
    from ticketing import services

    agq = user("agq")
    solicitud = oficio_accepted("Solicitud de uso de Quipux — MINTUR")
    aiq = new_aiq()
    User.update(password_hash=_password_hash()).where(User.id == aiq.id).execute()
    training = next_step(solicitud, "capacitacion-aiq")
    for key in ("bandeja_entrada", "bandeja_salida", "administracion"):
        services.set_checklist_item(agq, training.id, key, True)
    services.transition(agq, training.id, "completar")
    setup = next_step(training, "ambiente-capacitacion")
    for key in ("institucion_creada", "usuario_admin", "plantilla_seguimiento"):
        services.set_checklist_item(agq, setup.id, key, True)
    services.transition(agq, setup.id, "completar")
    parametrization = next_step(setup, "parametrizacion-capacitacion")
    services.update_fields(
        aiq,
        parametrization.id,
        {"usuarios_focales": [aiq.id], "correo_soporte": support_mailbox},
        None,
    )
    for key in ("parametrizado", "focales_capacitados", "correo_creado"):
        services.set_checklist_item(aiq, parametrization.id, key, True)
    services.transition(aiq, parametrization.id, "completar")
    institution = Institution.get(Institution.sigla == "MINTUR")
    assert institution.stage == "ambiente_capacitacion"
    assert Ticket.get_by_id(parametrization.id).state == "completada"
    return Rollout(
        institution=institution,
        aiq=User.get_by_id(aiq.id),
        steps=[solicitud, training, setup, parametrization],
    )
