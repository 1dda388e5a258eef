"""Ticket screens: queues, Mis tickets, Nuevo ticket and the ticket page."""

import secrets

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from peewee import Case, fn

from admin.base import FilterFormMixin, ListFilter, RoleView, ScopedModelView, bounded_id
from admin.export import SafeCsvExportMixin
from ticketing import paging, services
from ticketing import search as full_text
from ticketing.attachments import download_response, inline_response, preview_kind
from ticketing.definitions import ticket_definition
from ticketing.errors import DomainError, TooLarge, ValidationFailed
from ticketing.fields import (
    UploadedFile,
    build_form_class,
    make_form,
    raw_from_form,
)
from ticketing.fields.display import display_html
from ticketing.markup import render_comment
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGENT_ROLES,
    AGQ,
    AIQ,
    DONE,
    FOCAL,
    SECOND_LEVEL,
    STAGE_LABELS,
    WAITING,
    Institution,
    Ticket,
    TicketType,
    User,
    now,
)
from ticketing.models.stats import NO_ASSIGNEE, TicketCount
from ticketing.services.bulk import BULK_MAX
from ticketing.services.bulk import TRANSITION as BULK_TRANSITION
from ticketing.visibility import (
    get_visible_ticket,
    sees_internal,
    visible_attachments,
    visible_comments,
    visible_events,
    visible_institutions,
    visible_ticket_counts,
    visible_tickets,
    with_list_relations,
)

DEFLECTION_TOKEN_BYTES = 16  # secrets.token_urlsafe: 22 characters
STATE_BADGES = {"open": "primary", "waiting": "warning", "done": "success", "rejected": "secondary"}


def state_label(ticket) -> str:
    english = str(get_locale()) == "en"
    for state in ticket_definition(ticket)["states"]:
        if state["key"] == ticket.state:
            return (state.get("label_en") if english else None) or state["label"]
    return ticket.state


def _reference_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("ticket.details", ticket_id=model.id), model.reference
    )


def _title_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(
        url_for("ticket.details", ticket_id=model.id), model.title
    )


def _state(view, context, model, name):
    badge = STATE_BADGES.get(model.state_category, "secondary")
    return Markup('<span class="badge badge-{}">{}</span>').format(badge, state_label(model))


def _due(view, context, model, name):
    if not model.due_at:
        return ""
    text = model.due_at.strftime("%Y-%m-%d")
    if model.is_overdue:
        return Markup('<span class="badge badge-danger" title="{}">{} · {}</span>').format(
            _("Vencido"), text, _("Vencido")
        )
    return text


def _person(attr):
    def formatter(view, context, model, name):
        person = getattr(model, attr, None)
        return person.full_name if person is not None else ""

    return formatter


VIEW_CLAUSES = {
    "mine": lambda user: Ticket.assignee == user.id,
    "unassigned": lambda user: Ticket.assignee.is_null(),
    "overdue": lambda user: Ticket.due_at < now(),
    "waiting_sge": lambda user: (
        Ticket.waiting_on.is_null(False) & (Ticket.state_category == "waiting")
    ),
}


# a count a page cannot take from the maintained figures stops here ("más de 1.000")
COUNT_CAP = 1000
CURSOR_ARG = "despues"  # the keyset position of the next page of a list in its default order


class Figure(int):
    """A count that reads "1000+" once past the cap (its value is then `COUNT_CAP` + 1)."""

    def __str__(self):
        return f"{COUNT_CAP}+" if self > COUNT_CAP else int.__str__(self)


def capped_count(query) -> Figure:
    """How many rows `query` has, reading at most `COUNT_CAP` + 1 of them."""
    return Figure(query.select(Ticket.id).order_by().limit(COUNT_CAP + 1).count())


def _listing() -> dict:
    """What this request's list was asked for (search, cursor), kept on the request
    itself: `g` can outlive a request when an outer app context is pushed."""
    return request.environ.setdefault("mesa.listing", {})


