"""Signing in and out, the second factor, throttling, invitations and the language switch."""

import logging
import time
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
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_loaded_from_cookie,
)
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ticketing import mfa, sessions
from ticketing.errors import DomainError
from ticketing.invitations import invitation_token, user_from_invitation
from ticketing.models import User
from ticketing.urls import public_url

log = logging.getLogger("mesa.auth")

bp = Blueprint("auth", __name__)

PENDING_MAX_AGE = 5 * 60  # seconds between the password and the code of one sign-in

# one limiter for every app; `init_app` (below, per app) gives it that app's storage
limiter = Limiter(key_func=get_remote_address, in_memory_fallback_enabled=True, key_prefix="mesa")


@user_loaded_from_cookie.connect
def _restored_sessions_pass_strong_protection(app, user=None, **_extra):
    """A session restored from the remember-me cookie gets the identifier of this browser.

    Flask-Login leaves it out, so "strong" session protection would clear the restored
    session (and the remember cookie) on the very next request.
    """
    from ticketing.web.extensions import login_manager

    session["_id"] = login_manager._session_identifier_generator()


@bp.record
def _init_limiter(state):
    app = state.app
    app.config["RATELIMIT_ENABLED"] = bool(app.config.get("LOGIN_THROTTLE", True))
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)


def _per_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _submitted_account() -> str:
    # known and unknown addresses are counted alike, so throttling tells nobody which exist
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _pending_account() -> str:
    pending = session.get("mfa_pending") or {}
    return f"pending:{pending.get('u', '-')}"


def _not_signed_in(response) -> bool:
    """Count an attempt unless it went on (a redirect): wrong answers are what is throttled."""
    return response.status_code != 302


def _throttled(request_limit):
    """The same page for every throttled sign-in, whether the account exists or not."""
    message = _("Demasiados intentos. Espere unos minutos y vuelva a intentarlo.")
    templates = {
        "auth.login": ("auth/login.html", LoginForm),
        "auth.second_factor": ("auth/second_factor.html", CodeForm),
        "auth.forgot_password": ("auth/forgot_password.html", ForgotPasswordForm),
    }
    template, form_class = templates.get(request.endpoint, templates["auth.login"])
    response = current_app.make_response(
        (render_template(template, form=form_class(), throttled=message), 429)
    )
    response.headers["Retry-After"] = str(max(1, int(request_limit.reset_at - time.time())))
    return response


def _throttle(key_func):
    """Per-account and per-address limits on a sign-in form's POSTs."""

    def decorate(view):
        view = limiter.limit(
            _per_address, methods=["POST"], deduct_when=_not_signed_in, on_breach=_throttled
        )(view)
        return limiter.limit(
            _per_account,
            key_func=key_func,
            methods=["POST"],
            deduct_when=_not_signed_in,
            on_breach=_throttled,
        )(view)

    return decorate


class LoginForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired()])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired()])
    remember = BooleanField(_l("Recordarme en este equipo"))
    next = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(
        _l("Código de la aplicación o código de recuperación"), validators=[DataRequired()]
    )


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


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Contraseña actual"), validators=[DataRequired()])


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


def _renew_session(user: User) -> None:
    """A fresh key for this browser after every sign-in of `user` was revoked."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    sessions.start_session(user, request.user_agent.string)
    login_user(user, remember=remembered in request.cookies)


def _finish_login(user: User, remember: bool, target: str | None):
    """Open a server-side session for `user` and hand its key to Flask-Login's cookies."""
    session.pop("mfa_pending", None)
    sessions.start_session(user, request.user_agent.string)
    login_user(user, remember=remember)
    session["locale"] = user.locale
    return redirect(safe_next(target) or url_for("admin.index"))


@bp.route("/login", methods=["GET", "POST"])
@_throttle(_submitted_account)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = sessions.authenticate(form.email.data, form.password.data)
        if user is not None and mfa.has_mfa(user):
            session["mfa_pending"] = {
                "u": user.id,
                "r": bool(form.remember.data),
                "n": form.next.data or "",
                "t": int(time.time()),
            }
            return redirect(url_for("auth.second_factor"))
        if user is not None:
            return _finish_login(user, form.remember.data, form.next.data)
        flash(_("Correo o contraseña incorrectos."), "error")
    return render_template("auth/login.html", form=form), (
        401 if form.errors or (request.method == "POST") else 200
    )


