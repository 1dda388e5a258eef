"""The application factory."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from ticketing import db as database
from ticketing.settings import SETTINGS, defaults

login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
log = logging.getLogger("mesa")

LOCALES = ("es", "en")


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


def select_locale():
    """The user's chosen language, else the browser's, else Spanish."""
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in LOCALES:
            return current_user.locale
    return request.accept_languages.best_match(LOCALES) or "es"


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `config` (tests)."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_path=str(root / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(defaults())
    app.config.update(_from_environment())
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

    database.bind(app.config["DATABASE_URL"])
    _connection_per_request(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Inicie sesión para continuar."
    login_manager.session_protection = "strong"
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)

    from notifications.mailer import mail

    mail.init_app(app)

    from ticketing import auth, cli

    app.register_blueprint(auth.bp)
    cli.register(app)

    from admin import init_admin

    init_admin(app)

    import importlib

    try:
        api = importlib.import_module("ticketing.api")
    except ModuleNotFoundError as exc:  # the API package is built separately
        if exc.name != "ticketing.api":
            raise
    else:
        api.init_app(app)

    @app.after_request
    def _secure_cookies_over_https(response):
        # served over HTTPS (directly or behind a proxy that says so): cookies say Secure
        if request.is_secure:
            cookies = response.headers.getlist("Set-Cookie")
            if cookies:
                response.headers.remove("Set-Cookie")
                for cookie in cookies:
                    if "; secure" not in cookie.lower():
                        cookie += "; Secure"
                    response.headers.add("Set-Cookie", cookie)
        return response

    @app.context_processor
    def _inject():
        return {"current_locale": select_locale(), "locales": LOCALES}

    if embedded and not app.config.get("TESTING"):
        from ticketing.seeding import first_start

        with app.app_context():
            first_start(app)
    return app


def _connection_per_request(app: Flask) -> None:
    memory = ":memory:" in app.config["DATABASE_URL"]

    @app.before_request
    def _open():
        if not memory:
            database.db.connect(reuse_if_open=True)
            g._mesa_db_opened = True

    @app.teardown_request
    def _close(_exc):
        if g.pop("_mesa_db_opened", False) and not database.db.is_closed():
            database.db.close()


@login_manager.user_loader
def _load_user(user_id):
    from ticketing.models import User

    try:
        return User.get_or_none((User.id == int(user_id)) & (User.active == True))
    except (TypeError, ValueError):
        return None
