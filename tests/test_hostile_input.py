"""Generated sweep: every URL rule × method × role, fed hostile values in every input.

For each role (and anonymous) every page the role can open is fetched once to discover the
forms it renders (their input, select, textarea and button names) and the query parameters
its links and GET forms use. Then every rule and method is sent each hostile value (NUL, a
lone surrogate, 100,000 characters, huge, negative and fractional numbers, deep nesting,
CRLF), the same value in every field of one request. No answer may be a server error, and
a request that was refused (4xx, an error flashed, a form back with a field's message) must
leave the row count of every table as it was. URL arguments are real ids of objects the
role may see; a route whose arguments have no case fails the test, so a new route needs one.
"""

import json
import re
import secrets
import traceback
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.api_tokens import create_token
from ticketing.db import db
from ticketing.fields import UploadedFile
from ticketing.invitations import invitation_token
from ticketing.models import (
    MODELS,
    Article,
    Attachment,
    CannedReply,
    DefaultTrackingItem,
    InboundMail,
    Institution,
    NotificationTemplate,
    Outbox,
    Queue,
    Ticket,
    TicketType,
    TrackingItem,
)

ROLES = ["interno", "focal", "aiq", "agq", "anonymous"]
SKIP_ENDPOINTS = {"static", "admin.static", "mesa_ui.static"}
DEEP = "[" * 1500 + "]" * 1500  # past the recursion limit of YAML's composer and of json
# the first value also tells whether the route is open to the role at all (see CLOSED)
HOSTILE = {
    "huge": str(2**64),
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    "long": "x" * 100_000,
    "negative": "-2147483649",
    "float": "1.5e308",
    "deep": DEEP,
    "crlf": "a\r\nBcc: intruso@example.com\r\n\r\nb",
}
# a route closed to the role (404, or sent to sign in) answers before it reads any input:
# after the first value it gets only these, which every request passes through
CLOSED = ("nul",)
# what a Flask-Admin list reads besides the filters its page shows
LIST_PARAMS = ("page", "sort", "desc", "search", "page_size", "despues")
# fields a POST route reads when no page of this role renders its form
FALLBACK_FIELDS = (
    "id",
    "rowid",
    "action",
    "name",
    "body",
    "comment",
    "internal",
    "done",
    "assignee",
    "version",
    "label",
    "note",
    "met",
    "title",
    "email",
    "password",
    "next",
    "scheduled_at",
    "on_behalf_of",
)
API_FIELDS = (
    "type",
    "title",
    "fields",
    "version",
    "name",
    "comment",
    "assignee",
    "body",
    "internal",
    "done",
    "scheduled_at",
)
API_QUERY = ("limit", "cursor", "queue", "institution", "state", "type", "updated_since")


def _documented_query(rule) -> tuple[str, ...]:
    """The query parameters OpenAPI documents for an API GET route: every one is probed
    (an undocumented name would only earn the 400 for unknown parameters)."""
    from api.openapi import spec

    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
    operation = spec()["paths"].get(path, {}).get("get", {})
    return tuple(p["name"] for p in operation.get("parameters", []) if p.get("in") == "query")


ERROR_MARKS = ("alert-danger", "is-invalid", "invalid-feedback")


