"""The registry's probable duplicates (``kiosk.duplicates``): a list to clean up what is
already enrolled, and "orang berbeda" for a pair that is two people."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from .. import duplicates
from ..auth import staff_required
from ..extensions import db
from ..i18n import _l
from ..models import Worker
from . import bp

PAGE = 50


def _after(raw: str) -> tuple[int, int] | None:
    first, _sep, second = (raw or "").partition("-")
    if first.isdigit() and second.isdigit() and len(first) < 12 and len(second) < 12:
        return int(first), int(second)
    return None


@bp.get("/kemungkinan-ganda")
@staff_required
def probable_list():
    """Pairs of enrolled workers that are probably one person, a page at a time: open either,
    correct or delete the wrong one, or confirm "orang berbeda" with a reason."""
    after = _after(request.args.get("setelah", ""))
    if after is None:
        pairs, total = duplicates.registry_first_page(limit=PAGE + 1)
    else:
        pairs, total = duplicates.registry_pairs(after=after, limit=PAGE + 1), None
    more = len(pairs) > PAGE
    pairs = pairs[:PAGE]
    next_after = f"{pairs[-1].first.id}-{pairs[-1].second.id}" if more and pairs else None
    return render_template("workers/probable.html", pairs=pairs, next_after=next_after, total=total,
                           more_than=total is not None and total > duplicates.COUNT_CAP,
                           cap=duplicates.COUNT_CAP, errors={}, reasons={})


@bp.post("/kemungkinan-ganda/<int:first_id>/<int:second_id>/berbeda")
@staff_required
def probable_different(first_id: int, second_id: int):
    """Staff confirm that two workers are different people, with a reason (audited)."""
    first = db.get_or_404(Worker, first_id)
    second = db.get_or_404(Worker, second_id)
    try:
        duplicates.confirm_different(first, second, request.form.get("reason"), staff=current_user)
    except duplicates.ReasonError as exc:
        key = f"{first.id}-{second.id}"
        pairs = [duplicates.Pair(first, second, "")]
        html = render_template("workers/probable.html", pairs=pairs, next_after=None, total=None,
                               errors={key: exc.message}, reasons={key: request.form.get("reason", "")})
        return make_response(html, 422)
    flash(_l("Dicatat: %(a)s dan %(b)s orang berbeda.", a=first.name, b=second.name), "success")
    return redirect(url_for("workers.probable_list"), 303)
