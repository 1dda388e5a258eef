"""The maintained ticket figures: always equal to a recount, and what the queues show.

A seeded random walk drives tickets through every service that changes them (open,
assign, transitions with their effects: escalation to SGE, resolution, closing) and
recounts after each step. The queue's tabs and totals, for every role, view and filter,
are checked against a plain count of the tickets the user sees. No request path counts
the ticket table: every COUNT over it that a page or API call runs is capped by a LIMIT.
"""

import datetime as dt
import random
import re

import pytest

from admin import tickets as ticket_screens
from tests.conftest import make_ticket, user
from ticketing import services, stats
from ticketing.db import count_queries
from ticketing.errors import DomainError
from ticketing.models import ACTIVE_CATEGORIES, STATE_CATEGORIES, Ticket, TicketType, now
from ticketing.visibility import visible_tickets

ESCALATION = {"modulo": "reportes", "descripcion": "El reporte no carga."}
AGENTS = ("focal", "aiq", "agq", "focal_b", "aiq_b")


def _walk(steps: int, seed: int) -> list[str]:
    """Random service calls on a few tickets; the figures are recounted after each one."""
    rng = random.Random(seed)
    requesters = ["interno", "interno_b", "focal", "aiq"]
    tickets = [make_ticket(user(rng.choice(requesters))) for _ in range(4)]
    tickets.append(make_ticket(user("focal"), "escalamiento-sge", fields=ESCALATION))
    done = []
    for step in range(steps):
        ticket = Ticket.get_by_id(rng.choice(tickets).id)
        actor = user(rng.choice(AGENTS))
        choice = rng.random()
        try:
            if choice < 0.15:
                tickets.append(make_ticket(user(rng.choice(requesters))))
                done.append("open")
            elif choice < 0.4:
                people = [user(k) for k in ("focal", "aiq", "agq")]
                assignee = rng.choice([*people, None])
                services.assign(actor, ticket.id, assignee.id if assignee else None)
                done.append("assign")
            else:
                moves = [
                    t
                    for t in services.available_transitions(actor, ticket, comment="Paso.")
                    if t["allowed"]
                ]
                if not moves:
                    continue
                move = rng.choice(moves)
                services.transition(actor, ticket.id, move["name"], comment=f"Paso {step}.")
                done.append(move["name"])
        except DomainError:
            pass  # refused (visibility, guards): nothing changed
        assert stats.differences() == [], f"after step {step}: {done[-1:]}"
        tickets.extend(
            Ticket.select().where(Ticket.id.not_in([t.id for t in tickets])).limit(3)
        )  # steps opened by effects join the walk
    return done


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_figures_equal_a_recount_after_every_service_change(app, seed):
    done = _walk(40, seed)
    assert {"open", "assign"} <= set(done)
    assert len(set(done)) >= 4, done  # transitions were taken, not only refused


def test_rebuild_restores_figures_written_around_the_services(app):
    ticket = make_ticket()
    Ticket.update(state_category="done", closed_at=now()).where(Ticket.id == ticket.id).execute()
    assert stats.differences()
    stats.rebuild()
    assert stats.differences() == []


def _badges(client, url) -> dict[str, str]:
    body = client.get(url).get_data(as_text=True)
    found = re.findall(
        r'data-testid="view-([\w-]+)">[^<]*<span class="badge[^"]*">([^<]+)</span>', body
    )
    return dict(found)


def _expected(who, view: str, chosen: dict) -> int:
    account = user(who)
    query = visible_tickets(account)
    if "situacion" in chosen:
        query = query.where(Ticket.state_category == chosen["situacion"])
    if "tipo" in chosen:
        query = query.where(Ticket.type == int(chosen["tipo"]))
    active = Ticket.state_category.in_(ACTIVE_CATEGORIES)
    clauses = {
        "open": active,
        "mine": active & (Ticket.assignee == account.id),
        "unassigned": active & Ticket.assignee.is_null(),
        "overdue": active & (Ticket.due_at < now()),
        "waiting_sge": Ticket.waiting_on.is_null(False) & (Ticket.state_category == "waiting"),
        "all": Ticket.id.is_null(False),
    }
    return query.where(clauses[view]).count()


