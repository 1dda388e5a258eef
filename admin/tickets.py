"""Ticket screens: queues, Mis tickets, Nuevo ticket and the ticket page."""

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import (
    BooleanEqualFilter,  # noqa: F401  (kept for custom filters)
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from peewee import JOIN

from admin.base import RoleView, ScopedModelView
from ticketing import services
from ticketing.errors import DomainError, ValidationFailed
from ticketing.fields import (
    UploadedFile,
    build_form_class,
    display_value,
    make_form,
    raw_from_form,
)
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGQ,
    AIQ,
    FOCAL,
    SECOND_LEVEL,
    Institution,
    Ticket,
    TicketType,
    TicketTypeVersion,
    User,
    now,
)
from ticketing.visibility import (
    get_visible_ticket,
    sees_internal,
    visible_attachments,
    visible_comments,
    visible_events,
    visible_tickets,
)

STATE_BADGES = {"open": "primary", "waiting": "warning", "done": "success", "rejected": "secondary"}


def _with_relations(query):
    """Join what a list row shows, so a page costs the same few queries at any size."""
    requester, assignee = User.alias(), User.alias()
    return (
        query.select_extend(
            TicketType.id,
            TicketType.name,
            TicketTypeVersion.id,
            TicketTypeVersion.definition,
            Institution.id,
            Institution.sigla,
            requester.id,
            requester.full_name,
            assignee.id,
            assignee.full_name,
        )
        .join(TicketType, on=(Ticket.type == TicketType.id), attr="type")
        .switch(Ticket)
        .join(
            TicketTypeVersion, on=(Ticket.type_version == TicketTypeVersion.id), attr="type_version"
        )
        .switch(Ticket)
        .join(Institution, on=(Ticket.institution == Institution.id), attr="institution")
        .switch(Ticket)
        .join(requester, on=(Ticket.requester == requester.id), attr="requester")
        .switch(Ticket)
        .join(
            assignee,
            on=(Ticket.assignee == assignee.id),
            attr="assignee",
            join_type=JOIN.LEFT_OUTER,
        )
    )


def state_label(ticket) -> str:
    for state in ticket.type_version.definition["states"]:
        if state["key"] == ticket.state:
            return state["label"]
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


