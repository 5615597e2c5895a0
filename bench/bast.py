"""BAST: the handover report (kiosk.reports.bast.bast_pdf) of a distribution with 1,000 recipients
(and 200 eligible workers who did not come), read live from the database, in an app context.
Median of REPEATS. Goal: under 5 s."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta, timezone

from . import dataset
from .common import BenchResult, Context, median

REPEATS = 3
GOAL_S = 5.0


def _prepare(ctx: Context, recipients: int) -> tuple:
    instance = dataset.make_instance(ctx, "bast")
    db = instance / "kiosk.sqlite3"
    dataset.load_sqlite(db, recipients + recipients // 5, dataset.key_ring(instance).current_id)
    distribution = dataset.add_distribution_sqlite(db, packages=recipients + 50)
    start = datetime.now(timezone.utc) - timedelta(hours=6)
    con = sqlite3.connect(db, isolation_level=None)
    try:
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO collection (distribution_id, worker_id, card_id, station, seq, collected_at, proxy_name, "
            "proxy_relation) VALUES (?,?,?,?,?,?,?,?)",
            ((distribution, w, w, f"Meja {w % 4 + 1}", w,
              (start + timedelta(seconds=20 * w)).replace(tzinfo=None).isoformat(sep=" "),
              "Siti Aminah" if w % 25 == 0 else None, "istri" if w % 25 == 0 else None)
             for w in range(1, recipients + 1)))
        con.execute(
            "UPDATE distribution SET packages_given = ?, next_seq = ?, bast_number = '027/BAST/DISNAKER/2026', "
            "official_name = 'Drs. H. Ahmad Yani, M.Si', official_nip = '196805121994031007', "
            "official_title = 'Kepala Dinas', receiver_name = 'Rudi Hartono', receiver_title = 'Kepala Desa', "
            "witness1_name = 'Sri Wahyuni', witness2_name = 'Joko Susilo' WHERE id = ?",
            (recipients, recipients + 1, distribution))
        con.execute("COMMIT")
    finally:
        con.close()
    return instance, distribution


def run(ctx: Context) -> BenchResult:
    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.models import Distribution
    from kiosk.reports.bast import bast_pdf

    result = BenchResult("bast")
    recipients = ctx.size(1_000, 200)
    instance, distribution_id = _prepare(ctx, recipients)
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'kiosk.sqlite3'}"})
    times, size, pages = [], 0, None
    with app.app_context():
        for _ in range(REPEATS if not ctx.quick else 1):
            db.session.expire_all()
            distribution = db.session.get(Distribution, distribution_id)
            t0 = time.perf_counter()
            pdf = bast_pdf(distribution, app.config["OFFICE_NAME"], app.config["REGENCY_NAME"])
            times.append(time.perf_counter() - t0)
            size = len(pdf)
        db.session.remove()
        db.engine.dispose()
    try:
        import pypdfium2

        doc = pypdfium2.PdfDocument(pdf)
        pages = len(doc)
        text = doc[pages - 1].get_textpage().get_text_range() if pages else ""
        doc.close()
    except Exception:  # noqa: BLE001 - a sanity check only
        text = ""
    took = median(times)
    result.raw = {"recipients": recipients, "seconds": times, "bytes": size, "pages": pages}
    result.add(f"BAST PDF, {recipients:,} recipients", took, "s", goal=f"< {GOAL_S:.0f} s", met=took < GOAL_S,
               note=f"{pages} pages, {size / 1e3:.0f} kB" + ("" if not text or "Halaman" in text else "; no page footer found?"))
    return result
