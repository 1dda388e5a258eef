"""What every response carries, and the one answer to an upload over the limit.

Every response gets `X-Content-Type-Options: nosniff`, a restrictive
Content-Security-Policy, `X-Frame-Options: DENY`, a Referrer-Policy and a
Permissions-Policy; a response that already set its own policy (an attachment download)
keeps it.

The policy allows scripts and styles from Mesa itself only. Mesa's templates have no
inline scripts; the few inline event handlers of Flask-Admin's own templates (bulk actions,
the filter menu, the row delete button) are allowed one by one by their hash
('unsafe-hashes'), computed at start from the views actually registered, and so is
the `javascript:void(0)` of its dropdown toggles. Style attributes
(`style="..."`, also written by jQuery and Select2) are allowed with `style-src-attr`;
`<style>` elements are not.

An uploaded file over MAX_ATTACHMENT_MB is answered 413 before any view reads it, on every
path (ticket form, comment, checklist evidence, API), and so is a request over
MAX_CONTENT_LENGTH; the HTML answer is a readable Spanish page, the API's its JSON error.
"""

import base64
import hashlib
import os

from flask import Flask, Response, render_template_string, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from ticketing.errors import TooLarge
from ticketing.i18n import LOCALES

API_PREFIX = "/api/"

# Flask-Admin's inline handlers (bootstrap4 templates), by the template that writes them
FILTER_HANDLER = "return false;"  # admin/model/layout.html, filter menu items
# the href of Flask-Admin's dropdown toggles: Chromium runs it on click, and hashes the
# whole URL for 'unsafe-hashes'
VOID_LINK = "javascript:void(0)"
ACTION_HANDLER = "return modelActions.execute('{}');"  # admin/actions.html
DELETE_HANDLER = "return faHelpers.safeConfirm('{}');"  # admin/model/row_actions.html
DELETE_QUESTION = "Are you sure you want to delete this record?"

PAGE = """<!doctype html>
<html lang="{{ current_locale }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Mesa</title>
<link rel="stylesheet" href="{{ url_for('admin.static', filename='bootstrap/bootstrap4/css/bootstrap.min.css') }}">
</head>
<body class="bg-light">
<main class="container mt-5">
  <h1 class="h3 mb-3">{{ title }}</h1>
  <div class="alert alert-danger" role="alert" data-testid="too-large">{{ message }}</div>
  <p>{{ advice }}</p>
  <p><a href="{{ back }}">{{ back_label }}</a></p>
</main>
</body>
</html>"""


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def inline_handlers(app: Flask) -> set[str]:
    """The inline event handlers Flask-Admin's templates write for the registered views."""
    handlers = {FILTER_HANDLER, VOID_LINK}
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            for name, _text in getattr(view, "_actions", None) or []:
                handlers.add(ACTION_HANDLER.format(name))
    from flask_admin import babel as admin_babel  # Flask-Admin's own catalog

    with app.test_request_context():
        for locale in LOCALES:
            with force_locale(locale):
                handlers.add(DELETE_HANDLER.format(admin_babel.gettext(DELETE_QUESTION)))
    return handlers


def content_security_policy(handler_hashes=()) -> str:
    """The policy sent with every page."""
    scripts = " ".join(["'self'", "'unsafe-hashes'", *sorted(handler_hashes)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def _upload_size(storage) -> int:
    stream = storage.stream
    try:
        here = stream.tell()
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(here)
    except (AttributeError, OSError):
        return 0
    return size


def _limit_message(app: Flask) -> str:
    return _("El archivo supera el tamaño máximo de %(n)s MB.", n=app.config["MAX_ATTACHMENT_MB"])


def _too_large_page(message: str) -> Response:
    referrer = request.referrer or ""
    page = render_template_string(
        PAGE,
        title=_("Archivo demasiado grande"),
        message=message,
        advice=_(
            "No se guardó nada. Reduzca el archivo (por ejemplo, comprímalo o escanéelo con "
            "menor resolución) o divídalo en partes, y vuelva a intentarlo."
        ),
        back=referrer if referrer.startswith(request.host_url) else "/",
        back_label=_("Volver"),
    )
    return Response(page, status=413, content_type="text/html; charset=utf-8")


def init_app(app: Flask) -> None:
    """Register the response headers and the 413 answers on `app` (after the admin is built)."""
    policy = content_security_policy({_hash(h) for h in inline_handlers(app)})
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }

    @app.after_request
    def _security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @app.before_request
    def _refuse_oversize_upload():
        if request.mimetype != "multipart/form-data":
            return None
        limit = app.config["MAX_ATTACHMENT_MB"] * 1024 * 1024
        for _name, storage in request.files.items(multi=True):
            if _upload_size(storage) > limit:
                raise TooLarge(_limit_message(app))
        return None

    @app.errorhandler(TooLarge)
    def _too_large(exc: TooLarge):
        if request.path.startswith(API_PREFIX):
            from ticketing.web.api_errors import domain_error

            return domain_error(exc)
        return _too_large_page(exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _request_too_large(exc: RequestEntityTooLarge):
        if request.path.startswith(API_PREFIX):
            from ticketing.web.api_errors import http_error

            return http_error(exc)
        return _too_large_page(_limit_message(app))
