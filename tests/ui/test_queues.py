"""The queue's ready-made views and filters show exactly the tickets they name."""

import datetime as dt
import re

import pytest

from tests.conftest import make_ticket, user
from ticketing import services, stats
from ticketing.models import Ticket, TicketType, now

ESCALATION = {"modulo": "reportes", "descripcion": "El reporte no carga."}


def _refs(response) -> set[str]:
    """The ticket references listed as rows (each row links its reference)."""
    return set(re.findall(r'href="/ticket/\d+/">(MESA-\d+)</a>', response.get_data(as_text=True)))


@pytest.fixture
def queue_world(app):
    """Institution A's tickets in every situation a view distinguishes."""
    focal, aiq = user("focal"), user("aiq")
    t = {}
    t["mine"] = make_ticket(title="Asignado a focal")
    services.assign(focal, t["mine"].id, focal.id)
    t["aiq"] = make_ticket(title="Asignado al AIQ")
    services.assign(aiq, t["aiq"].id, aiq.id)
    t["free"] = make_ticket(title="Nadie lo tiene")
    t["late"] = make_ticket(title="Vencido sin asignar")
    Ticket.update(due_at=now() - dt.timedelta(days=2)).where(Ticket.id == t["late"].id).execute()
    stats.rebuild()  # tickets written behind the services' back
    t["future"] = make_ticket(title="Vence la otra semana")
    Ticket.update(due_at=now() + dt.timedelta(days=7)).where(Ticket.id == t["future"].id).execute()
    stats.rebuild()  # tickets written behind the services' back
    t["escalated"] = make_ticket(title="Escalado")
    services.transition(focal, t["escalated"].id, "escalar", comment="No sabemos.")
    t["child"] = Ticket.get(Ticket.parent == t["escalated"].id)
    t["done"] = make_ticket(title="Resuelto y asignado")
    services.assign(focal, t["done"].id, focal.id)
    services.transition(focal, t["done"].id, "resolver", comment="Listo.")
    t["late_done"] = make_ticket(title="Vencido pero resuelto")
    Ticket.update(due_at=now() - dt.timedelta(days=2)).where(
        Ticket.id == t["late_done"].id
    ).execute()
    stats.rebuild()  # tickets written behind the services' back
    services.transition(focal, t["late_done"].id, "resolver", comment="Listo.")
    t["other"] = make_ticket(user("interno_b"), title="De la institución B")
    return {k: Ticket.get_by_id(v.id).reference for k, v in t.items()}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("", {"mine", "aiq", "free", "late", "future", "escalated", "child"}),
        ("mine", {"mine"}),
        ("unassigned", {"free", "late", "future", "escalated", "child"}),
        ("overdue", {"late"}),
        ("waiting_sge", {"escalated"}),
        (
            "all",
            {"mine", "aiq", "free", "late", "future", "escalated", "child", "done", "late_done"},
        ),
    ],
)
def test_each_view_lists_exactly_its_tickets(client, auth, queue_world, view, expected):
    auth.login("focal")
    response = client.get("/cola/", query_string={"view": view} if view else {})
    assert response.status_code == 200
    assert _refs(response) == {queue_world[k] for k in expected}


def test_view_tabs_show_counts_and_mark_the_current_one(client, auth, queue_world):
    auth.login("focal")
    body = client.get("/cola/?view=overdue").get_data(as_text=True)
    tab = re.search(r'<a class="nav-link active"[^>]*data-testid="view-overdue">([^<]*)<', body)
    assert tab and "Vencidos" in tab.group(1)
    assert 'aria-current="page" data-testid="view-overdue"' in body
    counts = dict(
        re.findall(r'data-testid="view-(\w+)">[^<]*<span class="badge[^"]*">(\d+)<', body)
    )
    assert counts == {
        "open": "7",
        "mine": "1",
        "unassigned": "5",
        "overdue": "1",
        "waiting_sge": "1",
        "all": "9",
    }


def test_agq_queue_is_sges_second_level_only(client, auth, queue_world):
    auth.login("agq")
    body = client.get("/cola/").get_data(as_text=True)
    assert "Cola de SGE (segundo nivel)" in body
    assert _refs(client.get("/cola/")) == {queue_world["child"]}
    assert "view-waiting_sge" not in body  # SGE does not wait on itself
    assert 'for="flt-institucion"' in body


def test_filters_by_type_and_situation(client, auth, queue_world):
    auth.login("focal")
    escalation = TicketType.get(TicketType.slug == "escalamiento-sge")
    response = client.get(f"/cola/?tipo={escalation.id}")
    assert _refs(response) == {queue_world["child"]}
    assert _refs(client.get("/cola/?situacion=done")) == {
        queue_world["done"],
        queue_world["late_done"],
    }
    assert _refs(client.get("/cola/?situacion=waiting")) == {queue_world["escalated"]}


def test_a_filter_value_outside_its_options_is_ignored(client, auth, queue_world):
    auth.login("focal")
    b = user("interno_b").institution_id
    response = client.get(f"/cola/?institucion={b}&view=all")
    assert queue_world["other"] not in _refs(response)
    assert queue_world["done"] in _refs(response)


def test_search_finds_by_title_or_by_reference(client, auth, queue_world):
    auth.login("focal")
    assert _refs(client.get("/cola/", query_string={"search": "nadie"})) == {queue_world["free"]}
    reference = queue_world["late"]
    assert _refs(client.get("/cola/", query_string={"search": reference.lower()})) == {reference}
    number = reference.split("-")[1]
    assert _refs(client.get("/cola/", query_string={"search": number})) == {reference}
    assert _refs(client.get("/cola/", query_string={"search": queue_world["other"]})) == set()


def test_paging_and_sorting_links_keep_the_view_and_filters(client, auth, queue_world):
    auth.login("focal")
    body = client.get("/cola/?view=unassigned&situacion=open").get_data(as_text=True)
    sort_links = re.findall(r'href="(/cola/\?[^"]*sort=[^"]*)"', body)
    assert sort_links
    assert all("view=unassigned" in link and "situacion=open" in link for link in sort_links)
    # the filter form carries the view along as a hidden field
    assert '<input type="hidden" name="view" value="unassigned">' in body


def test_mis_tickets_lists_what_i_raised_open_or_closed(client, auth, queue_world):
    auth.login("interno")
    refs = _refs(client.get("/mis-tickets/"))
    assert queue_world["done"] in refs and queue_world["free"] in refs
    assert queue_world["child"] not in refs  # raised by the focal user, not by me
    assert queue_world["other"] not in refs
    assert client.get("/cola/").status_code == 404


def test_export_has_the_rows_of_the_view(client, auth, queue_world):
    auth.login("focal")
    csv = client.get("/cola/export/csv/?view=overdue").get_data(as_text=True)
    assert queue_world["late"] in csv
    assert queue_world["free"] not in csv