class PageParser(HTMLParser):
    """The forms (action, method, fields) and link targets of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": [],
            }
            self.forms.append(self._form)
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag in ("input", "select", "textarea", "button") and attrs.get("name"):
            if self._form is not None:
                kind = attrs.get("type") or tag
                if tag == "button":
                    kind = "submit" if kind in ("button", "submit") else kind
                self._form["fields"].append((attrs["name"], kind, attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _world():
    """Objects of institution A each role may see, with a comment, a file and a note."""
    interno, focal = user("interno"), user("focal")
    ticket = make_ticket(
        interno,
        fields={"adjunto": UploadedFile("captura.txt", "text/plain", b"captura")},
    )
    services.add_comment(focal, ticket.id, "Revisando", internal=False)
    services.add_comment(focal, ticket.id, "Nota interna", internal=True)
    escalated = make_ticket(interno)
    services.transition(focal, escalated.id, "escalar", comment="Para SGE")
    sge_ticket = Ticket.get(Ticket.parent == escalated.id)
    services.add_comment(
        user("agq"),
        sge_ticket.id,
        "Adjunto",
        files=[UploadedFile("sge.txt", "text/plain", b"sge")],
    )
    a = Institution.get(Institution.sigla == "INSTA")
    own_article = services.create_article(
        user("aiq"),
        title="Artículo de INSTA",
        body="Cómo **firmar**.",
        tags=["firma"],
        category="Firma",
        language="es",
        status="published",
    )
    sge_article = Article.select().where(Article.institution.is_null()).order_by(Article.id).first()
    own_reply = services.create_reply(user("aiq"), name="De INSTA", body="Hola {{ solicitante }}")
    sge_reply = CannedReply.select().where(CannedReply.institution.is_null()).first()
    # A's queue (SGE's for the AGQ) with a declared day on its calendar
    a_queue = Queue.get(Queue.institution == a.id)
    sge_queue = Queue.get(Queue.level == 2)
    a_day = services.declare_day(user("aiq"), a_queue.id, "2026-03-06", working=False, label="x")
    sge_day = services.declare_day(
        user("agq"), sge_queue.id, "2026-03-06", working=False, label="x"
    )
    return {
        "queue": {"agq": sge_queue.id, "other": a_queue.id},
        "calendar_day": {"agq": sge_day.id, "other": a_day.id},
        "ticket": {"agq": sge_ticket.id, "other": ticket.id},
        "attachment": {
            "agq": Attachment.get(Attachment.ticket == sge_ticket.id).id,
            "other": Attachment.get(
                (Attachment.ticket == ticket.id) & (Attachment.internal == False)
            ).id,
        },
        "institution": a.id,
        "user": interno.id,
        "outbox": Outbox.select().order_by(Outbox.id).first().id,
        "inbound": (InboundMail.select().first() or _inbound()).id,
        "template": NotificationTemplate.select().order_by(NotificationTemplate.id).first().id,
        "tracking": TrackingItem.select().where(TrackingItem.institution == a.id).first().id,
        "default_tracking": DefaultTrackingItem.select().first().id,
        "type": TicketType.get(TicketType.slug == "soporte"),
        # an article each role may read (and its editors edit): SGE's for the AGQ
        "article": {"agq": sge_article.id, "other": own_article.id},
        # a canned reply each role may use (and its writers edit): SGE's for the AGQ
        "reply": {"agq": sge_reply.id, "other": own_reply.id},
    }


def _inbound():
    return InboundMail.create(
        sender="alguien@example.com", subject="Hola", raw=b"Subject: Hola\n\nx", reason="x"
    )


def _object_for(endpoint: str, world, role: str) -> int:
    """The id a Flask-Admin view's `?id=` names, for this role."""
    view = endpoint.split(".", 1)[0]
    return {
        "users": world["user"],
        "institutions": world["institution"],
        "outbox": world["outbox"],
        "inbound_mail": world["inbound"],
        "mail_templates": world["template"],
    }.get(view, _pick(world["ticket"], role))


def _pick(by_role: dict, role: str):
    return by_role.get(role, by_role["other"])


def _slug(endpoint: str, role: str, world) -> str:
    if endpoint == "institution.register":
        if role != "agq":
            return "soporte"
        people = [user("interno"), user("focal"), user("aiq")]
        slugs = [t.slug for p in people for t in services.openable_types(user("agq"), for_user=p)]
        return slugs[0] if slugs else "soporte"
    if role == "anonymous":
        return "soporte"
    types = services.openable_types(user(role))
    return types[0].slug if types else "soporte"


def _fill(rule, world, role):
    """Values for every argument of a rule; fails on an argument with no case."""
    endpoint = rule.endpoint
    providers = {
        "ticket_id": _pick(world["ticket"], role),
        "attachment_id": _pick(world["attachment"], role),
        "key": "reprodujo",
        "item": "reprodujo",
        "slug": _slug(endpoint, role, world),
        "export_type": "csv",
        "code": "es",
        "token": invitation_token(user("interno")),
        "institution_id": world["institution"],
        "user_id": world["user"],
        "token_id": world.get("token_id", 0),
        "item_id": world["default_tracking"]
        if endpoint == "tracking.remove_default"
        else world["tracking"],
        "type_id": world["type"].id,
        "article_id": _pick(world["article"], role),
        "notice_id": _notice_of(role),
        "reply_id": _pick(world["reply"], role),
        "queue_id": _pick(world["queue"], role),
        "day_id": _pick(world["calendar_day"], role),
        "person_id": world["user"],
    }
    values = {}
    for argument in rule.arguments:
        assert argument in providers, (
            f"route {rule.rule} ({endpoint}) has argument {argument!r} with no case in "
            "tests/test_hostile_input.py: add one"
        )
        values[argument] = providers[argument]
    return values


def _notice_of(role: str) -> int:
    """One of the role's own notices (the bell), or an id that names none."""
    from ticketing.models import Notice

    if role == "anonymous":
        return 1
    found = Notice.select(Notice.id).where(Notice.user == user(role).id).first()
    return found.id if found else 1


def _rows() -> tuple:
    """The row count of every table (and the sum of ticket versions), in one query."""
    parts = [f'(SELECT COUNT(*) FROM "{m._meta.table_name}")' for m in MODELS]
    parts.append('(SELECT COALESCE(SUM(version), 0) FROM "ticket")')
    return tuple(db.execute_sql("SELECT " + ", ".join(parts)).fetchone())


