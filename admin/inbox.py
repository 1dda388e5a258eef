"""Avisos: the bell in the menu, the signed-in person's notices and their mail preferences.

A thin adapter over `ticketing.services.inbox`; every route reads or changes only the
person's own notices. The bell's count is one query per page, computed when the menu is
rendered and kept on the request itself (`g` can outlive a request).
"""

from flask import abort, flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.base import RoleView, bounded_id
from ticketing import services
from ticketing.errors import DomainError, NotFound

UNREAD_KEY = "mesa.inbox_unread"


def inbox_unread() -> int:
    """The signed-in person's unread notices (capped), read once per request."""
    kept = request.environ
    if UNREAD_KEY not in kept:
        kept[UNREAD_KEY] = services.unread_count(current_user)
    return kept[UNREAD_KEY]


class InboxView(RoleView):
    """/avisos/: newest first, unread emphasised; each opens its ticket and is marked read."""

    def is_visible(self):
        return False  # reached from the bell in the menu, not from a menu entry

    @expose("/")
    def index(self):
        before = bounded_id(request.args.get("antes"))
        page = services.notices(current_user, before=before)
        return self.render(
            "mesa/inbox.html",
            page=page,
            before=before,
            label=services.event_label,
            newest=page.rows[0].id if page.rows and before is None else None,
        )

    @expose("/<int:notice_id>/abrir")
    def open_notice(self, notice_id):
        try:
            ticket_id = services.open_notice(current_user, bounded_id(notice_id))
        except NotFound:
            abort(404)  # another person's notice, or none: the same answer
        if ticket_id is None:
            flash(_("El ticket de ese aviso ya no está a su alcance."), "info")
            return redirect(url_for(".index"))
        return redirect(url_for("ticket.details", ticket_id=ticket_id))

    @expose("/leidos", methods=["POST"])
    def read_all(self):
        marked = services.mark_all_read(current_user, up_to=bounded_id(request.form.get("hasta")))
        if marked:
            flash(_("Avisos marcados como leídos: %(n)s.", n=marked), "success")
        return redirect(url_for(".index"))

    @expose("/preferencias", methods=["GET", "POST"])
    def preferences(self):
        if request.method == "GET":
            return self._preferences(services.preferences(current_user))
        checked = request.form.getlist("correo")
        known = [event for event, _label, _mail in services.preferences(current_user)]
        choices = {event: event in checked for event in known}
        choices.update({value: True for value in checked if value not in choices})
        try:
            services.set_preferences(current_user, choices)
        except DomainError as exc:
            flash(exc.message, "error")
            return self._preferences(services.preferences(current_user), status=exc.status)
        flash(_("Preferencias guardadas."), "success")
        return redirect(url_for(".preferences"))

    def _preferences(self, rows, status=200):
        response = make_response(self.render("mesa/inbox_preferences.html", rows=rows))
        response.status_code = status
        return response


def register(admin) -> None:
    """Mount Avisos for every signed-in person and give the menu its bell."""
    admin.add_view(InboxView(name=_l("Avisos"), endpoint="inbox", url="/avisos"))
    admin.app.context_processor(lambda: {"inbox_unread": inbox_unread})
