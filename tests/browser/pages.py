"""The pages each role reaches, shared by the browser checks that walk them all.

The pages of a role are the links of its menu (so a new screen is checked as soon as it is
in the menu) plus the deeper pages a menu leads to: generated forms, each ready view of the
queue, ticket pages with their checklist and transition forms, edit forms, the designer.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.browser.rollout import SECOM_OFICIO, oficio_accepted, rollout_to_step_5
from tests.conftest import make_ticket, user
from tests.process.helpers import next_step
from ticketing import services
from ticketing.models import Institution, NotificationTemplate, Outbox, Ticket, TicketType

MENU_LINKS = """() => [...document.querySelectorAll('#admin-navbar-collapse a[href]')]
  .map((a) => a.getAttribute('href'))
  .filter((href) => href && !href.startsWith('#') && !href.startsWith('javascript'))"""


@dataclass
class World:
    """Something on every page: tickets at each stage, a rollout in review, mail sent."""

    support: int  # interno's support ticket, escalated by the focal user
    escalation: int  # the escalation it opened in SGE's queue
    assigned: int  # a support ticket assigned to the focal user
    production: int  # MINTUR's request for production, awaiting review
    training: int  # SECOM's AIQ training, course dates still to set (AGQ checklist)
    mintur: int
    insta: int
    template: int
    outbox: int

    def page_name(self, path: str) -> str:
        """A screenshot name that says what the page is, not which row id it showed."""
        names = {
            f"/ticket/{self.support}/": "/ticket-soporte/",
            f"/ticket/{self.escalation}/": "/ticket-escalamiento/",
            f"/ticket/{self.assigned}/": "/ticket-asignado/",
            f"/ticket/{self.production}/": "/ticket-paso-produccion/",
            f"/ticket/{self.training}/": "/ticket-capacitacion-aiq/",
            f"/seguimiento/{self.mintur}/": "/seguimiento-mintur/",
            f"/institucion/{self.mintur}/": "/institucion-mintur/",
            f"/institucion/{self.insta}/": "/institucion-propia/",
        }
        for prefix, name in names.items():
            if path.startswith(prefix):
                path = name + path.removeprefix(prefix)
        path = re.sub(r"\?id=\d+", "", path)
        return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "inicio"


def make_world(app) -> World:
    """Tickets, a rollout and mail for the crawl, made through the real services."""
    with app.test_request_context():
        focal = user("focal")
        support = make_ticket(title="No puedo firmar el oficio")
        services.transition(
            focal, support.id, "escalar", comment="El certificado no valida; lo pasamos a SGE."
        )
        escalation = Ticket.get(Ticket.parent == support.id)
        assigned = make_ticket(title="Consulta sobre la bandeja de salida")
        services.assign(focal, assigned.id, focal.id)
        make_ticket(title="Un ticket sin asignar")
        rollout = rollout_to_step_5()
        production = services.open_ticket(
            rollout.aiq,
            "paso-produccion",
            "Paso a producción — MINTUR",
            {"resumen": "Parametrizadas áreas, usuarios y plantillas; 40 usuarios formados."},
        )
        training = next_step(
            oficio_accepted("Solicitud de uso de Quipux — SECOM", **SECOM_OFICIO),
            "capacitacion-aiq",
        )
        return World(
            support=support.id,
            escalation=escalation.id,
            assigned=assigned.id,
            production=production.id,
            training=training.id,
            mintur=rollout.institution.id,
            insta=Institution.get(Institution.sigla == "INSTA").id,
            template=NotificationTemplate.select().order_by(NotificationTemplate.id).first().id,
            outbox=Outbox.get(Outbox.ticket == production.id).id,
        )


QUEUE_VIEWS = ["/cola/", "/cola/?view=mine", "/cola/?view=unassigned", "/cola/?view=overdue"]


def deep_pages(role: str, w: World) -> list[str]:
    """The pages a role reaches from its menu that the menu does not list itself."""
    common = [
        "/",
        "/nuevo/",
        "/mis-tickets/",
        "/tokens/",
        "/avisos/preferencias",
        "/buscar/?q=firmar",
        "/ayuda/",
    ]
    if role != "agq":  # the first-level form; SGE opens the oficio instead
        common.append("/nuevo/soporte/")
    if role == "interno":
        return common + [f"/ticket/{w.support}/", f"/ticket/{w.support}/edit"]
    agent = common + QUEUE_VIEWS + ["/cola/?view=all", "/personas/", "/tablero/"]
    if role in ("focal", "aiq"):
        pages = agent + [
            "/cola/?view=waiting_sge",
            f"/ticket/{w.support}/",
            f"/ticket/{w.escalation}/",
            f"/ticket/{w.assigned}/",
            f"/ticket/{w.assigned}/edit",
            f"/institucion/{w.insta}/",
        ]
        if role == "aiq":
            pages += [
                "/personas/new/",
                f"/personas/edit/?id={user('focal').id}",
                "/respuestas/nueva",
            ]
        return pages
    return [  # agq
        *agent,
        "/nuevo/solicitud-uso/",
        f"/ticket/{w.production}/",
        f"/ticket/{w.production}/edit",
        f"/ticket/{w.training}/",
        f"/ticket/{w.escalation}/",
        "/personas/new/",
        f"/personas/edit/?id={user('aiq').id}",
        "/instituciones/",
        "/implantacion/",
        "/seguimiento/",
        f"/seguimiento/{w.mintur}/",
        f"/institucion/{w.mintur}/",
        f"/institucion/{w.mintur}/registrar/paso-produccion/",
        "/correo-saliente/",
        f"/correo-saliente/details/?id={w.outbox}",
        "/plantillas-correo/",
        "/plantillas-correo/new/",
        "/respuestas/",
        "/respuestas/nueva",
        f"/plantillas-correo/edit/?id={w.template}",
    ]


def path_of(href: str) -> str:
    """The path and query of a link or URL, as the crawl compares them."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def agq_tool_pages(w: World) -> list[str]:
    """The designer's screens and a mail template preview (AGQ only; test_designer.py
    checks the designer at phone width)."""
    support = TicketType.get(TicketType.slug == "soporte").id
    return [
        "/disenador/nuevo",
        f"/disenador/{support}/",
        f"/disenador/{support}/vista-previa",
        "/disenador/proceso",
        f"/plantillas-correo/preview/?id={w.template}",
    ]


def pages_of(page, role: str, w: World) -> list[str]:
    """Every page `role` reaches: its deep pages, then its menu read from the signed-in `page`."""
    menu = [path_of(href) for href in page.evaluate(MENU_LINKS)]
    assert "/mis-tickets/" in menu  # the menu was found: the crawl is not empty
    return list(dict.fromkeys(deep_pages(role, w) + menu))
