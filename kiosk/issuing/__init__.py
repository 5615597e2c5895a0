"""Staff pages for QR cards: issue, reissue, revoke, preview and print (card rendering itself is
``kiosk.cards``; the token is ``kiosk.tokens``; the registry is ``kiosk.card_registry``)."""

from flask import Blueprint

bp = Blueprint("issuing", __name__, url_prefix="/kartu", cli_group=None)

from . import commands, views  # noqa: E402,F401
