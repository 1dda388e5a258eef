"""The dashboard shows the right numbers, to the right people only."""

import datetime as dt
import re

import pytest

from admin.dashboard import week_starts
from tests.conftest import make_ticket, user
from ticketing import services, stats
from ticketing.models import Institution, Ticket, now

ESCALATION = {"modulo": "firma_electronica", "descripcion": "Falla al firmar."}


def _table(body: str, testid: str) -> dict[str, list[str]]:
    """The rows of a dashboard data table, as {row header: [cells]}."""
    found = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', body, re.S)
    assert found, f"no table {testid}"
    rows = {}
    for header, cells in re.findall(
        r'<tr[^>]*><th scope="row">(.*?)</th>(.*?)</tr>', found.group(0), re.S
    ):
        rows[header.strip()] = re.findall(r"<td>(.*?)</td>", cells)
    return rows


def _numbers(client, url="/tablero/"):
    response = client.get(url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    weekly = {k: (int(v[0]), int(v[1])) for k, v in _table(body, "table-weekly").items()}
    backlog = {k: int(v[0]) for k, v in _table(body, "table-backlog").items()}
    deadlines = {k: int(v[0]) for k, v in _table(body, "table-deadlines").items()}
    stages = (
        {k: int(v[0]) for k, v in _table(body, "table-stages").items()}
        if 'data-testid="table-stages"' in body
        else None
    )
    return body, weekly, backlog, deadlines, stages


def _set(ticket, **columns):
    Ticket.update(**columns).where(Ticket.id == ticket.id).execute()
    stats.rebuild()  # tickets written behind the services' back


def _close(ticket, agent="focal"):
    services.transition(user(agent), ticket.id, "resolver", comment="Resuelto.")


@pytest.fixture
def world(app):
    """Institution A's tickets spread over past weeks, and B's, with known dates."""
    moment = now()
    weeks = week_starts(moment)
    day = dt.timedelta(days=1)
    past, future = moment - dt.timedelta(hours=2), moment + dt.timedelta(days=5)

    # closed late: opened in the oldest week, closed two weeks later, due in between
    late = make_ticket(title="A tarde")
    _close(late)
    _set(late, created_at=weeks[0] + day, closed_at=weeks[2] + day, due_at=weeks[1] + day)
    # closed on time, all within week 5
    on_time = make_ticket(title="A a tiempo")
    _close(on_time)
    _set(on_time, created_at=weeks[5] + day, closed_at=weeks[5] + 2 * day, due_at=weeks[6] + day)
    # opened and closed before the window: counted nowhere
    old = make_ticket(title="A antiguo")
    _close(old)
    old_day = weeks[0] - dt.timedelta(weeks=2)
    _set(old, created_at=old_day, closed_at=old_day + day, due_at=old_day)
    # open and overdue, this week
    overdue = make_ticket(title="A vencido")
    _set(overdue, created_at=moment, due_at=past)
    # escalated: the parent waits at level 1, the child is open at level 2
    waiting = make_ticket(title="A escalado")
    services.transition(user("focal"), waiting.id, "escalar", comment="No lo resolvemos.")
    _set(waiting, created_at=moment, due_at=future)
    child = Ticket.get(Ticket.parent == waiting.id)
    _set(child, created_at=moment, due_at=None)

    # institution B: one open overdue ticket, one escalated directly to SGE
    b_open = make_ticket(user("interno_b"), title="B vencido")
    _set(b_open, created_at=moment, due_at=past)
    b_child = make_ticket(user("focal_b"), "escalamiento-sge", title="B a SGE", fields=ESCALATION)
    _set(b_child, created_at=moment, due_at=None)
    b = Institution.get(Institution.sigla == "INSTB")
    services.set_stage(b.id, "capacitacion")
    return weeks


def _label(week: dt.datetime) -> str:
    return week.strftime("%d/%m/%Y")


def test_focal_sees_own_institution_numbers(client, auth, world):
    weeks = world
    auth.login("focal")
    body, weekly, backlog, deadlines, stages = _numbers(client)

    assert len(weekly) == 12
    assert weekly[_label(weeks[0])] == (1, 0)
    assert weekly[_label(weeks[2])] == (0, 1)
    assert weekly[_label(weeks[5])] == (1, 1)
    assert weekly[_label(weeks[11])] == (3, 0)  # overdue, escalated and its child
    assert sum(o for o, _c in weekly.values()) == 5
    assert sum(c for _o, c in weekly.values()) == 2

    assert backlog == {
        "Primer nivel · abiertos": 1,
        "Primer nivel · en espera": 1,
        "Segundo nivel (SGE) · abiertos": 1,
        "Segundo nivel (SGE) · en espera": 0,
    }
    assert deadlines == {
        "Cerrados a tiempo": 1,
        "Cerrados fuera de plazo": 1,
        "Abiertos y vencidos": 1,
        "Abiertos dentro del plazo": 1,
    }
    assert stages is None  # the stages of every institution are SGE's view
    # the charts say the same to someone hovering a bar
    assert "<title>Abiertos y vencidos: 1</title>" in body
    assert "<title>Primer nivel · en espera: 1</title>" in body
    assert re.search(r'data-testid="dashboard-totals".*?Pendientes</dt><dd>3<', body, re.S)


def test_other_institution_sees_nothing_of_a(client, auth, world):
    auth.login("focal_b")
    _body, weekly, backlog, deadlines, _stages = _numbers(client)
    # B has two tickets, both opened this week; nothing of A's five shows anywhere
    assert sum(o for o, _c in weekly.values()) == 2
    assert sum(c for _o, c in weekly.values()) == 0
    assert backlog == {
        "Primer nivel · abiertos": 1,
        "Primer nivel · en espera": 0,
        "Segundo nivel (SGE) · abiertos": 1,
        "Segundo nivel (SGE) · en espera": 0,
    }
    assert deadlines == {
        "Cerrados a tiempo": 0,
        "Cerrados fuera de plazo": 0,
        "Abiertos y vencidos": 1,
        "Abiertos dentro del plazo": 0,
    }


def test_aiq_sees_the_same_as_the_focal_user_of_its_institution(client, auth, world):
    auth.login("focal")
    focal_view = _numbers(client)[1:]
    auth.login("aiq")
    assert _numbers(client)[1:] == focal_view


def test_agq_sees_sge_queue_and_institutions_per_stage(client, auth, world):
    auth.login("agq")
    body, weekly, backlog, deadlines, stages = _numbers(client)
    # SGE's queue holds A's escalation child and B's escalation, both opened this week
    assert sum(o for o, _c in weekly.values()) == 2
    assert backlog == {
        "Segundo nivel (SGE) · abiertos": 2,
        "Segundo nivel (SGE) · en espera": 0,
    }
    assert sum(deadlines.values()) == 0  # neither has a due date
    assert stages == {
        "Solicitud": 0,
        "Capacitación": 1,
        "Ambiente de capacitación": 0,
        "Paso a producción": 0,
        "Producción": 1,
    }
    assert "<title>Capacitación: 1</title>" in body


def test_closing_a_ticket_moves_it_from_backlog_to_closed_this_week(client, auth, world):
    auth.login("focal")
    _body, weekly, backlog, _deadlines, _stages = _numbers(client)
    overdue = Ticket.get(Ticket.title == "A vencido")
    _close(overdue)
    _body, weekly_after, backlog_after, deadlines_after, _stages = _numbers(client)
    this_week = _label(world[11])
    assert weekly_after[this_week] == (weekly[this_week][0], weekly[this_week][1] + 1)
    assert backlog_after["Primer nivel · abiertos"] == backlog["Primer nivel · abiertos"] - 1
    # closed after its due date: a deadline missed, no longer an open overdue one
    assert deadlines_after["Cerrados fuera de plazo"] == 2
    assert deadlines_after["Abiertos y vencidos"] == 0


@pytest.mark.parametrize("role", ["interno", "interno_b"])
def test_internal_users_have_no_dashboard(app, client, auth, role):
    auth.login(role)
    assert client.get("/tablero/").status_code == 404
    assert "/tablero/" not in client.get("/").get_data(as_text=True)


def test_agents_find_the_dashboard_in_the_menu(app, client, auth):
    auth.login("focal")
    assert 'href="/tablero/"' in client.get("/").get_data(as_text=True)


def test_dashboard_requires_sign_in(app, client):
    response = client.get("/tablero/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_charts_are_inline_svg_with_labels_and_no_external_assets(app, client, auth):
    make_ticket()
    auth.login("focal")
    body = client.get("/tablero/").get_data(as_text=True)
    for chart in ("chart-weekly", "chart-backlog", "chart-deadlines"):
        svg = re.search(rf'<svg[^>]*data-testid="{chart}".*?</svg>', body, re.S)
        assert svg, chart
        assert 'role="img"' in svg.group(0) and "aria-labelledby" in svg.group(0)
        assert "<rect" in svg.group(0) and "<title>" in svg.group(0)
    assert not re.search(r'<script[^>]+src="https?://', body)
    assert not re.search(r'<link[^>]+href="https?://', body)