def _filter_choices():
    soporte = TicketType.get(TicketType.slug == "soporte").id
    yield {}
    for category in STATE_CATEGORIES:
        yield {"situacion": category}
    yield {"tipo": str(soporte)}
    yield {"tipo": str(soporte), "situacion": "open"}


@pytest.mark.parametrize("who", ["focal", "aiq", "agq", "focal_b"])
def test_every_tab_count_equals_a_count_of_the_visible_tickets(app, client, auth, who):
    _walk(25, seed=7)
    late = make_ticket()
    Ticket.update(due_at=now() - dt.timedelta(days=1)).where(Ticket.id == late.id).execute()
    stats.rebuild()  # a due date in the past, written behind the services' back
    auth.login(who)
    for chosen in _filter_choices():
        query = "&".join(f"{k}={v}" for k, v in chosen.items())
        badges = _badges(client, f"/cola/?{query}")
        assert badges, f"no tabs on /cola/?{query}"
        for view, shown in badges.items():
            assert shown == str(_expected(who, view, chosen)), (who, view, chosen)


def test_capped_counts_say_more_than_the_cap(app, client, auth, monkeypatch):
    for _ in range(5):
        ticket = make_ticket()
        Ticket.update(due_at=now() - dt.timedelta(days=1)).where(Ticket.id == ticket.id).execute()
    stats.rebuild()
    monkeypatch.setattr(ticket_screens, "COUNT_CAP", 3)
    auth.login("focal")
    assert _badges(client, "/cola/")["overdue"] == "3+"
    body = client.get("/cola/?view=overdue").get_data(as_text=True)
    assert "Más de 3 resultados" in body
    assert _badges(client, "/cola/")["open"] == "5"  # kept figures are exact, never capped


def test_cola_pages_by_keyset_through_every_open_ticket_once(app, client, auth):
    made = [make_ticket() for _ in range(57)]
    tied = now().replace(microsecond=0)
    Ticket.update(updated_at=tied).where(Ticket.id.in_([t.id for t in made[10:40]])).execute()
    auth.login("focal")
    expected = [
        t.id
        for t in visible_tickets(user("focal"))
        .where(Ticket.state_category.in_(ACTIVE_CATEGORIES))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    ]
    seen, url, pages = [], "/cola/", 0
    while url:
        body = client.get(url).get_data(as_text=True)
        pages += 1
        seen += [int(i) for i in re.findall(r'<a href="/ticket/(\d+)/">MESA-', body)]
        if pages > 1:
            assert 'data-testid="first-page"' in body
        link = re.search(r'href="([^"]+)" rel="next"', body)
        url = link.group(1).replace("&amp;", "&") if link else None
        assert pages < 10
    assert seen == expected
    assert pages == -(-len(expected) // 25)


def _ticket_counts_without_limit(statements) -> list[str]:
    unbounded = []
    for sql in statements:
        inner = re.sub(r'AS "_wrapped" LIMIT \S+$', "", sql)  # peewee's LIMIT on the count
        if 'FROM "ticket"' in sql and re.search(r"\b(COUNT|SUM)\(", sql) and "LIMIT" not in inner:
            unbounded.append(sql)
    return unbounded


REQUESTS = [
    ("focal", "/cola/"),
    ("focal", "/cola/?view=all"),
    ("focal", "/cola/?view=overdue"),
    ("focal", "/cola/?view=mine&situacion=open"),
    ("focal", "/cola/?search=Ticket"),
    ("agq", "/cola/"),
    ("agq", "/cola/?view=all&sort=1"),
    ("interno", "/mis-tickets/"),
    ("focal", "/tablero/"),
    ("agq", "/tablero/"),
]


@pytest.mark.parametrize(("who", "url"), REQUESTS)
def test_no_page_counts_the_ticket_table(app, client, auth, who, url):
    for _ in range(3):
        make_ticket()
        make_ticket(user("focal"), "escalamiento-sge", fields=ESCALATION)
    auth.login(who)
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert statements, "no statement was counted"
    assert _ticket_counts_without_limit(statements) == []


def test_the_unbounded_count_detector_sees_a_plain_count(app):
    with count_queries() as statements:
        Ticket.select().count()
    assert _ticket_counts_without_limit(statements)
