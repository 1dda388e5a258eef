"""Absolute links written into mail: PUBLIC_URL, else the address the request came to."""

from flask import current_app, has_request_context, request

FALLBACK = "http://localhost:5000"


def public_url(path: str = "") -> str:
    """`path` under the site's public address.

    With PUBLIC_URL unset (the embedded default) a link follows the host and port the
    request came to, so mail from `flask run -p 8080` points at port 8080; outside a
    request (CLI, jobs) it falls back to localhost:5000. Production sets PUBLIC_URL (and
    TRUSTED_HOSTS), so a forged Host header never reaches a link.
    """
    base = current_app.config.get("PUBLIC_URL") or ""
    if not base and has_request_context():
        base = request.host_url
    base = (base or FALLBACK).rstrip("/")
    return f"{base}/{path.lstrip('/')}" if path else base
