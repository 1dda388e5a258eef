"""The JSON API (/api/v1): every ticket action over HTTP, authenticated by personal tokens."""


def init_app(app) -> None:
    """Mount the API on `app`: the blueprint, its CSRF exemption and its JSON errors."""
    from api.views import bp
    from ticketing.web.api_errors import register_app_handler
    from ticketing.web.extensions import csrf

    # token-only authentication (never the session cookie): nothing for CSRF to forge
    csrf.exempt(bp)
    app.register_blueprint(bp)
    register_app_handler(app)
