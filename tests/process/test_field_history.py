"""Several values changed in one edit: one transaction (one version step), one history row
per changed value, nothing for the values left as they were."""

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.models import Ticket, TicketEvent


def test_each_changed_value_has_its_own_history_row(app):
    ticket = make_ticket(user("interno"))
    before = Ticket.get_by_id(ticket.id).version
    services.update_fields(
        user("focal"),
        ticket.id,
        {"modulo": "reportes", "descripcion": "Otra descripción", "categoria": "incidente"},
        before,
        title="Título nuevo",
    )
    assert Ticket.get_by_id(ticket.id).version == before + 1
    rows = TicketEvent.select().where(
        (TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "fields_changed")
    )
    changed = sorted(name for row in rows for name in row.data["changes"])
    assert changed == ["descripcion", "modulo", "title"]  # categoria was already incidente
    assert all(len(row.data["changes"]) == 1 for row in rows)
