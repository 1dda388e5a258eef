"""Every API refusal as JSON of one shape: {"error": code, "message": ..., "fields": {...}}."""

import logging

from flask import jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from ticketing.errors import DomainError

log = logging.getLogger("mesa.api")

PREFIX = "/api/"


class BadInput(DomainError):
    """The body or the query is not what the endpoint reads (wrong shape or JSON type)."""

    code, status = "bad_request", 400


class Unauthorized(DomainError):
    code, status = "unauthorized", 401


# codes for errors raised by Flask/Werkzeug rather than by the service layer
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _messages():
    return {
        400: _("La solicitud está mal formada."),
        401: _("Falta el token de acceso o no es válido."),
        403: _("No tiene permiso para esta acción."),
        404: _("El recurso no existe o no está a su alcance."),
        405: _("Método no permitido en esta dirección."),
        413: _("La solicitud supera el tamaño máximo permitido."),
        415: _("Tipo de contenido no admitido."),
    }


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """A JSON error response of the one shape."""
    body = {
        "error": code,
        "message": str(message),
        "fields": {str(k): str(v) for k, v in (fields or {}).items()},
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mesa"'
    return response


def domain_error(exc: DomainError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def http_error(exc: HTTPException):
    status = exc.code or 500
    if status >= 500:
        return unexpected_error(exc)
    code = HTTP_CODES.get(status, "error")
    response = error_response(status, code, _messages().get(status, exc.description or code))
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def unexpected_error(exc: Exception):
    log.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "server_error", _("Error interno. Intente de nuevo más tarde."))


def unavailable_error(retry_after: int):
    """503 in the one shape, with Retry-After: the database is out of reach for a moment."""
    response = error_response(
        503,
        "unavailable",
        _("El servicio no está disponible por un momento. Intente de nuevo en unos segundos."),
    )
    response.headers["Retry-After"] = str(int(retry_after))
    return response


def register_app_handler(app) -> None:
    """JSON for /api/ paths that match no route (404, 405): blueprint handlers never see them."""
    # every other path is left to whoever handled it before
    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    def api_or_default(exc: HTTPException):
        if request.path.startswith(PREFIX):
            return http_error(exc)
        if previous is not None:
            return previous(exc)
        return exc

    app.register_error_handler(HTTPException, api_or_default)
