"""Signing in and out, invitations to set a password, and the language switch."""

import logging
from urllib.parse import urljoin, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ticketing.models import User
from ticketing.urls import public_url

log = logging.getLogger("mesa.auth")

bp = Blueprint("auth", __name__)

INVITATION_MAX_AGE = 7 * 24 * 3600


class LoginForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired()])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired()])
    remember = BooleanField(_l("Recordarme en este equipo"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired()])


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nueva contraseña"),
        validators=[DataRequired(), Length(min=10, message=_l("Al menos 10 caracteres."))],
    )
    confirm = PasswordField(
        _l("Repita la contraseña"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Las contraseñas no coinciden.")),
        ],
    )


def safe_next(target: str | None) -> str | None:
    """`target` if it stays on this site, else None (no open redirect)."""
    if not target:
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    host = urlsplit(request.host_url)
    test = urlsplit(urljoin(request.host_url, target))
    if test.scheme not in ("http", "https") or test.netloc != host.netloc:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="mesa-invitation")


def invitation_token(user: User) -> str:
    """A signed link token, void once the password it sets has changed."""
    return _serializer().dumps({"u": user.id, "p": (user.password_hash or "")[-12:]})


def user_from_invitation(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=INVITATION_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    user = User.get_or_none(User.id == data.get("u"))
    if user is None or (user.password_hash or "")[-12:] != data.get("p"):
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = User.get_or_none(User.email == form.email.data.strip().lower())
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            session["locale"] = user.locale
            return redirect(safe_next(form.next.data) or url_for("admin.index"))
        flash(_("Correo o contraseña incorrectos."), "error")
    return render_template("auth/login.html", form=form), (
        401 if form.errors or (request.method == "POST") else 200
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))


def request_password_reset(email: str) -> None:
    """Mail a link to choose a new password to the active account of `email`, if any.

    The caller answers the same whether or not the address exists, so the form tells
    nobody who has an account; the link dies once the password it sets has changed.
    """
    from notifications.outbox import queue_mail, unit_of_work

    user = User.get_or_none((User.email == email.strip().lower()) & (User.active == True))
    if user is None:
        log.info("password reset asked for an unknown or inactive address")
        return
    context = {
        "name": user.full_name,
        "url": public_url(f"/password/{invitation_token(user)}"),
        "login_url": public_url("/login"),
    }
    with unit_of_work():
        queue_mail("password_reset", user, context=context)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        flash(
            _(
                "Si el correo está registrado, le enviamos un enlace para elegir una "
                "contraseña nueva. El correo nunca contiene contraseñas."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token):
    user = user_from_invitation(token)
    if user is None:
        abort(404)
    form = SetPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data)
        user.save()
        flash(_("Contraseña guardada. Ya puede iniciar sesión."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, user=user)


@bp.route("/locale/<code>", methods=["POST"])
def set_locale(code):
    if code not in ("es", "en"):
        abort(404)
    session["locale"] = code
    if current_user.is_authenticated:
        User.update(locale=code).where(User.id == current_user.id).execute()
    return redirect(safe_next(request.form.get("next")) or url_for("admin.index"))
