"""Another institution's people, watching a rollout: they must see nothing of it, at any step.

Institution B has work of its own (a support ticket, and an escalation waiting in SGE's
queue beside the rollout's tickets), so its lists and counts are not trivially empty. At
every step of a walk, B's view of the world must be exactly what it was before the walk
began, and every one of the walk's tickets must answer "not found".
"""

import re

import pytest

from tests.conftest import PASSWORD, make_ticket, user
from ticketing import services
from ticketing.errors import NotFound, PermissionDenied
from ticketing.models import Attachment, Institution, Outbox, Ticket, User, now
from ticketing.visibility import (
    get_visible_ticket,
    visible_institutions,
    visible_tickets,
    visible_users,
)

OUTSIDERS = ("aiq_b", "focal_b", "interno_b")
AGENTS = ("aiq_b", "focal_b")  # the ones with queue, dashboard, people and institution screens


def b_at_work() -> list[Ticket]:
    """Institution B's own work: a support ticket, and one escalated to SGE."""
    interno_b, focal_b = user("interno_b"), user("focal_b")
    mine = make_ticket(interno_b, title="B: no imprime el oficio")
    escalated = make_ticket(interno_b, title="B: firma electrónica rechazada")
    services.transition(focal_b, escalated.id, "atender")
    services.transition(focal_b, escalated.id, "escalar", comment="B ya probó otro token.")
    return [mine, escalated]


def _ids(query, field) -> set[int]:
    return {row[0] for row in query.select(field).tuples()}


class OutsiderServices:
    """What B's people reach through the service layer, compared with before the walk."""

    def __init__(self):
        self.people = {key: user(key) for key in OUTSIDERS}
        self.baseline = {key: self._world(person) for key, person in self.people.items()}
        assert self.baseline["interno_b"]["tickets"], "B must have work of its own"

    @staticmethod
    def _world(person: User) -> dict:
        return {
            "tickets": _ids(visible_tickets(person), Ticket.id),
            "overdue": _ids(visible_tickets(person).where(Ticket.due_at < now()), Ticket.id),
            "institutions": _ids(visible_institutions(person), Institution.id),
            "people": _ids(visible_users(person), User.id),
            "mail": Outbox.select().where(Outbox.recipient_user == person.id).count(),
        }

    def check(self, path: list[Ticket], institution: Institution | None = None) -> None:
        """Nothing of `path` (or of `institution`) reached B: lists, counts, pages, mail."""
        assert path
        for key, person in self.people.items():
            assert self._world(person) == self.baseline[key], key
            for ticket in path:
                assert get_visible_ticket(person, ticket.id) is None, (key, ticket.title)
            if institution is not None:
                with pytest.raises(NotFound):
                    services.institution_overview(person, institution.id)
            with pytest.raises(PermissionDenied):
                services.rollout_pipeline(person)


def _normal(page: str) -> str:
    """A page without what changes from one request to the next (CSRF tokens)."""
    return re.sub(r'name="csrf_token"( type="hidden")? value="[^"]*"', "", page)


def _kpis(page: str) -> list[str]:
    """The dashboard's figures that do not depend on the calendar week."""
    totals = re.search(r'data-testid="dashboard-totals">(.*?)</dl>', page, re.S)[1]
    figures = re.findall(r"<dd>(\d+)</dd>", totals)
    tables = re.findall(r'data-testid="table-(?:backlog|deadlines)">(.*?)</table>', page, re.S)
    return [figures[0], figures[1], *tables]  # pending, overdue, and the two tables


