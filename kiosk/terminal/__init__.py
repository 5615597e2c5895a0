"""The public kiosk screens in the aula (named ``terminal`` to avoid ``kiosk.kiosk``)."""

from flask import Blueprint

bp = Blueprint("terminal", __name__, url_prefix="/kiosk", cli_group=None)

from . import commands, views  # noqa: E402,F401
