"""A rollout brought to step 5 through the service functions, for the browser tests.

The same path tests/process/conftest.py's `rollout` fixture takes (oficio accepted, AIQ
trained, training environment set up, parametrization completed), as a plain function:
the browser tests start from a running server rather than from the `app` fixture.
"""

from dataclasses import dataclass

from tests.conftest import _password_hash, user
from tests.process.helpers import new_aiq, next_step, oficio_fields
from ticketing import services
from ticketing.models import Institution, Ticket, User


@dataclass
class Rollout:
    institution: Institution
    aiq: User
    steps: list[Ticket]

    @property
    def aiq_key(self) -> str:
        """The AIQ's key for `Site.page_as` (the part of the address before the @)."""
        return self.aiq.email.split("@")[0]


# a second institution's oficio (valid RUC and cédula check digits), for a rollout at step 2
SECOM_OFICIO = {
    "nombre": "Secretaría de Comunicación Pública",
    "ruc": "1768000110001",
    "sigla": "secom",
    "aiq_nombres": "Jorge Vera Salinas",
    "aiq_cedula": "1710000140",
    "aiq_correo": "jorge.vera@secom.gob.ec",
    "oficio_numero": "SECOM-DM-2025-0098-O",
}


def oficio_accepted(title: str, **overrides) -> Ticket:
    """The AGQ registers and accepts an oficio; returns the solicitud (step 1 done)."""
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", title, oficio_fields(**overrides))
    services.transition(agq, solicitud.id, "aceptar")
    return solicitud


def rollout_to_step_5() -> Rollout:
    """MINTUR with steps 1 to 4 done: its AIQ (demo password) may ask for production."""
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
        {"usuarios_focales": [aiq.id], "correo_soporte": "mesadeayuda@mintur.gob.ec"},
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