@bp.route("/login/codigo", methods=["GET", "POST"])
@_throttle(_pending_account)
def second_factor():
    pending = session.get("mfa_pending") or {}
    user = None
    if time.time() - pending.get("t", 0) <= PENDING_MAX_AGE:
        user = User.get_or_none((User.id == pending.get("u")) & (User.active == True))
    if user is None:
        session.pop("mfa_pending", None)
        flash(_("Inicie sesión de nuevo."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if mfa.verify_second_factor(user, form.code.data):
            return _finish_login(user, pending.get("r", False), pending.get("n"))
        flash(_("Código incorrecto."), "error")
    status = 401 if request.method == "POST" else 200
    return render_template("auth/second_factor.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sessions.revoke_session(current_user.session_token)
    logout_user()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))


def request_password_reset(email: str) -> None:
    """Mail a link to choose a new password to the active account of `email`, if any.

    The caller answers the same whether or not the address exists, so the form tells
    nobody who has an account; the link dies once the password it sets has changed.
    """
    from ticketing.outbox import queue_mail, unit_of_work

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
@limiter.limit(_per_address, methods=["POST"], on_breach=_throttled)
@limiter.limit(_per_account, key_func=_submitted_account, methods=["POST"], on_breach=_throttled)
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
        sessions.set_password(user, form.password.data)
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


# --- Seguridad de la cuenta -------------------------------------------------------------

# what a person who must set up a second factor may still reach
_DURING_SETUP = {
    "auth.security",
    "auth.mfa_begin",
    "auth.mfa_confirm",
    "auth.logout",
    "auth.set_locale",
    "auth.login",
    "auth.second_factor",
    "auth.forgot_password",
    "auth.set_password",
}


@bp.before_app_request
def _second_factor_first():
    endpoint = request.endpoint or ""
    if endpoint in _DURING_SETUP or endpoint == "static" or endpoint.endswith(".static"):
        return None
    if endpoint.startswith("api."):  # the API signs in with tokens, not this session
        return None
    if current_user.is_authenticated and mfa.setup_required(current_user):
        flash(_("Active el segundo factor para continuar: su rol lo exige."), "error")
        return redirect(url_for("auth.security"), 303)
    return None


class PolicyForm(FlaskForm):
    require_agq = BooleanField(_l("Exigir segundo factor a las cuentas AGQ"))
    require_aiq = BooleanField(_l("Exigir segundo factor a las cuentas AIQ"))


def _security_page(status=200, **context):
    user = current_user._get_current_object()
    context.setdefault("password_form", ChangePasswordForm(formdata=None))
    context.setdefault("code_form", CodeForm(formdata=None))
    if user.role == "agq" and "policy_form" not in context:
        required = mfa.required_roles()
        context["policy_form"] = PolicyForm(
            formdata=None, require_agq="agq" in required, require_aiq="aiq" in required
        )
    others = sessions.live_sessions(user).count() - 1
    return render_template(
        "auth/security.html",
        user=user,
        may_use_mfa=mfa.may_use_mfa(user),
        has_mfa=mfa.has_mfa(user),
        setup_required=mfa.setup_required(user),
        codes_left=mfa.recovery_codes_left(user),
        other_sessions=max(others, 0),
        **context,
    ), status


def _refused(exc: DomainError, **context):
    flash(exc.message, "error")
    return _security_page(exc.status, **context)


@bp.route("/cuenta/seguridad", methods=["GET"])
@login_required
def security():
    return _security_page()


@bp.route("/cuenta/seguridad/contrasena", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _security_page(422, password_form=form)
    try:
        sessions.change_password(current_user, form.current.data, form.password.data)
    except DomainError as exc:
        for name, message in exc.fields.items():
            getattr(form, name).errors = [message]
        return _refused(exc, password_form=form)
    _renew_session(current_user._get_current_object())
    flash(_("Contraseña cambiada. Sus otras sesiones se cerraron."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/cuenta/seguridad/sesiones", methods=["POST"])
@login_required
def end_other_sessions():
    # this browser gets a new key too, so a copy of its cookie is among those that end
    sessions.revoke_all(current_user)
    _renew_session(current_user._get_current_object())
    flash(_("Se cerraron sus otras sesiones."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/cuenta/seguridad/segundo-factor", methods=["POST"])
@login_required
def mfa_begin():
    try:
        mfa.begin_enrolment(current_user)
    except DomainError as exc:
        return _refused(exc)
    return render_template(
        "auth/mfa_enrol.html",
        secret=current_user.totp_secret,
        uri=mfa.provisioning_uri(current_user),
        form=CodeForm(formdata=None),
    )


@bp.route("/cuenta/seguridad/segundo-factor/confirmar", methods=["POST"])
@login_required
def mfa_confirm():
    form = CodeForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Escriba el código que muestra la aplicación."))
        codes = mfa.confirm_enrolment(current_user, form.code.data)
    except DomainError as exc:
        flash(exc.message, "error")
        user = User.get_by_id(current_user.id)
        if not user.totp_secret or mfa.has_mfa(user):
            return redirect(url_for("auth.security"))
        return render_template(
            "auth/mfa_enrol.html",
            secret=user.totp_secret,
            uri=mfa.provisioning_uri(user),
            form=form,
        ), 422
    flash(_("Segundo factor activado."), "success")
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/cuenta/seguridad/segundo-factor/codigos", methods=["POST"])
@login_required
def mfa_new_codes():
    form = CodeForm()
    try:
        codes = mfa.regenerate_recovery_codes(current_user, form.code.data or "")
    except DomainError as exc:
        return _refused(exc)
    flash(_("Códigos de recuperación nuevos: los anteriores ya no sirven."), "success")
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/cuenta/seguridad/segundo-factor/desactivar", methods=["POST"])
@login_required
def mfa_disable():
    form = CodeForm()
    try:
        mfa.disable(current_user, form.code.data or "")
    except DomainError as exc:
        return _refused(exc)
    flash(_("Segundo factor desactivado."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/cuenta/seguridad/politica", methods=["POST"])
@login_required
def mfa_policy():
    form = PolicyForm()
    chosen = (("agq", form.require_agq.data), ("aiq", form.require_aiq.data))
    roles = [role for role, on in chosen if on]
    try:
        mfa.set_required_roles(current_user, roles)
    except DomainError as exc:
        return _refused(exc)
    flash(_("Política de segundo factor guardada."), "success")
    return redirect(url_for("auth.security"))
