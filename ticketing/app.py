"""The application factory: the composition root, the one module that knows every adapter."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, g
from flask_babel import lazy_gettext as _l

import api
from admin import init_admin
from mailgate import cli as mailgate_cli
from notifications.dispatch import dispatch
from notifications.mailer import mail
from notifications.webhooks import dispatch_webhooks
from ticketing import cli
from ticketing import db as database
from ticketing.i18n import LOCALES, select_locale
from ticketing.outbox import DISPATCH, WEBHOOK_DISPATCH
from ticketing.settings import SETTINGS, defaults
from ticketing.web import auth, input_guard, security_headers, unavailable
from ticketing.web.extensions import babel, csrf, login_manager

log = logging.getLogger("mesa")


def _coerce(raw: str, default):
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


def _from_environment() -> dict:
    """Every setting present in the environment, plain or MESA_-prefixed."""
    found = {}
    for key, (default, _doc) in SETTINGS.items():
        for name in (f"MESA_{key}", key):
            if name in os.environ and os.environ[name] != "":
                found[key] = _coerce(os.environ[name], default)
                break
    return found


def _secret_key(instance: Path) -> str:
    """A key generated once and kept in the instance folder (never a constant in code)."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `config` (tests)."""
    root = Path(__file__).resolve().parent.parent
    environment = _from_environment()
    instance_path = (
        (config or {}).get("INSTANCE_PATH")
        or environment.get("INSTANCE_PATH")
        or str(root / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(defaults())
    app.config.update(environment)
    app.config.from_prefixed_env("MESA")
    app.config.update(config or {})
    instance = Path(app.instance_path)

    embedded = not app.config.get("DATABASE_URL")
    if embedded:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'mesa.sqlite3'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if app.config.get("SEED_DEMO") is None:
        app.config["SEED_DEMO"] = embedded
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.update(
        MAX_CONTENT_LENGTH=(app.config["MAX_ATTACHMENT_MB"] + 1) * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        BABEL_TRANSLATION_DIRECTORIES=str(root / "ticketing" / "translations"),
        MAIL_SUPPRESS_SEND=False,
    )

    if isinstance(app.config.get("TRUSTED_HOSTS"), str):
        hosts = [h.strip() for h in app.config["TRUSTED_HOSTS"].split(",") if h.strip()]
        app.config["TRUSTED_HOSTS"] = hosts or None
    configure_logging(app)

    database.bind(app.config["DATABASE_URL"], int(app.config["DB_POOL_SIZE"] or 0))
    _connection_per_request(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Inicie sesión para continuar.")
    login_manager.localize_callback = str  # flash a plain string, in the reader's language
    login_manager.session_protection = "strong"
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    input_guard.init_app(app)

    mail.init_app(app)
    app.extensions[DISPATCH] = dispatch  # the domain's outbox rows, delivered after commit
    app.extensions[WEBHOOK_DISPATCH] = dispatch_webhooks  # and its webhook deliveries

    app.register_blueprint(auth.bp)
    cli.register(app)
    mailgate_cli.register(app)
    init_admin(app)
    security_headers.init_app(app)  # after the admin views: it hashes their inline handlers
    api.init_app(app)
    unavailable.init_app(app)  # after every blueprint, so its handler wins everywhere

    app.wsgi_app = SecureCookiesOverHttps(app.wsgi_app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    @app.context_processor
    def _inject():
        return {"current_locale": select_locale(), "locales": LOCALES}

    if embedded and not app.config.get("TESTING"):
        from ticketing.seeding import first_start

        with app.app_context():
            first_start(app)
    return app


def configure_logging(app: Flask) -> None:
    """Mesa's log lines (kept mail, mail in, outbox) on stderr, where the README says.

    Neither `flask run` nor gunicorn sets up the root logger, so without this INFO lines
    are dropped. One handler on the `mesa` logger, added once per process.
    """
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    log.setLevel(getattr(logging, level, logging.INFO))
    if not any(getattr(h, "_mesa", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._mesa = True
        log.addHandler(handler)


class SecureCookiesOverHttps:
    """WSGI middleware: a response served over HTTPS marks every cookie Secure.

    Flask sets the session cookie and Flask-Login the remember cookie after every
    `after_request` hook, so the flag is added here, on the way out.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [
                (name, value + "; Secure")
                if name.lower() == "set-cookie" and "; secure" not in value.lower()
                else (name, value)
                for name, value in headers
            ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _connection_per_request(app: Flask) -> None:
    memory = ":memory:" in app.config["DATABASE_URL"]

    @app.before_request
    def _open():
        if not memory:
            g._mesa_db_opened = True  # set first: a refused connect is still cleaned up
            database.usable_connection()

    @app.teardown_request
    def _close(_exc):
        # a connection the server dropped mid-request is forgotten here, so the next
        # request on this thread connects afresh instead of failing on a dead socket
        if g.pop("_mesa_db_opened", False):
            database.discard_connection()


@login_manager.user_loader
def _load_user(user_id):
    # the id is "<user id>:<session key>": only a live sign-in of an active person loads
    from ticketing.sessions import load_session_user

    return load_session_user(user_id if isinstance(user_id, str) else None)