class TicketListView(ScopedModelView):
    """A queue: the tickets the user may see, with ready-made views and filters."""

    roles = (FOCAL, AIQ, AGQ)
    can_create = can_edit = can_delete = False
    can_view_details = False
    can_export = True
    export_types = ["csv"]
    list_template = "mesa/ticket_list.html"
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
        "state_category": _l("Situación"),
        "queue_level": _l("Nivel"),
        "created_at": _l("Creado"),
    }
    column_formatters = {
        "id": _reference_link,
        "title": _title_link,
        "state": _state,
        "due_at": _due,
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
    column_default_sort = ("updated_at", True)
    column_searchable_list = ["title"]
    column_filters = ["state_category", "due_at", "created_at"]
    column_choices = {
        "state_category": [
            ("open", _l("Abierto")),
            ("waiting", _l("En espera")),
            ("done", _l("Resuelto")),
            ("rejected", _l("Rechazado")),
        ]
    }

    VIEWS = {
        "mine": _l("Asignados a mí"),
        "unassigned": _l("Sin asignar"),
        "overdue": _l("Vencidos"),
        "waiting_sge": _l("Esperando a SGE"),
        "all": _l("Todos"),
    }

    def scope(self):
        query = _with_relations(visible_tickets(current_user))
        view = request.args.get("view", "")
        if view == "mine":
            query = query.where(Ticket.assignee == current_user.id)
        elif view == "unassigned":
            query = query.where(
                Ticket.assignee.is_null() & Ticket.state_category.in_(ACTIVE_CATEGORIES)
            )
        elif view == "overdue":
            query = query.where(
                Ticket.due_at < now() & Ticket.state_category.in_(ACTIVE_CATEGORIES)
            )
        elif view == "waiting_sge":
            query = query.where(
                Ticket.waiting_on.is_null(False) & (Ticket.state_category == "waiting")
            )
        elif view != "all" and request.endpoint and request.endpoint.endswith("index_view"):
            query = query.where(Ticket.state_category.in_(ACTIVE_CATEGORIES))
        return query

    def get_one(self, id):
        return get_visible_ticket(current_user, id)

    def render(self, template, **kwargs):
        kwargs.setdefault("ticket_views", self.VIEWS)
        kwargs.setdefault("current_ticket_view", request.args.get("view", ""))
        return super().render(template, **kwargs)


class MyTicketsView(TicketListView):
    """Mis tickets: what the signed-in person raised."""

    roles = ()
    can_export = False
    column_list = ["id", "title", "type", "state", "updated_at"]
    VIEWS = {"all": _l("Todos")}

    def scope(self):
        return _with_relations(visible_tickets(current_user)).where(
            Ticket.requester == current_user.id
        )


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
        if request.method == "POST" and form.validate_on_submit():
            try:
                ticket = services.open_ticket(
                    current_user, slug, form.title.data, raw_from_form(form)
                )
            except ValidationFailed as exc:
                _attach_errors(form, exc)
                flash(exc.message, "error")
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                flash(_("Ticket %(r)s registrado.", r=ticket.reference), "success")
                return redirect(url_for("ticket.details", ticket_id=ticket.id))
        elif request.method == "POST":
            flash(_("Revise los campos marcados."), "error")
        return self.render(
            "mesa/ticket_form.html", form=form, definition=defn, ticket_type=ticket_type
        )


def _attach_errors(form, exc: ValidationFailed):
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


class TicketPageView(RoleView):
    """One ticket: fields, checklist, transitions, comments, history, attachments."""

    def is_visible(self):
        return False

    def _ticket(self, ticket_id):
        ticket = get_visible_ticket(current_user, ticket_id)
        if ticket is None:
            abort(404)
        return ticket

    @expose("/")
    def index(self):
        return redirect(url_for("my_tickets.index_view"))

    @expose("/<int:ticket_id>/")
    def details(self, ticket_id):
        ticket = self._ticket(ticket_id)
        defn = ticket.type_version.definition
        people = services.people_of(ticket.institution_id)
        fields = [
            (f, display_value(f, ticket.fields.get(f["name"]), people)) for f in defn["fields"]
        ]
        checklist = [
            (
                item,
                ticket.checklist.get(item["key"]) or {},
                services._role_allowed(current_user, ticket, item.get("roles") or []),
            )
            for item in defn["checklist"]
        ]
        comments = list(visible_comments(current_user, ticket))
        attachments = list(visible_attachments(current_user, ticket))
        authors = {
            u.id: u
            for u in User.select().where(
                User.id.in_({c.author_id for c in comments if c.author_id} | {0})
            )
        }
        events = list(visible_events(current_user, ticket))
        actors = {
            u.id: u.full_name
            for u in User.select(User.id, User.full_name).where(
                User.id.in_({e.actor_id for e in events if e.actor_id} | {0})
            )
        }
        linked = list(
            visible_tickets(current_user).where(
                (Ticket.parent == ticket.id) | (Ticket.id == (ticket.parent_id or 0))
            )
        )
        is_agent = services._is_agent(current_user, ticket)
        return self.render(
            "mesa/ticket.html",
            ticket=ticket,
            definition=defn,
            fields=fields,
            checklist=checklist,
            comments=comments,
            authors=authors,
            events=events,
            actors=actors,
            attachments=attachments,
            linked=linked,
            transitions=services.available_transitions(current_user, ticket),
            state_label=state_label(ticket),
            is_agent=is_agent,
            can_internal=sees_internal(current_user, ticket),
            assignees=list(services.eligible_assignees(ticket)) if is_agent else [],
            is_sge_queue=ticket.queue_level == SECOND_LEVEL,
            AGQ=AGQ,
        )

    def _back(self, ticket_id):
        return redirect(url_for("ticket.details", ticket_id=ticket_id))

    def _run(self, ticket_id, fn, success):
        try:
            fn()
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
            lambda: services.assign(current_user, ticket_id, request.form.get("assignee") or None),
            _("Asignación actualizada."),
        )

    @expose("/<int:ticket_id>/edit", methods=["GET", "POST"])
    def edit(self, ticket_id):
        ticket = self._ticket(ticket_id)
        version = ticket.type_version
        defn = version.definition
        form_class = build_form_class(version.id, defn["fields"], current_user.locale)
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
                _attach_errors(form, exc)
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

    @expose("/<int:ticket_id>/attachment/<int:attachment_id>")
    def attachment(self, ticket_id, attachment_id):
        import io

        ticket = self._ticket(ticket_id)
        from ticketing.models import Attachment, Blob

        row = (
            visible_attachments(current_user, ticket)
            .select(Attachment, Blob)
            .join(Blob)
            .where(Attachment.id == attachment_id)
            .first()
        )
        if row is None:
            abort(404)
        return send_file(
            io.BytesIO(bytes(row.blob.data)),
            mimetype=row.content_type,
            as_attachment=True,
            download_name=row.filename,
        )


def escape_text(text):
    return escape(text)
