"""Tokens de API: each signed-in person makes (shown once) and revokes their own tokens."""

from flask import flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.base import RoleView
from ticketing.api_tokens import NAME_MAX, create_token, revoke_token, tokens_of
from ticketing.errors import DomainError


class TokenView(RoleView):
    """The signed-in person's own API tokens; every change is a POST (CSRF-protected)."""

    def _page(self, *, secret=None, created=None, name="", errors=None, status=200):
        response = make_response(
            self.render(
                "mesa/tokens.html",
                tokens=list(tokens_of(current_user)),
                secret=secret,
                created=created,
                name=name,
                errors=errors or {},
                name_max=NAME_MAX,
            )
        )
        response.status_code = status
        # the page may carry a token in clear: never keep it in a cache
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/")
    def index(self):
        return self._page()

    @expose("/create", methods=["POST"])
    def create(self):
        name = request.form.get("name", "")
        try:
            row, secret = create_token(current_user, name=name)
        except DomainError as exc:
            flash(exc.message, "error")
            return self._page(name=name, errors=exc.fields, status=422)
        # shown in this response only: never flashed, since the session cookie is not secret
        return self._page(secret=secret, created=row)

    @expose("/<int:token_id>/revoke", methods=["POST"])
    def revoke(self, token_id):
        try:
            row = revoke_token(current_user, token_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Token «%(n)s» revocado.", n=row.name or f"#{row.id}"), "success")
        return redirect(url_for(".index"))


def register(admin) -> None:
    """Mount Tokens de API for every signed-in person."""
    from admin import SETTINGS

    admin.add_view(
        TokenView(name=_l("Tokens de API"), endpoint="api_tokens", url="/tokens", category=SETTINGS)
    )
