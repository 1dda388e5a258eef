"""A rollout already at step 5: an institution whose AIQ finished the training environment."""

from dataclasses import dataclass

import pytest

from tests.conftest import PASSWORD, _password_hash, user
from tests.process.helpers import new_aiq, next_step, oficio_fields, second_agq
from ticketing import services
from ticketing.models import Institution, Ticket, User


@dataclass
class Rollout:
    institution: Institution
    aiq: User
    steps: list[Ticket]
    password: str = PASSWORD

    def second_agq(self) -> User:
        """Another AGQ of SGE, with the demo password."""
        return second_agq()


@pytest.fixture
def rollout(app):
    """Steps 1 to 4 done through the services; the institution may ask for production."""
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud MINTUR", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
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
        {"usuarios_focales": [aiq.id], "correo_soporte": "mt@mintur.ec"},
        None,
    )
    for key in ("parametrizado", "focales_capacitados", "correo_creado"):
        services.set_checklist_item(aiq, parametrization.id, key, True)
    services.transition(aiq, parametrization.id, "completar")
    institution = Institution.get(Institution.sigla == "MINTUR")
    assert institution.stage == "ambiente_capacitacion"
    return Rollout(
        institution=institution,
        aiq=User.get_by_id(aiq.id),
        steps=[solicitud, training, setup, parametrization],
    )
