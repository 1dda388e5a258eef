"""What every model shares: roles, queue levels, state categories, rollout stages, the
clock and the base model."""

import datetime as dt

import peewee as pw
from flask_babel import lazy_gettext as _l

from ticketing.db import db

# Roles, from least to most reach.
INTERNO, FOCAL, AIQ, AGQ = "interno", "focal", "aiq", "agq"

ROLES = (INTERNO, FOCAL, AIQ, AGQ)

ROLE_LABELS = {
    INTERNO: _l("Usuario interno"),
    FOCAL: _l("Usuario focal"),
    AIQ: _l("Administrador Institucional Quipux (AIQ)"),
    AGQ: _l("Administrador Gubernamental Quipux (AGQ)"),
}

AGENT_ROLES = (FOCAL, AIQ, AGQ)

# Queue levels.
FIRST_LEVEL, SECOND_LEVEL = 1, 2

# State categories: what lists filter on, whatever a type names its states.
OPEN, WAITING, DONE, REJECTED = "open", "waiting", "done", "rejected"

STATE_CATEGORIES = (OPEN, WAITING, DONE, REJECTED)

ACTIVE_CATEGORIES = (OPEN, WAITING)

# Institution stages in the rollout, in order.
STAGES = (
    "solicitud",
    "capacitacion",
    "ambiente_capacitacion",
    "paso_produccion",
    "produccion",
)

STAGE_LABELS = {
    "solicitud": _l("Solicitud"),
    "capacitacion": _l("Capacitación"),
    "ambiente_capacitacion": _l("Ambiente de capacitación"),
    "paso_produccion": _l("Paso a producción"),
    "produccion": _l("Producción"),
}

# Ticket type categories.
TYPE_CATEGORIES = ("onboarding", "support", "escalation")


def now() -> dt.datetime:
    """Naive UTC now: what every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False
