"""Which language a message is built in: inside a request and outside one (CLI, jobs, cron)."""

from contextlib import contextmanager

from flask import current_app, has_request_context, request, session
from flask_babel import force_locale

LOCALES = ("es", "en")


def default_locale() -> str:
    """The configured UI language, when it is one we have; else Spanish."""
    configured = current_app.config.get("BABEL_DEFAULT_LOCALE") or "es"
    return configured if configured in LOCALES else "es"


def select_locale() -> str:
    """The chosen language, else the person's, else the browser's, else the default.

    Outside a request (the mail-in pipe, CLI commands, RQ jobs, cron) there is no session
    nor browser: messages are built in the default language unless `speaking()` says whose
    they are.
    """
    if not has_request_context():
        return default_locale()
    from flask_login import current_user

    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in LOCALES:
            return current_user.locale
    return request.accept_languages.best_match(LOCALES) or default_locale()


@contextmanager
def speaking(person_or_locale):
    """Build messages in a person's own language (or a locale code) inside this block."""
    locale = getattr(person_or_locale, "locale", person_or_locale)
    with force_locale(locale if locale in LOCALES else default_locale()):
        yield
