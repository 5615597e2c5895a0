"""Sign-in, sign-out and first-run setup pages."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from ..i18n import _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from .. import staff as accounts
from .. import throttle
from ..database import utcnow, write_transaction
from ..extensions import db
from ..models import Staff
from ..web import safe_next
from . import bp, setup
from .access import SEEN_KEY
from .forms import LoginForm, SetupForm


def _sign_in_attempt(username: str) -> throttle.Attempt:
    """Reserve this sign-in's place in its limits (``kiosk.throttle``): failures per username
    from this address, so a stranger's guesses never lock the owner out from another address,
    and failures from this address over every username."""
    address = request.remote_addr or "-"
    return throttle.attempt(
        (throttle.key("login", username, address), throttle.limit("LOGIN_LIMIT_PER_USER")),
        (throttle.key("login-address", address), throttle.limit("LOGIN_LIMIT_PER_ADDRESS")),
    )


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    """Staff sign-in. A fresh session is started on success (no session fixation). Failures are
    limited (``_sign_in_attempt``): over a limit the password is not even looked at (429)."""
    if not setup.admin_exists():
        return redirect(url_for("auth.first_run"))
    next_url = safe_next(request.values.get("next"), url_for("dashboard.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        try:
            attempt = _sign_in_attempt(username)
        except throttle.TooMany as too_many:
            form.password.errors.append(too_many.message)
            return (render_template("auth/login.html", form=form, next=next_url), 429,
                    {"Retry-After": str(too_many.seconds)})
        staff = db.session.scalar(select(Staff).where(func.lower(Staff.username) == username))
        if not accounts.verify_password(staff, form.password.data):  # an unknown name costs a hash too
            g.login_failed = True
            form.password.errors.append(_l("Nama pengguna atau kata sandi salah."))
        elif not staff.active:
            g.login_failed = True
            form.password.errors.append(_l("Akun ini dinonaktifkan. Hubungi admin."))
        else:
            attempt.succeeded()
            with write_transaction():
                staff.last_login_at = utcnow()
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(staff)
            session[SEEN_KEY] = int(utcnow().timestamp())
            return redirect(next_url)
    status = 401 if g.get("login_failed") else 200
    return render_template("auth/login.html", form=form, next=next_url), status


@bp.post("/keluar")
def logout():
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash(_l("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def first_run():
    """Create the first admin with the setup code printed on the server console."""
    if setup.admin_exists():
        flash(_l("Aplikasi sudah disiapkan. Silakan masuk."), "info")
        return redirect(url_for("auth.login"))
    # The code itself never goes to the log (log files outlive the setup); the console of
    # `make run` prints it, as does `flask --app kiosk setup-code`.
    current_app.logger.warning("Setup is open: run `flask --app kiosk setup-code` to get a one-time setup code")
    form = SetupForm()
    if form.validate_on_submit():
        staff = None
        try:
            attempt = throttle.attempt((throttle.key("setup", request.remote_addr or "-"), throttle.SETUP_LIMIT))
        except throttle.TooMany as too_many:
            form.code.errors.append(too_many.message)
            return render_template("auth/setup.html", form=form), 429, {"Retry-After": str(too_many.seconds)}
        try:
            with write_transaction():
                # The code is used up in the admin's own transaction: both land, or neither.
                if setup.take_code(form.code.data):
                    staff = accounts.create(form.username.data, form.full_name.data, "admin", form.password.data,
                                            by=None)
        except accounts.StaffError as error:
            attempt.succeeded()  # the code was not the problem (it is not used up either)
            getattr(form, error.field).errors.append(error.message)
        else:
            if staff is None:
                form.code.errors.append(_l("Kode penyiapan salah atau sudah dipakai."))
            else:
                attempt.succeeded()
                session.clear()
                login_user(staff)
                session[SEEN_KEY] = int(utcnow().timestamp())
                flash(_l("Admin pertama dibuat. Selamat datang!"), "success")
                return redirect(url_for("dashboard.home"))
    return render_template("auth/setup.html", form=form), (400 if form.errors else 200)
