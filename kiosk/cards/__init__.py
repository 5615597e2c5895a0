"""QR cards: issue, reissue, revoke, print."""

from flask import Blueprint

bp = Blueprint("cards", __name__, url_prefix="/kartu", cli_group=None)

from . import views  # noqa: E402,F401
