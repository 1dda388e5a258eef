"""The menu entry to Seguridad de la cuenta (the page itself lives in ticketing/web/auth.py)."""

from flask_admin.menu import MenuLink
from flask_babel import lazy_gettext as _l
from flask_login import current_user


class SignedInLink(MenuLink):
    """A menu link shown to signed-in people only."""

    def is_accessible(self):
        return current_user.is_authenticated


def register(admin) -> None:
    """Add Seguridad de la cuenta (password, sessions, second factor) to the menu."""
    admin.add_link(SignedInLink(name=_l("Seguridad de la cuenta"), endpoint="auth.security"))
