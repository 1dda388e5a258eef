"""Refuse, once for every request, text that no database column can hold.

PostgreSQL rejects NUL in text and no UTF-8 encoder takes an unpaired surrogate; either
would otherwise surface as a 500 deep inside whichever view or service first stores or
queries it. Werkzeug decodes bad UTF-8 in forms with replacement characters and leaves
undecodable percent escapes in query strings as typed, so what is checked here is what
actually arrives: the path, query arguments, form values and names, uploaded file names,
and every string (keys included) of a JSON body, where `\\ud800` escapes do yield lone
surrogates.
"""

import json

from flask import Flask, Response, render_template_string, request
from flask_babel import gettext as _

API_PREFIX = "/api/"
MAX_JSON_DEPTH = 64  # deeper bodies are left to the API's own parser and depth limit

PAGE = """<!doctype html>
<html lang="{{ current_locale }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Mesa</title>
<link rel="stylesheet" href="{{ url_for('admin.static', filename='bootstrap/bootstrap4/css/bootstrap.min.css') }}">
</head>
<body class="bg-light">
<main class="container" style="max-width: 36rem; margin-top: 4rem;">
  <h1 class="h3 mb-3">{{ title }}</h1>
  <div class="alert alert-danger" role="alert">{{ message }}</div>
  <p><a href="{{ back }}">{{ back_label }}</a></p>
</main>
</body>
</html>"""


def storable(text: str | None) -> bool:
    """Whether `text` can be stored in a text column: no NUL, no unpaired surrogate."""
    if text is None:  # a file part without a filename
        return True
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_problem(value, where: str, depth: int = 0) -> str | None:
    """The top-level key under which a JSON body carries unstorable text, or None."""
    if depth > MAX_JSON_DEPTH:
        return None
    if isinstance(value, str):
        return None if storable(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            here = key if depth == 0 else where
            if not storable(str(key)):
                return here
            found = _json_problem(item, here, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _json_problem(item, where, depth + 1)
            if found is not None:
                return found
    return None


def find_unstorable() -> tuple[str, str] | None:
    """(where, name) of the first unstorable text in the current request, or None.

    `where` is "query" (the path or a query argument) or "body".
    """
    if not storable(request.path):
        return "query", "path"
    for name, value in request.args.items(multi=True):
        if not (storable(name) and storable(value)):
            return "query", name
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            if not (storable(name) and storable(value)):
                return "body", name
        for name, storage in request.files.items(multi=True):
            if not (storable(name) and storable(storage.filename or "")):
                return "body", name
    elif request.is_json:
        try:
            body = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            return None  # malformed JSON is the API's to refuse, with its own message
        name = _json_problem(body, "body")
        if name is not None:
            return "body", name
    return None


def _refusal(where: str, name: str) -> Response:
    message = _("El texto contiene caracteres no permitidos.")
    if request.path.startswith(API_PREFIX):
        from ticketing.web.api_errors import error_response

        # the codes the API's own checks use: a bad query is malformed (400), a body
        # value that cannot be stored is an invalid field (422)
        if where == "query":
            return error_response(
                400, "bad_request", _("La solicitud está mal formada."), {name: message}
            )
        return error_response(422, "invalid", message, {name: message})
    page = render_template_string(
        PAGE,
        title=_("Solicitud rechazada"),
        message=_(
            "Lo enviado contiene caracteres no permitidos (por ejemplo, un carácter nulo). "
            "Revise el texto y vuelva a intentarlo; no se guardó nada."
        ),
        back=request.referrer if _same_site(request.referrer) else "/",
        back_label=_("Volver"),
    )
    return Response(page, status=400, content_type="text/html; charset=utf-8")


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url) and storable(url)


def init_app(app: Flask) -> None:
    """Answer 400 to any request carrying unstorable text, before any view reads it."""

    @app.before_request
    def _refuse_unstorable_text():
        found = find_unstorable()
        if found is not None:
            return _refusal(*found)
        return None