def _counts_in_view(view: str, user):
    """The `TicketCount` rows of one of the queue's views (None: not kept as a figure)."""
    active = TicketCount.state_category.in_(ACTIVE_CATEGORIES)
    if view == "all":
        return TicketCount.id.is_null(False)
    if view == "":
        return active
    if view == "mine":
        return active & (TicketCount.assignee == user.id)
    if view == "unassigned":
        return active & (TicketCount.assignee == NO_ASSIGNEE)
    if view == "waiting_sge":
        return (TicketCount.state_category == WAITING) & (TicketCount.waits == True)
    return None


def _in_view(query, view: str, user):
    """Narrow a ticket query to one of the queue's ready-made views (all but "all" are open)."""
    if view == "all":
        return query
    query = query.where(Ticket.state_category.in_(ACTIVE_CATEGORIES))
    clause = VIEW_CLAUSES.get(view)
    return query.where(clause(user)) if clause else query


def _state_options():
    return [
        ("open", _("Abierto")),
        ("waiting", _("En espera")),
        ("done", _("Resuelto")),
        ("rejected", _("Rechazado")),
    ]


def _type_options():
    english = str(get_locale()) == "en"
    return [
        (str(t.id), (t.name_en if english else "") or t.name)
        for t in TicketType.select().order_by(TicketType.order, TicketType.name)
    ]


