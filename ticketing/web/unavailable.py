"""A request that loses its database answers 503 with Retry-After, never a 500.

A killed backend, a restart or a refused connection is passing: the client is told to
come back in a few seconds (the API in its one error shape, pages with a short page),
and the broken connection is dropped so the next request connects afresh.
"""

import logging

from flask import current_app, request, session
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from ticketing.db import CONNECTION_ERRORS, db, discard_connection
from ticketing.i18n import LOCALES, default_locale

log = logging.getLogger("mesa.db")

_PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1><p>{text}</p>{again}</main></body>
</html>
"""


def _reader_locale() -> str:
    """The reader's language from the session or the browser: the database is away."""
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or default_locale()


def _page() -> str:
    again = ""
    if request.method == "GET":  # reloading a form post would send it again
        again = f'<p><a href="{escape(request.full_path.rstrip("?"))}">{escape(_("Intentar de nuevo"))}</a></p>'
    return _PAGE.format(
        lang=escape(_reader_locale()),
        title=escape(_("Servicio no disponible por un momento")),
        text=escape(_("La base de datos no responde. Intente de nuevo en unos segundos.")),
        again=again,
    )


def database_unavailable(exc: Exception):
    """503 with Retry-After for a request whose database connection failed."""
    from ticketing.web.api_errors import PREFIX, unavailable_error

    log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    if not db.in_transaction():
        discard_connection()
    retry_after = int(current_app.config.get("DB_RETRY_AFTER_SECONDS") or 5)
    # the language is chosen without the signed-in user's own setting: loading the user
    # would need the database that just failed
    with force_locale(_reader_locale()):
        if request.path.startswith(PREFIX):
            return unavailable_error(retry_after)
        headers = {"Retry-After": str(retry_after), "Content-Type": "text/html; charset=utf-8"}
        return _page(), 503, headers


def init_app(app) -> None:
    """Answer lost database connections with 503 in the app and every blueprint."""
    # a blueprint's own handler for Exception (the API has one) would win over an app
    # handler, so the handler goes into every blueprint's table too; call this after the
    # blueprints are registered
    for name in (None, *app.blueprints):
        for error in CONNECTION_ERRORS:
            app.error_handler_spec[name][None][error] = database_unavailable
