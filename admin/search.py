"""Buscar: one search box in the menu for every signed-in person, over tickets and articles.

A thin adapter over `ticketing.search.search`, which starts from the visibility queries.
"""

import datetime as dt

from flask import request
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.base import RoleView, bounded_id
from admin.tickets import state_label
from ticketing import search
from ticketing.models import AGQ, TicketType
from ticketing.search.text import MAX_QUERY
from ticketing.visibility import visible_institutions

PER_PAGE = 20


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


class SearchView(RoleView):
    """/buscar?q=...: tickets best match first, with snippets, then articles."""

    def is_visible(self):
        return False  # reached from the menu's search box, not from a menu entry

    @expose("/")
    def index(self):
        args = request.args
        q = args.get("q", "")[:MAX_QUERY]
        filters = {
            "type": args.get("tipo") or None,
            "state": args.get("estado") or None,
            "institution": bounded_id(args.get("institucion")),
            "requester": bounded_id(args.get("solicitante")),
            "desde": _day(args.get("desde")),
            "hasta": _day(args.get("hasta")),
        }
        page = bounded_id(args.get("page")) or 1
        found = search.search(current_user, q, filters, page=page, per_page=PER_PAGE) if q else None
        institutions = list(visible_institutions(current_user)) if current_user.role == AGQ else []
        return self.render(
            "mesa/search.html",
            q=q,
            found=found,
            filters=filters,
            raw=args,
            types=TicketType.select(TicketType.slug, TicketType.name)
            .where(TicketType.active == True)
            .order_by(TicketType.name),
            institutions=institutions,
            state_label=state_label,
        )


def register(admin) -> None:
    """Mount Buscar for every signed-in person."""
    admin.add_view(SearchView(name=_l("Buscar"), endpoint="search", url="/buscar"))