class TicketListView(SafeCsvExportMixin, FilterFormMixin, ScopedModelView):
    """A queue: the tickets the user may see, with ready-made views and filters."""

    roles = (FOCAL, AIQ, AGQ)
    can_create = can_edit = can_delete = False
    can_view_details = False
    column_display_actions = False
    can_export = True
    export_types = ["csv"]
    list_template = "mesa/ticket_list.html"
    show_new_ticket = False
    column_list = [
        "id",
        "title",
        "type",
        "state",
        "institution",
        "requester",
        "assignee",
        "due_at",
        "updated_at",
    ]
    column_labels = {
        "id": _l("Ref."),
        "title": _l("Título"),
        "type": _l("Tipo"),
        "state": _l("Estado"),
        "institution": _l("Institución"),
        "requester": _l("Solicitante"),
        "assignee": _l("Asignado a"),
        "due_at": _l("Vence"),
        "updated_at": _l("Actualizado"),
    }
    column_formatters = {
        "id": _reference_link,
        "title": _title_link,
        "state": _state,
        "due_at": _due,
        "updated_at": lambda v, c, m, n: m.updated_at.strftime("%Y-%m-%d %H:%M"),
        "type": lambda v, c, m, n: m.type.name,
        "institution": lambda v, c, m, n: m.institution.sigla,
        "requester": _person("requester"),
        "assignee": _person("assignee"),
    }
    column_formatters_export = {
        "id": lambda v, c, m, n: m.reference,
        "state": lambda v, c, m, n: state_label(m),
        "type": lambda v, c, m, n: m.type.name,
        "institution": lambda v, c, m, n: m.institution.sigla,
        "requester": _person("requester"),
        "assignee": _person("assignee"),
    }
    column_sortable_list = ["id", "title", "due_at", "updated_at", "state"]
    column_default_sort = [("updated_at", True), ("id", True)]  # the keyset order
    simple_list_pager = True  # no COUNT(*) of the list: see `get_list`
    # Flask-Admin shows its search box for a searchable column; the words are looked up
    # by the full-text search (`get_list`), never by Flask-Admin's LIKE over the title
    column_searchable_list = ["title"]
    search_label = _l("Palabras o referencia (MESA-…)")

    def ticket_views(self) -> dict:
        """The ready-made views this user's queue offers, in tab order."""
        views = {
            "": _l("Abiertos"),
            "mine": _l("Asignados a mí"),
            "unassigned": _l("Sin asignar"),
            "overdue": _l("Vencidos"),
        }
        if current_user.role != AGQ:
            views["waiting_sge"] = _l("Esperando a SGE")
        views["all"] = _l("Todos")
        return views

    def current_view(self) -> str:
        view = request.args.get("view", "")
        return view if view in self.ticket_views() else ""

    def list_filters(self):
        filters = [
            ListFilter(
                "situacion",
                _l("Situación"),
                _state_options,
                lambda q, v: q.where(Ticket.state_category == v),
                lambda q, v: q.where(TicketCount.state_category == v),
            ),
            ListFilter(
                "tipo",
                _l("Tipo"),
                _type_options,
                lambda q, v: q.where(Ticket.type == int(v)),
                lambda q, v: q.where(TicketCount.type == int(v)),
            ),
        ]
        if current_user.role == AGQ:
            filters.append(
                ListFilter(
                    "institucion",
                    _l("Institución"),
                    lambda: [
                        (str(i.id), i.sigla)
                        for i in visible_institutions(current_user).order_by(Institution.sigla)
                    ],
                    lambda q, v: q.where(Ticket.institution == int(v)),
                    lambda q, v: q.where(TicketCount.institution == int(v)),
                )
            )
        return filters

    def base_query(self):
        """What the list starts from, before the view and the search."""
        return visible_tickets(current_user)

    def scope(self):
        query = self.apply_filters(with_list_relations(self.base_query()))
        if _listing().get("searched"):
            found = _listing().get("found")  # None: the search had no word to look for
            query = query.where(Ticket.id.in_(found) if found is not None else Ticket.id.is_null())
        position = _listing().get("after")
        if position is not None:
            query = paging.after(query, position, newest_first=True)
        view = self.current_view()
        if view == "" and "situacion" in self.filter_values():
            return query  # a chosen situation replaces the default "open only"
        return _in_view(query, view, current_user)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """The page's rows, and the list's size from the maintained figures or a capped count.

        In its default order (newest first) a list pages by keyset: `despues` names the
        last row of the page before. Flask-Admin's own count (a COUNT(*) of the whole
        list, joins and all) is never run: `simple_list_pager` turns it off. A search
        narrows the list to the tickets the full-text search finds (words, "phrases",
        -exclusions, or a reference such as MESA-12), as one subquery.
        """
        if search and search.strip():
            _listing()["searched"] = True
            _listing()["found"] = full_text.matching_ticket_ids(current_user, search)
        search = None
        keyset = _listing()["keyset"] = sort_column is None
        position = paging.decode_cursor(request.args.get(CURSOR_ARG, "")) if keyset else None
        if position is not None:
            _listing()["after"], page = position, 0
        _count, rows = super().get_list(
            page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size
        )
        return self.list_total(search, filters), rows

    def list_total(self, search, filters) -> int:
        """How many tickets the list holds (`COUNT_CAP` + 1: more than `COUNT_CAP`)."""
        view = self.current_view()
        if not search and not _listing().get("searched"):
            if view == "" and "situacion" in self.filter_values():
                view = "all"  # a chosen situation replaces the default "open only"
            figures = self.counts_of_views() if view in self.ticket_views() else None
            if figures is not None and _counts_in_view(view, current_user) is not None:
                return figures[view]
        position = _listing().pop("after", None)  # the whole list, not what follows the cursor
        try:
            _count, query = super().get_list(
                0, None, None, search, filters, execute=False, page_size=COUNT_CAP + 1
            )
        finally:
            _listing()["after"] = position
        return Figure(query.order_by().count())

    def get_one(self, id):
        ticket_id = bounded_id(id)
        return get_visible_ticket(current_user, ticket_id) if ticket_id else None

    def get_empty_list_message(self):
        if _listing().get("searched") and _listing().get("found") is None:
            return _("Escriba al menos una palabra para buscar.")
        if _listing().get("searched"):
            return _("Ningún ticket de esta vista coincide con la búsqueda.")
        return _("No hay tickets en esta vista.")

    def counts_of_views(self) -> dict | None:
        """`view_counts` of every tab, computed once per request (tabs and total share it)."""
        kept = request.environ  # the request's own: `g` can outlive it (an outer app context)
        if "mesa.view_counts" not in kept:
            kept["mesa.view_counts"] = self.view_counts(self.ticket_views())
        return kept["mesa.view_counts"]

    def view_counts(self, views) -> dict | None:
        """How many tickets each view holds (with the chosen filters).

        One query over the maintained figures (`TicketCount`), whatever the number of
        tickets; "Vencidos" depends on the clock, so it is a capped count of the overdue
        index. None when the user's tickets are not kept as figures (Mis tickets).
        """
        figures = visible_ticket_counts(current_user)
        if figures is None:
            return None
        figures = self.apply_filters(figures, counts=True)
        kept = [key for key in views if _counts_in_view(key, current_user) is not None]
        columns = [
            fn.COALESCE(
                fn.SUM(Case(None, [(_counts_in_view(key, current_user), TicketCount.n)], 0)), 0
            )
            for key in kept
        ]
        result = dict(zip(kept, figures.select(*columns).tuples().first(), strict=True))
        if "overdue" in views:
            overdue = _in_view(self.apply_filters(self.base_query()), "overdue", current_user)
            result["overdue"] = capped_count(overdue)
        return {key: result[key] if key == "overdue" else int(result[key]) for key in views}

    def next_cursor(self, rows) -> str | None:
        """The `despues` of the next page in the default order (None: no next, or sorted)."""
        if not _listing().get("keyset") or len(rows) < self.page_size:
            return None
        return paging.encode_cursor(rows[-1])

    def list_heading(self) -> str:
        if current_user.role == AGQ:
            return _("Cola de SGE (segundo nivel)")
        return _("Cola de la mesa de ayuda de %(s)s", s=current_user.institution.sigla)

    bulk_actions = True  # rows can be selected for one change (Cola; not Mis tickets)

    def bulk_options(self, rows) -> dict | None:
        """What the bulk form offers for these rows: people to assign to and the
        transitions some selected row might take (each row is checked when applied)."""
        if not self.bulk_actions or current_user.role not in AGENT_ROLES or not rows:
            return None
        english = str(get_locale()) == "en"
        transitions: dict[str, str] = {}
        for row in rows:
            for tr in ticket_definition(row)["transitions"]:
                if tr.get("from") and row.state not in tr["from"]:
                    continue
                if not services.role_allowed(current_user, row, tr.get("roles") or []):
                    continue
                transitions.setdefault(
                    tr["name"], (tr.get("label_en") if english else "") or tr["label"]
                )
        people = services.colleagues_who_answer(current_user).select(User.id, User.full_name)
        return {
            "transitions": transitions,
            "people": [(u.id, u.full_name) for u in people],
            "max": BULK_MAX,
        }

    @expose("/lote", methods=["POST"])
    def bulk(self):
        """One change to the selected rows, each through its own service call."""
        if not self.bulk_actions or current_user.role not in AGENT_ROLES:
            abort(404)
        back = request.form.get("url", "")
        if not back.startswith(self.url + "/") and back != self.url:
            back = url_for(".index_view")
        action = request.form.get("accion", "")
        name = ""
        if action.startswith(BULK_TRANSITION + ":"):
            action, name = action.split(":", 1)
        try:
            results = services.bulk_action(
                current_user,
                request.form.getlist("rowid"),
                action,
                assignee_id=request.form.get("asignado") or None,
                transition_name=name,
                comment=request.form.get("comentario", ""),
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(back)
        done = [r.reference for r in results if r.done]
        if done:
            flash(
                _("Hecho en %(n)s ticket(s): %(refs)s.", n=len(done), refs=", ".join(done)),
                "success",
            )
        for row in results:
            if not row.done:
                flash(
                    _("%(ref)s no se cambió: %(why)s", ref=row.reference, why=row.refusal), "error"
                )
        return redirect(back)

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.setdefault("bulk", self.bulk_options(kwargs.get("data") or []))
            views = self.ticket_views()
            kwargs.setdefault("ticket_views", views)
            kwargs.setdefault("current_ticket_view", self.current_view())
            kwargs.setdefault(
                "view_counts", (self.counts_of_views() or {}) if len(views) > 1 else {}
            )
            count = kwargs.get("count")
            kwargs.setdefault("count_capped", isinstance(count, Figure) and count > COUNT_CAP)
            kwargs.setdefault("count_cap", COUNT_CAP)
            kwargs.setdefault("next_cursor", self.next_cursor(kwargs.get("data") or []))
            keyset = {k: v for k, v in request.args.items() if k not in (CURSOR_ARG, "page")}
            kwargs.setdefault("keyset_args", keyset if _listing().get("keyset") else None)
            kwargs.setdefault("list_heading", self.list_heading())
            kwargs.setdefault("show_new_ticket", self.show_new_ticket)
        return super().render(template, **kwargs)


class MyTicketsView(TicketListView):
    """Mis tickets: what the signed-in person raised, open or closed."""

    roles = ()
    can_export = False
    bulk_actions = False
    show_new_ticket = True

    def bulk(self):  # not exposed: Mis tickets has no bulk actions (and so no /lote route)
        abort(404)

    column_list = ["id", "title", "type", "state", "assignee", "due_at", "updated_at"]

    def ticket_views(self):
        return {"all": _l("Todos")}

    def current_view(self):
        return "all"

    def list_filters(self):
        return [
            ListFilter(
                "situacion",
                _l("Situación"),
                _state_options,
                lambda q, v: q.where(Ticket.state_category == v),
            )
        ]

    def base_query(self):
        return visible_tickets(current_user).where(Ticket.requester == current_user.id)

    def view_counts(self, views):
        return None  # figures are not kept per requester: the list is counted, capped

    def get_empty_list_message(self):
        if _listing().get("searched"):
            return super().get_empty_list_message()
        return _("Aún no ha registrado tickets.")

    def list_heading(self):
        return _("Mis tickets")


class NewTicketView(RoleView):
    """Nuevo ticket: choose a type the user may open, fill its generated form."""

    @expose("/")
    def index(self):
        return self.render("mesa/new_ticket.html", types=services.openable_types(current_user))

    @expose("/<slug>/", methods=["GET", "POST"])
    def form(self, slug):
        ticket_type = next(
            (t for t in services.openable_types(current_user) if t.slug == slug), None
        )
        if ticket_type is None:
            abort(404)
        version = services.current_version(ticket_type)
        defn = version.definition
        locale = getattr(current_user, "locale", "es")
        form_class = build_form_class(version.id, defn["fields"], locale)
        people = services.people_of(current_user.institution_id)
        form = make_form(form_class, people=people)
        # names this filling of the form: the suggestions read from it are counted against
        # the ticket it opens, if it opens one (a form sent back with errors keeps its name)
        token = request.form.get("deflection_token", "") if request.method == "POST" else ""
        if not services.deflection_token_ok(token):
            token = secrets.token_urlsafe(DEFLECTION_TOKEN_BYTES)
        if request.method == "POST" and form.validate_on_submit():
            try:
                ticket = services.open_ticket(
                    current_user, slug, form.title.data, raw_from_form(form)
                )
            except ValidationFailed as exc:
                attach_errors(form, exc)
                flash(exc.message, "error")
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                services.form_sent(current_user, token, ticket)
                flash(_("Ticket %(r)s registrado.", r=ticket.reference), "success")
                return redirect(url_for("ticket.details", ticket_id=ticket.id))
        elif request.method == "POST":
            flash(_("Revise los campos marcados."), "error")
        return self.render(
            "mesa/ticket_form.html",
            form=form,
            definition=defn,
            ticket_type=ticket_type,
            deflection_token=token,
        )


def attach_errors(form, exc: ValidationFailed):
    """Put a refusal's per-field messages beside the generated form's fields."""
    for name, message in exc.fields.items():
        key = "title" if name == "title" else f"f_{name}"
        if key in form:
            form[key].errors = list(form[key].errors or []) + [message]


def _upload(storage):
    if storage is None or not storage.filename:
        return None
    return UploadedFile(
        storage.filename, storage.mimetype or "application/octet-stream", storage.read()
    )


def _labels(rows: list[dict], key: str, english: bool) -> dict[str, str]:
    """Each row's label by `key`, in English where the row has one and the UI is English."""
    return {r[key]: (r.get("label_en") if english else "") or r["label"] for r in rows}


def describe_event(event, defn: dict) -> str:
    """One line of a ticket's history, in the UI's language, as the timeline shows it."""
    data = event.data or {}
    english = str(get_locale()) == "en"
    states = _labels(defn["states"], "key", english)
    # labels recorded at the time are the fallback: a later version may have dropped the row
    actions = _labels(defn["transitions"], "name", english)
    items = _labels(defn["checklist"], "key", english)
    kind = event.kind
    if kind == "created":
        if data.get("source") == "mail":
            return _("Abrió el ticket por correo")
        if data.get("on_behalf_of"):
            return _("Registró el ticket a nombre del solicitante")
        return _("Abrió el ticket")
    if kind == "transition":
        return _(
            "%(action)s: %(before)s → %(after)s",
            action=actions.get(data.get("name")) or data.get("label", ""),
            before=states.get(data.get("from"), data.get("from")),
            after=states.get(data.get("to"), data.get("to")),
        )
    if kind == "checklist":
        label = items.get(data.get("item")) or data.get("label", "")
        if data.get("to"):
            return _("Marcó cumplido «%(l)s»", l=label)
        return _("Desmarcó «%(l)s»", l=label)
    if kind == "comment":
        return _("Agregó una nota interna") if data.get("internal") else _("Comentó")
    if kind == "assigned":
        if data.get("to_name"):
            return _("Asignó el ticket a %(n)s", n=data["to_name"])
        return _("Quitó la asignación")
    if kind == "fields_changed":
        labels = _labels(defn["fields"], "name", english)
        labels["title"] = _("Título")
        names = ", ".join(labels.get(k, k) for k in (data.get("changes") or {}))
        return _("Cambió: %(fields)s", fields=names)
    if kind == "linked":
        return _("Abrió el ticket vinculado %(r)s", r=data.get("reference", ""))
    if kind == "scheduled":
        return _(
            "Fijó la fecha de «%(l)s»: %(d)s",
            l=items.get(data.get("item")) or data.get("label", ""),
            d=str(data.get("at", "")).replace("T", " "),
        )
    if kind == "moved":
        if data.get("to_level") == SECOND_LEVEL:
            return _("Pasó a la cola de SGE (segundo nivel)")
        return _("Volvió a la mesa de ayuda de la institución")
    if kind == "deadline":
        if data.get("to"):
            return _("Fijó el vencimiento: %(d)s", d=str(data["to"])[:10])
        return _("Quitó el vencimiento")
    if kind == "stage":
        stage = data.get("stage", "")
        return _("La institución pasó a la etapa «%(s)s»", s=STAGE_LABELS.get(stage, stage))
    if kind == "institution_created":
        return _("Creó la institución %(s)s y la cuenta de su AIQ", s=data.get("sigla", ""))
    if kind == "queue_email":
        return _("Registró el correo de la mesa de ayuda: %(e)s", e=data.get("email", ""))
    if kind == "tracking":
        label = data.get("label", "")
        if data.get("added"):
            return _("Plantilla de seguimiento: agregó «%(l)s»", l=label)
        if data.get("removed"):
            return _("Plantilla de seguimiento: quitó «%(l)s»", l=label)
        if data.get("met"):
            return _("Plantilla de seguimiento: «%(l)s» cumplido", l=label)
        return _("Plantilla de seguimiento: «%(l)s» sin cumplir", l=label)
    if kind == "mail_failed":
        return _("No se pudo enviar un correo a %(r)s", r=data.get("recipient", ""))
    return kind


class TicketPageView(RoleView):
    """One ticket: fields, checklist, transitions, comments, history, attachments."""

    def is_visible(self):
        return False

    def _ticket(self, ticket_id, *, relations: bool = False):
        ticket = (
            get_visible_ticket(current_user, ticket_id, relations=relations)
            if bounded_id(ticket_id)
            else None
        )
        if ticket is None:
            abort(404)
        return ticket

    @expose("/")
    def index(self):
        return redirect(url_for("my_tickets.index_view"))

    @expose("/<int:ticket_id>/")
    def details(self, ticket_id):
        ticket = self._ticket(ticket_id, relations=True)
        defn = ticket_definition(ticket)
        people = services.people_for(defn, ticket.institution_id)
        fields = [
            (f, display_html(f, ticket.fields.get(f["name"]), people)) for f in defn["fields"]
        ]
        is_open = ticket.state_category in ACTIVE_CATEGORIES
        checklist = [
            (
                item,
                ticket.checklist.get(item["key"]) or {},
                is_open and services.role_allowed(current_user, ticket, item.get("roles") or []),
            )
            for item in defn["checklist"]
        ]
        comments = list(visible_comments(current_user, ticket))
        attachments = list(visible_attachments(current_user, ticket))
        previews = {a.id: preview_kind(a.content_type) for a in attachments}
        by_comment: dict[int, list] = {}
        for a in attachments:
            if a.comment_id:
                by_comment.setdefault(a.comment_id, []).append(a)
        events = list(visible_events(current_user, ticket))
        names = {
            u.id: u.full_name
            for u in User.select(User.id, User.full_name).where(
                User.id.in_(
                    {c.author_id for c in comments if c.author_id}
                    | {e.actor_id for e in events if e.actor_id}
                    | {ticket.assignee_id or 0}
                )
            )
        }
        linked = list(
            visible_tickets(current_user).where(
                (Ticket.parent == ticket.id) | (Ticket.id == (ticket.parent_id or 0))
            )
        )
        is_agent = services.is_agent(current_user, ticket)
        # a transition another role takes is not this person's to press: leave it out;
        # one this person may take but a guard blocks stays, disabled, saying why
        offered = services.available_transitions(current_user, ticket)
        transitions = [
            tr
            for tr in offered
            if services.role_allowed(current_user, ticket, tr.get("roles") or [])
        ]
        return self.render(
            "mesa/ticket.html",
            ticket=ticket,
            definition=defn,
            fields=fields,
            checklist=checklist,
            comments=[(c, render_comment(c.body), by_comment.get(c.id, [])) for c in comments],
            names=names,
            timeline=[(e, describe_event(e, defn)) for e in events],
            attachments=attachments,
            previews=previews,
            linked=linked,
            transitions=transitions,
            state_label=state_label(ticket),
            is_open=is_open,
            is_agent=is_agent,
            can_edit=is_open and (is_agent or ticket.requester_id == current_user.id),
            can_internal=sees_internal(current_user, ticket),
            assignees=list(services.eligible_assignees(ticket)) if is_agent else [],
            is_sge_queue=ticket.queue_level == SECOND_LEVEL,
            badge=STATE_BADGES.get(ticket.state_category, "secondary"),
            # an answer that solved it can become an article of the Ayuda
            article_from_ticket=ticket.state_category == DONE
            and services.may_write_articles(current_user),
            article_links=current_user.role in AGENT_ROLES,
            canned_replies=services.replies_for(current_user, ticket, offered) if is_agent else [],
        )

    def _back(self, ticket_id):
        return redirect(url_for("ticket.details", ticket_id=ticket_id))

    def _run(self, ticket_id, fn, success):
        try:
            fn()
        except TooLarge:
            raise  # never a flash: every over-limit upload is answered 413 (security_headers)
        except DomainError as exc:
            flash(exc.message, "error")
            for name, message in exc.fields.items():
                flash(f"{name}: {message}", "error")
        else:
            flash(success, "success")
        return self._back(ticket_id)

    @expose("/<int:ticket_id>/comment", methods=["POST"])
    def comment(self, ticket_id):
        self._ticket(ticket_id)
        files = [f for f in (_upload(s) for s in request.files.getlist("attachment")) if f]
        then = request.form.get("then", "").strip()
        if then:  # a canned reply's "responder y resolver": the answer is the transition's
            return self._run(
                ticket_id,
                lambda: services.answer_and_transition(
                    current_user,
                    ticket_id,
                    then,
                    request.form.get("body", ""),
                    files=files,
                    internal=request.form.get("internal") == "1",
                ),
                _("Respuesta enviada y estado actualizado."),
            )
        return self._run(
            ticket_id,
            lambda: services.add_comment(
                current_user,
                ticket_id,
                request.form.get("body", ""),
                internal=request.form.get("internal") == "1",
                files=files,
            ),
            _("Comentario agregado."),
        )

    @expose("/<int:ticket_id>/transition", methods=["POST"])
    def transition(self, ticket_id):
        self._ticket(ticket_id)
        return self._run(
            ticket_id,
            lambda: services.transition(
                current_user,
                ticket_id,
                request.form.get("name", ""),
                comment=request.form.get("comment", ""),
                expected_version=request.form.get("version") or None,
            ),
            _("Hecho."),
        )

    @expose("/<int:ticket_id>/checklist/<key>", methods=["POST"])
    def checklist(self, ticket_id, key):
        self._ticket(ticket_id)
        scheduled = request.form.get("scheduled_at") or None
        done = request.form.get("done") == "1"
        return self._run(
            ticket_id,
            lambda: services.set_checklist_item(
                current_user,
                ticket_id,
                key,
                done,
                comment=request.form.get("comment", ""),
                attachment=_upload(request.files.get("attachment")),
                scheduled_at=scheduled,
            ),
            _("Lista de verificación actualizada."),
        )

    @expose("/<int:ticket_id>/assign", methods=["POST"])
    def assign(self, ticket_id):
        self._ticket(ticket_id)
        return self._run(
            ticket_id,
            lambda: services.assign(
                current_user,
                ticket_id,
                request.form.get("assignee") or None,
                expected_version=request.form.get("version") or None,
            ),
            _("Asignación actualizada."),
        )

    @expose("/<int:ticket_id>/edit", methods=["GET", "POST"])
    def edit(self, ticket_id):
        ticket = self._ticket(ticket_id)
        version = ticket.type_version
        defn = version.definition
        form_class = build_form_class(version.id, defn["fields"], str(get_locale()))
        people = services.people_of(ticket.institution_id)
        data = {
            f"f_{f['name']}": ticket.fields.get(f["name"])
            for f in defn["fields"]
            if f["kind"] != "file"
        }
        data["title"] = ticket.title
        form = make_form(form_class, people=people, data=data if request.method == "GET" else None)
        if request.method == "POST" and form.validate_on_submit():
            raw = {
                k: v
                for k, v in raw_from_form(form).items()
                if not (
                    v is None
                    and any(f["name"] == k and f["kind"] == "file" for f in defn["fields"])
                )
            }
            try:
                services.update_fields(
                    current_user, ticket_id, raw, request.form.get("version"), title=form.title.data
                )
            except ValidationFailed as exc:
                attach_errors(form, exc)
                flash(exc.message, "error")
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                flash(_("Cambios guardados."), "success")
                return self._back(ticket_id)
        return self.render(
            "mesa/ticket_form.html",
            form=form,
            definition=defn,
            ticket=ticket,
            ticket_type=ticket.type,
        )

    def _attachment(self, ticket_id, attachment_id):
        """The attachment with its bytes, found only among those the person may download."""
        ticket = self._ticket(ticket_id)
        from ticketing.models import Attachment, Blob

        row = (
            visible_attachments(current_user, ticket)
            .select(Attachment, Blob)
            .join(Blob)
            .where(Attachment.id == attachment_id)
            .first()
            if bounded_id(attachment_id)
            else None
        )
        if row is None:
            abort(404)
        return row

    @expose("/<int:ticket_id>/attachment/<int:attachment_id>")
    def attachment(self, ticket_id, attachment_id):
        return download_response(self._attachment(ticket_id, attachment_id))

    @expose("/<int:ticket_id>/attachment/<int:attachment_id>/ver")
    def attachment_inline(self, ticket_id, attachment_id):
        """An image or a PDF shown in the browser; 404 for any other type (download it)."""
        response = inline_response(self._attachment(ticket_id, attachment_id))
        if response is None:
            abort(404)
        return response


def escape_text(text):
    return escape(text)
