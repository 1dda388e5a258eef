"""Respuestas predefinidas: the list of canned replies a person may use, and their editing."""

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from admin import SETTINGS
from admin.base import RoleView, bounded_id
from ticketing import services
from ticketing.errors import DomainError, ValidationFailed
from ticketing.models import AGQ, AIQ, FOCAL, CannedReply, TicketType
from ticketing.services.replies import BODY_MAX, NAME_MAX, placeholders, transitions_of
from ticketing.visibility import visible_replies

LIST_MAX = 500  # replies the page lists (the picker offers OFFERED_MAX per ticket)


class ReplyForm(FlaskForm):
    """A reply's editable values; the service checks them (errors come back per field)."""

    name = StringField(_l("Nombre"), render_kw={"required": True, "maxlength": NAME_MAX})
    body = TextAreaField(
        _l("Texto"),
        description=_l(
            "En Markdown, con marcadores que se llenan con los datos del ticket, "
            "p. ej. {{ solicitante }} o {{ campos.modulo }}."
        ),
        render_kw={"rows": 10, "maxlength": BODY_MAX, "required": True},
    )
    type_slugs = SelectMultipleField(
        _l("Tipos de ticket"),
        choices=[],
        validate_choice=False,
        description=_l("Sin elegir ninguno, se ofrece en todos."),
    )
    transition = SelectField(
        _l("Acción al responder"),
        choices=[],
        validate_choice=False,
        description=_l("Opcional: p. ej. «Resolver» para responder y resolver en un paso."),
    )
    internal = BooleanField(_l("Se publica como nota interna"))
    active = BooleanField(_l("Activa (se ofrece al responder)"), default=True)
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        english = str(get_locale()) == "en"
        self.type_slugs.choices = [
            (t.slug, (t.name_en if english else "") or t.name)
            for t in TicketType.select().order_by(TicketType.order, TicketType.name)
        ]
        self.transition.choices = [("", _("Ninguna"))] + [
            (name, label) for name, label in transitions_of([]).items()
        ]

    def values(self) -> dict:
        return {
            "name": self.name.data or "",
            "body": self.body.data or "",
            "type_slugs": list(self.type_slugs.data or []),
            "transition": self.transition.data or "",
            "internal": bool(self.internal.data),
            "active": bool(self.active.data),
        }


class RepliesView(RoleView):
    """The replies a person may use; the AGQ writes SGE's, an AIQ their institution's."""

    roles = (FOCAL, AIQ, AGQ)

    @expose("/")
    def index(self):
        rows = list(
            visible_replies(current_user)
            .order_by(CannedReply.institution.is_null(False), CannedReply.name, CannedReply.id)
            .limit(LIST_MAX)
        )
        types = {t.slug: t.name for t in TicketType.select(TicketType.slug, TicketType.name)}
        return self.render(
            "mesa/replies_list.html",
            rows=rows,
            types=types,
            may_write=services.may_write_replies(current_user),
            editable={r.id for r in rows if self._owns(r)},
        )

    def _owns(self, reply) -> bool:
        if current_user.role == AGQ:
            return reply.institution_id is None
        return current_user.role == AIQ and reply.institution_id == current_user.institution_id

    def _form_page(self, form, *, reply=None, status=200):
        response = make_response(
            self.render(
                "mesa/reply_form.html",
                form=form,
                reply=reply,
                placeholders=placeholders(),
                institution=None if current_user.role == AGQ else current_user.institution,
            )
        )
        response.status_code = status
        return response

    def _refused(self, form, exc, reply=None):
        if isinstance(exc, ValidationFailed):
            for name, message in exc.fields.items():
                if name in form and name != "version":
                    form[name].errors = list(form[name].errors or []) + [message]
        flash(exc.message, "error")
        return self._form_page(form, reply=reply, status=exc.status)

    @expose("/nueva", methods=["GET", "POST"])
    def create(self):
        if not services.may_write_replies(current_user):
            abort(404)
        form = ReplyForm()
        if request.method == "GET":
            return self._form_page(form)
        if not form.validate_on_submit():
            flash(_("El formulario caducó. Recargue la página."), "error")
            return self._form_page(form, status=400)
        try:
            reply = services.create_reply(current_user, **form.values())
        except DomainError as exc:
            return self._refused(form, exc)
        flash(_("Respuesta «%(n)s» guardada.", n=reply.name), "success")
        return redirect(url_for(".index"))

    @expose("/<int:reply_id>/editar", methods=["GET", "POST"])
    def edit(self, reply_id):
        try:
            reply = services.editable_reply(current_user, bounded_id(reply_id))
        except DomainError:
            abort(404)
        if request.method == "GET":
            form = ReplyForm(
                data={
                    "name": reply.name,
                    "body": reply.body,
                    "type_slugs": reply.type_slugs or [],
                    "transition": reply.transition,
                    "internal": reply.internal,
                    "active": reply.active,
                    "version": str(reply.version),
                }
            )
            return self._form_page(form, reply=reply)
        form = ReplyForm()
        if not form.validate_on_submit():
            flash(_("El formulario caducó. Recargue la página."), "error")
            return self._form_page(form, reply=reply, status=400)
        try:
            services.update_reply(current_user, reply.id, form.values(), form.version.data)
        except DomainError as exc:
            return self._refused(form, exc, reply)
        flash(_("Cambios guardados."), "success")
        return redirect(url_for(".index"))


def register(admin) -> None:
    """Mount Respuestas predefinidas for the people who answer tickets."""
    admin.add_view(
        RepliesView(
            name=_l("Respuestas predefinidas"),
            endpoint="replies",
            url="/respuestas",
            category=SETTINGS,
        )
    )