def _where(exc: BaseException) -> str:
    """The exception and the innermost line of Mesa's own code it came through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/.venv/" not in f.filename]
    place = (
        f" at {frames[-1].filename.rsplit('/work/main/', 1)[-1]}:{frames[-1].lineno}"
        if frames
        else ""
    )
    return f"{type(exc).__name__}: {str(exc)[:150]}{place}"


def _encode(pairs) -> bytes:
    """A urlencoded body; a lone surrogate goes out as the bytes a broken client sends."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _multipart(pairs, files) -> tuple[bytes, str]:
    boundary = "hostil" + secrets.token_hex(8)
    out = []
    for name, value in pairs:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8", "surrogatepass")
            + b"\r\n"
        )
    for name, filename in files:
        safe = filename.replace('"', "")
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{safe}"\r\nContent-Type: text/plain\r\n\r\n'.encode(
                "utf-8", "surrogatepass"
            )
            + b"contenido\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class Lost(Exception):
    """The sweep cannot go on: the request dropped the test database."""


class Sweep:
    def __init__(self, app, client, auth, role, world):
        self.app, self.client, self.auth, self.role, self.world = app, client, auth, role, world
        self.forms: dict[str, list[dict]] = {}  # action path -> forms posting there
        self.params: dict[str, set[str]] = {}  # path -> query parameters seen for it
        self.failures: list[str] = []
        self.requests = 0
        self.headers = {}
        self.memory = app.config["DB_KIND"] == "sqlite"
        self.closed = False
        if role != "anonymous":
            self.account = auth.login(role)
            row, secret = create_token(self.account, name="sweep")
            world["token_id"] = row.id
            self.headers = {"Authorization": f"Bearer {secret}"}

    def url_for(self, rule) -> str:
        from flask import url_for

        with self.app.test_request_context():
            return url_for(rule.endpoint, **_fill(rule, self.world, self.role))

    def page_url(self, rule) -> str:
        url = self.url_for(rule)
        if rule.endpoint.endswith("_view"):  # Flask-Admin reads the row from ?id=
            object_id = _object_for(rule.endpoint, self.world, self.role)
            url += "?" + urlencode({"id": object_id, "url": url})
        return url

    def discover(self, rules) -> None:
        """Fetch every page the role may open; keep the forms and link parameters."""
        for rule in rules:
            if "GET" not in rule.methods or rule.rule.startswith("/api/"):
                continue
            url = self.page_url(rule)
            response = self.client.get(url)
            page = response.get_data(as_text=True)
            response.close()
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            parser = PageParser()
            parser.feed(page)
            for form in parser.forms:
                target = urljoin(url, form["action"] or url)
                form["target"] = target
                path = urlsplit(target).path
                if form["method"] == "get":
                    self.params.setdefault(path, set()).update(n for n, *_ in form["fields"])
                else:
                    self.forms.setdefault(path, []).append(form)
            for link in parser.links:
                parts = urlsplit(urljoin(url, link))
                names = {k for k, _v in parse_qsl(parts.query, keep_blank_values=True)}
                self.params.setdefault(parts.path, set()).update(names)
            self.relogin_if_needed()

    def relogin_if_needed(self) -> None:
        if self.role == "anonymous":
            return
        with self.client.session_transaction() as session:
            signed_in = "_user_id" in session
        if not signed_in:
            self.auth.login(self.role)

    def flashed_errors(self) -> bool:
        with self.client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        return any(category == "error" for category, _m in flashes)

    def send(self, rule, method: str, value_name: str) -> None:
        value = HOSTILE[value_name]
        path = urlsplit(self.url_for(rule)).path
        what = f"{method} {path} as {self.role} with {value_name}"
        first = value_name == next(iter(HOSTILE))
        self.requests += 1
        try:
            response = self.open(rule, method, path, value)
        except Exception as exc:  # the test client re-raises what would have been a 500
            self.failures.append(f"{what}: {_where(exc)}")
            if self.memory and db.is_closed():
                raise Lost from exc
            self.before = _rows()
            self.relogin_if_needed()
            return
        data = response.get_data()  # a streamed export runs to its end here
        response.close()
        body = data.decode("utf-8", "replace") if response.mimetype == "text/html" else ""
        if response.status_code >= 500:
            self.failures.append(f"{what}: {response.status_code}")
        # a page shows (and so consumes) its flashed messages; a redirect leaves them
        redirected = 300 <= response.status_code < 400
        refused = (
            response.status_code >= 400
            or (redirected and self.flashed_errors())
            or any(mark in body for mark in ERROR_MARKS)
        )
        if self.memory and db.is_closed():  # a 503 dropped SQLite's in-memory database
            self.failures.append(f"{what}: the database connection was dropped")
            raise Lost
        after = _rows()
        if (refused or method == "GET") and after != self.before:
            self.failures.append(f"{what}: refused ({response.status_code}) but rows changed")
        self.before = after
        if first:
            to_login = redirected and urlsplit(response.location or "").path == "/login"
            self.closed = response.status_code == 404 or to_login
        if redirected and rule.endpoint != "auth.logout":  # signing out is probed last
            self.relogin_if_needed()

    def open(self, rule, method: str, path: str, value: str):
        if rule.rule.startswith("/api/"):
            return self.send_api(rule, method, value)
        if method == "GET":
            names = self.params.get(path, set())
            if rule.endpoint.endswith("_view"):  # what Flask-Admin reads besides its filters
                names = names | set(
                    LIST_PARAMS if rule.endpoint.endswith("index_view") else ("id", "url")
                )
            query = _encode([(n, value) for n in sorted(names)]).decode()
            return self.client.get(f"{path}?{query}")
        return self.send_form(rule, path, value)

    def send_form(self, rule, path: str, value: str):
        forms = self.forms.get(path, [])
        target = forms[0]["target"] if forms else self.page_url(rule)
        fields = [f for form in forms for f in form["fields"]]
        if not fields:
            fields = [(name, "text", "") for name in FALLBACK_FIELDS]
        pairs, files, seen = [], [], set()
        for name, kind, _rendered in fields:
            if name in seen or name == "csrf_token":
                continue
            seen.add(name)
            if kind == "submit":  # a button sends what it says, not what one types
                choices = [v for n, k, v in fields if n == name and k == "submit"]
                pairs.append((name, next((c for c in choices if "save" in c), choices[0])))
            elif kind == "file":
                files.append((name, value[:200] + ".txt"))
            else:
                pairs.append((name, value))
        if files:
            data, content_type = _multipart(pairs, files)
        else:
            data, content_type = _encode(pairs), "application/x-www-form-urlencoded"
        return self.client.post(target, data=data, content_type=content_type)

    def send_api(self, rule, method: str, value: str):
        url = self.url_for(rule)
        number = {"huge": 2**64, "negative": -(2**31) - 1, "float": 1.5e308}
        value_json = number.get(next(k for k, v in HOSTILE.items() if v == value), value)
        if value == DEEP:
            value_json = json.loads("[" * 900 + "]" * 900)
        if method == "GET":
            names = _documented_query(rule) or API_QUERY
            query = _encode([(n, value) for n in names]).decode()
            return self.client.get(f"{url}?{query}", headers=self.headers)
        body = json.dumps({n: value_json for n in API_FIELDS})
        return self.client.open(
            url, method=method, data=body, content_type="application/json", headers=self.headers
        )


