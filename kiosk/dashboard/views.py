"""Staff home (dashboard) and report downloads."""

from flask import render_template
from sqlalchemy import func, select

from ..auth import staff_required
from ..extensions import db
from ..models import Card, Worker
from . import bp


@bp.get("/")
@staff_required
def home():
    """The staff home page: the state of enrollment and aid at a glance."""
    figures = {
        "workers": db.session.scalar(select(func.count(Worker.id))),
        "cards": db.session.scalar(select(func.count(Card.id)).where(Card.revoked_at.is_(None))),
    }
    return render_template("dashboard/home.html", figures=figures)
