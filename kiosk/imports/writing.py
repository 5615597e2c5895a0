"""Writing a confirmed import: every accepted row in ONE transaction, audited, all or nothing,
after checking the rows again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import duplicates, enrollment
from ..audit import record, snapshot
from ..database import write_transaction
from ..extensions import db
from ..i18n import _l
from ..models import Staff, Worker
from .checking import ImportPreview, RowResult, check_rows, chunks, preview_of
from .previews import ImportExpired, discard, load, save
from .reading import ImportFileError


def _gone_meanwhile() -> ImportExpired:
    return ImportExpired(_l("Pratinjau impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))


class ImportChanged(Exception):
    """The data changed between preview and confirm; ``preview`` is the new one (saved)."""

    def __init__(self, preview: "ImportPreview"):
        super().__init__("import changed since preview")
        self.preview = preview


@dataclass
class ImportOutcome:
    """What ``commit`` wrote."""

    added: int
    updated: int
    refused: int
    # [[line, [reason, ...]], ...] of the rows not written, and the upload they came from.
    refused_rows: list = field(default_factory=list)
    upload: str | None = None


def commit(preview_or_token: ImportPreview | str, *, staff: Staff | None, today: date | None = None) -> ImportOutcome:
    """Write every accepted row of a preview (or of the preview saved under a token) in ONE
    transaction, audited: all rows or none. The rows are checked again first; when the answer
    changed since the preview (someone enrolled one of those NIKs meanwhile), nothing is
    written and ``ImportChanged`` carries the new preview (saved, with a new token)."""
    if isinstance(preview_or_token, str):
        shown = load(preview_or_token, staff=staff)
    else:
        shown = preview_or_token
    rows = [(r.line, r.data) for r in shown.rows]
    before = [(r.line, r.action) for r in shown.rows]
    different = {r.line: r.different for r in shown.rows if r.different}
    try:
        with write_transaction():
            # The preview goes with the import, in its transaction: imported once, whichever
            # server (or tab) is asked twice; a second confirm finds it gone.
            if shown.token and not discard(shown.token):
                raise _gone_meanwhile()
            fresh = check_rows(rows, today=today, different=different)
            if [(r.line, r.action) for r in fresh] != before:
                changed = preview_of(rows, shown.columns, shown.filename, today, different)
                changed.upload, changed.header_line = shown.upload, shown.header_line
                changed.header, changed.fields = shown.header, shown.fields
                raise ImportChanged(changed)
            workers = _existing_workers(fresh)
            adding = [r for r in fresh if r.action == "add"]
            added = _insert_new(adding, staff)
            _record_different(adding, staff)
            updated = 0
            for row in fresh:
                if row.action == "update":
                    worker = workers[row.worker_id]
                    enrollment.apply_update(worker, row.clean, staff=staff)
                    if row.coverage:
                        enrollment.insert_coverage(worker, staff=staff, **row.coverage)
                    updated += 1
    except ImportChanged as changed:
        if shown.token:
            discard(shown.token)
        save(changed.preview, staff=staff)
        raise
    except IntegrityError:
        raise ImportFileError(
            _l("Impor dibatalkan, tidak ada yang disimpan: sebagian NIK/KPJ baru saja didaftarkan petugas lain. "
               "Unggah berkasnya sekali lagi.")
        ) from None
    except enrollment.Refused as exc:
        raise ImportFileError(_l("Impor dibatalkan, tidak ada yang disimpan: %(why)s", why=exc.message)) from None
    from .uploads import refused_of

    return ImportOutcome(added=added, updated=updated, refused=len(fresh) - added - updated,
                         refused_rows=refused_of(fresh), upload=shown.upload)


def _insert_new(rows: list[RowResult], staff: Staff | None) -> int:
    """Add the new workers (and their first periods) with their audit events, as
    ``enrollment.insert_worker`` does one by one, but flushed in a few batched INSERTs: a
    10,000-row import then holds the write lock for a second or two, not for 10,000 flushes."""
    workers = [enrollment.new_worker(row.clean, staff=staff) for row in rows]
    db.session.add_all(workers)
    db.session.flush()
    periods = []
    for worker, row in zip(workers, rows):
        row.worker_id = worker.id
        record("worker.create", worker, after=snapshot(worker, enrollment.WORKER_FIELDS), staff=staff)
        if row.coverage:
            periods.append(enrollment.new_period(worker, staff=staff, **row.coverage))
    if periods:
        db.session.add_all(periods)
        db.session.flush()
        for period in periods:
            record("coverage.create", period, after=snapshot(period, enrollment.COVERAGE_FIELDS), staff=staff)
    db.session.flush()
    return len(workers)


def _record_different(added: list[RowResult], staff: Staff | None) -> None:
    """The "orang berbeda" staff confirmed in the preview, recorded (and audited) with the new
    workers: against the enrolled worker, or the worker just added from the earlier row."""
    new_ids = {row.line: row.worker_id for row in added}
    for row in added:
        if not row.different:
            continue
        for probable in row.probable:
            other = probable.worker_id if probable.line is None else new_ids.get(probable.line)
            if other is not None:
                duplicates.record_different(row.worker_id, other, row.different, staff=staff)


def _existing_workers(results: list[RowResult]) -> dict[int, Worker]:
    ids = sorted({r.worker_id for r in results if r.action == "update"})
    found: dict[int, Worker] = {}
    for chunk in chunks(ids):
        for worker in db.session.scalars(select(Worker).where(Worker.id.in_(chunk))):
            found[worker.id] = worker
    return found