class OutsiderBrowsers:
    """B's people signed in over HTTP (one client each) and calling the API with a token."""

    def __init__(self, app):
        from ticketing.api_tokens import create_token

        self.app = app
        self.clients, self.tokens = {}, {}
        self.asked_api: set[tuple[str, int]] = set()
        for key in OUTSIDERS:
            self.clients[key] = app.test_client()
            data = {"email": user(key).email, "password": PASSWORD}
            assert self._request(key, "POST", "/login", data=data).status_code == 302
            self.tokens[key] = create_token(user(key), name="outsider")[1]
        self.baseline = {key: self._snapshot(key, deep=True) for key in OUTSIDERS}

    def _request(self, key: str, method: str, url: str, **kwargs):
        # a fresh app context, as a server gives each request: the test's own context
        # outlives its requests, and what they leave in `g` (the signed-in user, a search)
        # must not leak into another person's request
        with self.app.app_context():
            return self.clients[key].open(url, method=method, **kwargs)

    def get(self, key: str, url: str):
        return self._request(key, "GET", url)

    def api(self, key: str, path: str):
        headers = {"Authorization": f"Bearer {self.tokens[key]}"}
        return self._request(key, "GET", f"/api/v1{path}", headers=headers)

    def _snapshot(self, key: str, *, deep=False) -> dict:
        # the queue page carries every view's count (open, mine, unassigned, overdue,
        # waiting for SGE, all), so one page of it answers for all of its views
        pages = ["/mis-tickets/"]
        if key in AGENTS:
            pages += ["/cola/?view=all", "/personas/", "/instituciones/"]
        if deep:
            pages += ["/", "/nuevo/"]
            if key in AGENTS:
                pages += ["/cola/", "/cola/?view=overdue", "/cola/export/csv/?view=all"]
        snapshot = {}
        for url in pages:
            response = self.get(key, url)
            assert response.status_code == 200, (key, url)
            snapshot[url] = _normal(response.get_data(as_text=True))
        if key in AGENTS:
            snapshot["/tablero/"] = _kpis(self.get(key, "/tablero/").get_data(as_text=True))
        snapshot["api"] = self.api(key, "/tickets?limit=100").get_json()
        return snapshot

    def check(self, path: list[Ticket], institution: Institution | None = None, *, deep=False):
        """B's lists, their counts, dashboard and API are as before; the walk's tickets and
        institution answer 404 (page and API).

        `deep` also compares every view and the CSV export, and tries every attachment, a
        search by reference and the state-changing routes (as at the end of a walk).
        """
        assert path
        for key in OUTSIDERS:
            seen = self._snapshot(key, deep=deep)
            for url, page in seen.items():
                assert page == self.baseline[key][url], f"{key} sees something new at {url}"
            for ticket in path:
                assert self.get(key, f"/ticket/{ticket.id}/").status_code == 404, (key, ticket)
                if deep or (key, ticket.id) not in self.asked_api:  # new since the last check
                    assert self.api(key, f"/tickets/{ticket.id}").status_code == 404, key
                    self.asked_api.add((key, ticket.id))
            if institution is not None:
                assert self.get(key, f"/institucion/{institution.id}/").status_code == 404
                assert self.api(key, f"/institutions/{institution.id}").status_code == 404
            if deep:
                self._deep(key, path, institution)

    def _deep(self, key, path, institution):
        for ticket in path:
            for attachment in list(Attachment.select().where(Attachment.ticket == ticket.id)):
                url = f"/ticket/{ticket.id}/attachment/{attachment.id}"
                assert self.get(key, url).status_code == 404
                url = f"/tickets/{ticket.id}/attachments/{attachment.id}"
                assert self.api(key, url).status_code == 404
            if key in AGENTS:
                page = self.get(key, f"/cola/?view=all&search={ticket.reference}")
                assert 'data-testid="list-count">0 resultados<' in page.get_data(as_text=True)
            for url, data in (
                (f"/ticket/{ticket.id}/transition", {"name": "completar"}),
                (f"/ticket/{ticket.id}/comment", {"body": "¿Qué es esto?"}),
                (f"/ticket/{ticket.id}/checklist/parametrizado", {"done": "1"}),
                (f"/ticket/{ticket.id}/edit", {"title": "x"}),
            ):
                assert self._request(key, "POST", url, data=data).status_code == 404, (key, url)
        assert self.get(key, "/implantacion/").status_code == 404
        if institution is not None:
            assert self.get(key, f"/seguimiento/{institution.id}/").status_code == 404
            url = f"/seguimiento/{institution.id}/agregar"
            assert self._request(key, "POST", url, data={"label": "x"}).status_code == 404
