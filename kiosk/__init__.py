"""Kiosk BPU: enrollment, QR cards, coverage kiosk and sembako distribution for the
Dinas Ketenagakerjaan Kabupaten Muara Enim.

``create_app`` reads like a table of contents: configuration, extensions, the web layer
(locale, security headers, errors), blueprints (with their CLI commands).
"""

from __future__ import annotations

import os
from pathlib import Path
from weakref import WeakSet

from flask import Flask
from sqlalchemy.engine import make_url

from . import config as config_module
from . import private_files

ROOT = Path(__file__).resolve().parent.parent
VENDOR_MAX_AGE = 365 * 24 * 3600


class KioskFlask(Flask):
    """Flask, with the vendored files (their version is in their name) cached for a year, so a
    kiosk loads the 1 MB QR decoder once instead of revalidating it on every start."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if filename and filename.startswith("vendor/"):
            return VENDOR_MAX_AGE
        return super().get_send_file_max_age(filename)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: WeakSet = WeakSet()

    def ensure_sync(self, func):
        """Flask's, remembered per function: Flask asks ``inspect.iscoroutinefunction`` of every
        hook and view on every request (17 times per kiosk scan), and a function's answer never
        changes. Held weakly: an ``after_this_request`` closure is forgotten with its request."""
        try:
            if func in self._sync_functions:
                return func
        except TypeError:  # cannot be held weakly: asked every time
            return super().ensure_sync(func)
        found = super().ensure_sync(func)
        if found is func:
            self._sync_functions.add(func)
        return found

    def start_background_jobs(self) -> None:
        """Start what a serving process runs beside the requests: the backup scheduler. Called by
        gunicorn for each worker (``gunicorn.conf.py``), never by the CLI or the tests' apps."""
        from .backup import start_scheduler

        start_scheduler(self)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. Config layers: defaults, ``instance/config.py``, environment, ``test_config``."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "KIOSK_INSTANCE_PATH"
    ) or str(ROOT / "instance")
    app = KioskFlask(
        __name__,
        instance_path=str(Path(instance_path).resolve()),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    init_extensions(app)
    init_web(app)
    register_blueprints(app)
    return app


def load_config(app: Flask, test_config: dict | None) -> None:
    """Layer the configuration and make sure ``instance/``, the secrets folder and the secret key
    exist (the secret key is made on first use unless given: see ``kiosk.installation``), and
    that what the app keeps on disk is the office's alone (``kiosk.private_files``)."""
    private_files.private_dir(app.instance_path)
    app.config.from_object(config_module.Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
        Path(app.instance_path) / "kiosk.sqlite3"
    )
    app.config.update(config_module.from_pyfile(app.instance_path))
    app.config.update(config_module.from_environment(os.environ))
    if test_config:
        app.config.update(config_module.canonical(test_config))
    secrets_dir = Path(app.config.get("SECRETS_DIR") or app.instance_path).resolve()
    private_files.private_dir(secrets_dir)
    app.config["SECRETS_DIR"] = str(secrets_dir)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key(secrets_dir)
    # What an older version (or a person) left readable to others is tightened at every start.
    private_files.tighten(app.instance_path)
    private_files.tighten(secrets_dir)
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        private_files.sqlite_files(database.database)
    if database.get_backend_name() == "sqlite":
        # A ping finds a connection a database server dropped; a file has no server to drop it,
        # and the ping is a statement on every checkout (every request, every kiosk scan).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if app.config.get("RATELIMIT_STORAGE"):
        app.logger.warning("KIOSK_RATELIMIT_STORAGE is no longer used: every limit is counted in the "
                           "database, shared by every server process (kiosk.throttle). Remove it.")
    if app.config["PREFER_HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))


def init_extensions(app: Flask) -> None:
    """Bind the unbound extensions of ``kiosk.extensions`` to this app."""
    from flask_login import current_user

    from . import throttle
    from .database import configure_engine
    from .extensions import babel, csrf, db, htmx, login_manager, migrate
    from .i18n import select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    throttle.init_app(app)
    # Templates get the signed-in staff member as a proxy, loaded when a template asks: a kiosk
    # screen, which never does, then loads no one (Flask-Login's own processor loads eagerly).
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})


def init_web(app: Flask) -> None:
    """Request-level behaviour shared by every page: locale, headers, errors, template helpers,
    and the static files (compressed, versioned: ``kiosk.static_files``)."""
    from . import clock, errors, i18n, settings, static_files, web

    i18n.init_app(app)
    web.init_app(app)
    static_files.init_app(app)
    settings.init_app(app)
    clock.init_app(app)
    errors.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per area of the product; each registers its own CLI commands
    (``Blueprint(..., cli_group=None)``), so they appear as ``flask --app kiosk <command>``."""
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .issuing import bp as issuing_bp
    from .distributions import bp as distributions_bp
    from .dashboard import bp as dashboard_bp
    from .terminal import bp as terminal_bp
    from .workers import bp as workers_bp

    for bp in (auth_bp, dashboard_bp, workers_bp, issuing_bp, distributions_bp, admin_bp, terminal_bp):
        app.register_blueprint(bp)