@pytest.mark.parametrize("role", ROLES)
def test_no_hostile_input_gets_a_server_error_or_writes_when_refused(app, client, auth, role):
    # Flask-Admin would hide a database error behind a flashed "Failed to create record"
    app.config["ADMIN_RAISE_ON_VIEW_EXCEPTION"] = True
    world = _world()
    sweep = Sweep(app, client, auth, role, world)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS]
    rules.sort(key=lambda r: (r.endpoint == "auth.logout", r.rule))
    sweep.discover(rules)
    assert sweep.forms, "no form discovered: the sweep would probe nothing"
    sweep.before = _rows()
    try:
        for rule in rules:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                sweep.closed = False
                for value_name in HOSTILE:
                    if sweep.closed and value_name not in CLOSED:
                        continue
                    sweep.send(rule, method, value_name)
    except Lost:
        pass
    else:
        assert sweep.requests > 250
    assert not sweep.failures, "\n".join(sweep.failures[:60])


def test_positive_control_the_sweep_catches_a_500_and_a_refused_write(app, client, auth):
    """The same probes report a view that fails and a refusal that still wrote a row."""
    world = _world()
    sweep = Sweep(app, client, auth, "focal", world)
    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    sweep.before = _rows()
    original = app.view_functions["dashboard.index"]

    def broken():
        raise RuntimeError("falla a propósito")

    app.view_functions["dashboard.index"] = broken
    try:
        sweep.send(rules["dashboard.index"], "GET", "long")
    finally:
        app.view_functions["dashboard.index"] = original
    assert sweep.failures and "RuntimeError" in sweep.failures[0]

    sweep.failures.clear()
    create_token(user("focal"), name="escrito a escondidas")  # as if the refused post wrote it
    sweep.send(rules["tickets.index_view"], "GET", "nul")  # refused with 400
    assert sweep.failures and "rows changed" in sweep.failures[0]
