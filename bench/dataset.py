"""Benchmark data: a migrated schema, then enrolled workers bulk-loaded straight into it.

The schema always comes from the app's own migrations (``flask db upgrade``), so the benchmarks
query exactly the tables and indexes production has. Rows are then written with the database
driver in one transaction (SQLite: ``executemany`` with the secondary indexes dropped and rebuilt
afterwards; PostgreSQL: ``COPY``), which loads 1,000,000 workers + coverage + cards in well under
a minute instead of the hours the ORM would take.

Every worker has a valid Muara Enim NIK (kecamatan code, birth date, +40 on the day for women,
serial), one JKK+JKM coverage period that is active today, and one valid card whose id equals the
worker's id; tokens are signed with the instance's real card key ring.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .common import ROOT, Context

FIRST = ("Ahmad", "Siti", "Budi", "Dewi", "Rudi", "Sri", "Agus", "Nur", "Hendra", "Yanti", "Eko", "Rina",
         "Joko", "Wati", "Dedi", "Ani", "Slamet", "Lestari", "Bambang", "Fitri", "Iwan", "Maya", "Rahmat", "Sari")
LAST = ("Saputra", "Aminah", "Hidayat", "Wulandari", "Kurniawan", "Susanti", "Pratama", "Rahayu", "Setiawan",
        "Handayani", "Gunawan", "Purnamasari", "Nugroho", "Marlina", "Syahputra", "Yusuf", "Harahap", "Lubis")
OCCUPATIONS = ("Petani", "Pekebun karet", "Pedagang", "Ojek", "Nelayan", "Buruh harian", "Penjahit", "Tukang")
DESK_SECRET = "bench-secret-key-not-for-production-use-0123456789abcdef"
BIRTH_DAYS = 14_600  # birth dates spread over 40 years
TABLES = ("worker", "coverage", "card")


def credential_hash(credential: str) -> str:
    """What kiosk/terminal/pairing stores for a device credential (SHA-256 hex)."""
    return hashlib.sha256(credential.encode()).hexdigest()


def _utc_text(moment: datetime) -> str:
    # How SQLAlchemy's DateTime stores a (naive UTC) value in SQLite.
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def name_key(name: str) -> str:
    """The name as the app compares it for duplicates (``worker.name_key``)."""
    from kiosk.duplicates import name_key as key

    return key(name)


def today_jakarta() -> date:
    from kiosk.coverage import today_jakarta as today

    return today()


# ---- the schema ---------------------------------------------------------------------------------


def _quiet_app(instance: Path, extra: dict | None = None):
    import logging

    from kiosk import create_app

    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = {"INSTANCE_PATH": str(instance), "SECRET_KEY": DESK_SECRET, "TESTING": False}
    config.update(extra or {})
    return create_app(config)


def migrate(instance: Path, database_url: str | None = None) -> None:
    """Run the app's migrations into ``instance`` (SQLite file there) or ``database_url``."""
    from flask_migrate import upgrade

    from kiosk.extensions import db

    app = _quiet_app(instance, {"SQLALCHEMY_DATABASE_URI": database_url} if database_url else None)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def schema_template(ctx: Context) -> Path:
    """A migrated, empty SQLite database, made once per run."""
    path = ctx.shared.get("sqlite_template")
    if path is None:
        instance = ctx.work / "template"
        instance.mkdir(parents=True, exist_ok=True)
        migrate(instance)
        path = instance / "kiosk.sqlite3"
        ctx.shared["sqlite_template"] = path
    return path


def make_instance(ctx: Context, name: str, sqlite: bool = True) -> Path:
    """A fresh instance folder: known secret key, the card key ring, and (SQLite) an empty migrated
    database copied from the template."""
    instance = ctx.work / name
    if instance.exists():
        shutil.rmtree(instance)
    instance.mkdir(parents=True)
    (instance / "secret_key").write_text(DESK_SECRET + "\n")
    os.chmod(instance / "secret_key", 0o600)
    if sqlite:
        shutil.copy(schema_template(ctx), instance / "kiosk.sqlite3")
    key_ring(instance)
    return instance


def key_ring(instance: Path):
    """The instance's card-signing key ring (created on first use, as the app does)."""
    from kiosk.tokens import KeyRing

    return KeyRing.load_or_create(instance / "card-keys")


def tokens_for(instance: Path, card_ids) -> list[str]:
    """The QR tokens of ``card_ids``, signed as the app signs them."""
    from kiosk.tokens import sign

    ring = key_ring(instance)
    return [sign(int(i), ring) for i in card_ids]


# ---- rows ---------------------------------------------------------------------------------------


def _kecamatan_codes() -> list[str]:
    from kiosk.wilayah import kecamatan_list

    return [k.code for k in kecamatan_list()]


class NikMaker:
    """Valid, unique Muara Enim NIKs, cheaply: the n-th NIK (0-based) spreads workers over every
    kecamatan, 40 years of birth dates and both sexes, then counts up the serial."""

    def __init__(self):
        self.codes = _kecamatan_codes()
        base = date(1960, 1, 1)
        self.births = [base + timedelta(days=d) for d in range(BIRTH_DAYS)]
        # ddmmyy per sex: women's day + 40 (the NIK rule).
        self.middle = {
            sex: [f"{b.day + (40 if sex == 'P' else 0):02d}{b.month:02d}{b.year % 100:02d}" for b in self.births]
            for sex in ("L", "P")
        }

    def __call__(self, n: int) -> tuple[str, str, date]:
        """(NIK, sex, birth date) of the ``n``-th worker; unique for every ``n`` < 10**8."""
        codes = self.codes
        kec = codes[n % len(codes)]
        rest = n // len(codes)
        day = rest % BIRTH_DAYS
        rest //= BIRTH_DAYS
        sex = "L" if rest % 2 == 0 else "P"
        return f"{kec}{self.middle[sex][day]}{rest // 2 + 1:04d}", sex, self.births[day]


def check_niks(count: int) -> None:
    """Refuse to benchmark with NIKs the app itself would call invalid (a sample is parsed)."""
    from kiosk.nik import parse_nik

    make = NikMaker()
    step = max(1, count // 50)
    for n in list(range(0, count, step)) + [count - 1]:
        nik, sex, birth = make(n)
        result = parse_nik(nik, birth_date=birth, sex=sex)
        if not result.ok:
            raise RuntimeError(f"generated NIK {nik} is invalid: {[str(e) for e in result.errors]}")


class FallbackCodes:
    """Unique, well-formed fallback codes (10 digits + Verhoeff check digit), in increasing order
    of the card id so a bulk load appends to the unique index instead of scattering into it. The
    check digit is computed from two precomputed halves (the per-code loop in Python would cost
    more than the whole insert)."""

    def __init__(self):
        from kiosk.tokens.fallback_code import _D, _P

        self._d, self._p = _D, _P
        self.low = []  # Verhoeff state after the 5 low digits (positions 1..5, from the right)
        for low in range(100_000):
            c = 0
            for i, ch in enumerate(reversed(f"{low:05d}")):
                c = _D[c][_P[(i + 1) % 8][ord(ch) - 48]]
            self.low.append(c)
        self._high: dict[int, list[int]] = {}

    def _finish(self, high: int) -> list[int]:
        row = self._high.get(high)
        if row is None:
            row = []
            for start in range(10):
                c = start
                for i, ch in enumerate(reversed(f"{high:05d}"), start=5):
                    c = self._d[c][self._p[(i + 1) % 8][ord(ch) - 48]]
                row.append(c)
            self._high[high] = row
        return row

    def check_digits(self, high: int) -> list[str]:
        """The check digit for each Verhoeff state (0-9) left by the low half, given the high half."""
        from kiosk.tokens.fallback_code import _INV

        return [str(_INV[c]) for c in self._finish(high)]

    def __call__(self, n: int) -> str:
        body = 1_000_000_000 + n  # ten digits, increasing with n
        high, low = divmod(body, 100_000)
        return f"{body:010d}{self.check_digits(high)[self.low[low]]}"


def worker_rows(first_id: int, count: int, created, niks: list[tuple[str, str, date]], *, iso: bool = True):
    """Worker rows for ids ``first_id`` .. (``niks[id - 1]`` is the worker's NIK); dates as ISO text
    for SQLite (``iso``), as dates for PostgreSQL."""
    for wid in range(first_id, first_id + count):
        nik, sex, birth = niks[wid - 1]
        name = f"{FIRST[wid % len(FIRST)]} {LAST[(wid // len(FIRST)) % len(LAST)]}"
        yield (wid, nik, name, name_key(name), sex, "Muara Enim", birth.isoformat() if iso else birth, f"Dusun {wid % 9 + 1}",
               nik[:6], None, "Desa Contoh", OCCUPATIONS[wid % len(OCCUPATIONS)], None, None,
               1_000_000 + (wid % 20) * 100_000, None, created)


def load_sqlite(db_path: Path, count: int, key_id: str) -> dict[str, float]:
    """Bulk-load ``count`` workers, each with an active coverage period and a valid card (card id
    = worker id), into a migrated, empty SQLite database. Returns seconds per phase and "total".

    The rows are made by SQLite itself (``INSERT ... SELECT`` over a counting CTE joined to small
    lookup tables: kecamatan codes, birth dates, names, the two halves of the Verhoeff check
    digit), with the secondary indexes dropped during the load and rebuilt after it: a Python
    loop over a million rows would cost more than the whole insert."""
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str, since=[t0]) -> None:  # noqa: B006 - a running clock
        now = time.perf_counter()
        phases[name] = round(now - since[0], 3)
        since[0] = now

    check_niks(count)
    niks = NikMaker()
    codes_for = FallbackCodes()
    now = datetime.now(timezone.utc)
    created = _utc_text(now)
    today = today_jakarta()
    start, end = (today - timedelta(days=30)).isoformat(), (today + timedelta(days=60)).isoformat()
    first_body = 1_000_000_000
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -400000",
                       "foreign_keys = OFF", "temp_store = MEMORY"):
            con.execute(f"PRAGMA {pragma}")  # a load that fails is simply thrown away
        con.execute("CREATE TEMP TABLE b_kec (i INTEGER PRIMARY KEY, code TEXT)")
        con.executemany("INSERT INTO b_kec VALUES (?, ?)", enumerate(niks.codes))
        con.execute("CREATE TEMP TABLE b_birth (i INTEGER PRIMARY KEY, iso TEXT, mid_l TEXT, mid_p TEXT)")
        con.executemany("INSERT INTO b_birth VALUES (?, ?, ?, ?)", (
            (i, b.isoformat(), niks.middle["L"][i], niks.middle["P"][i]) for i, b in enumerate(niks.births)))
        for table, words in (("b_first", FIRST), ("b_last", LAST), ("b_occ", OCCUPATIONS)):
            con.execute(f"CREATE TEMP TABLE {table} (i INTEGER PRIMARY KEY, word TEXT)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", enumerate(words))
        con.execute("CREATE TEMP TABLE b_name_key (i INTEGER PRIMARY KEY, key TEXT)")
        con.executemany("INSERT INTO b_name_key VALUES (?, ?)", (
            (f * len(LAST) + l, name_key(f"{first} {last}"))
            for f, first in enumerate(FIRST) for l, last in enumerate(LAST)))
        con.execute("CREATE TEMP TABLE b_low (i INTEGER PRIMARY KEY, c INTEGER)")
        con.executemany("INSERT INTO b_low VALUES (?, ?)", enumerate(codes_for.low))
        con.execute("CREATE TEMP TABLE b_fin (k INTEGER PRIMARY KEY, d TEXT)")
        con.executemany("INSERT INTO b_fin VALUES (?, ?)", (
            (high * 10 + c, digit)
            for high in range(first_body // 100_000, (first_body + count) // 100_000 + 1)
            for c, digit in enumerate(codes_for.check_digits(high))))

        lap("lookup tables")
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({','.join('?' * len(TABLES))})", TABLES,
        ).fetchall()
        con.execute("BEGIN")
        for name, _sql in indexes:
            con.execute(f'DROP INDEX "{name}"')
        k, d = len(niks.codes), BIRTH_DAYS
        counting = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) "
        params = {"count": count, "created": created, "k": k, "d": d}
        # worker n (1-based) has NIK number n - 1 of NikMaker (see nik_of there).
        con.execute(counting + f"""
            INSERT INTO worker (id, nik, name, name_key, sex, birth_place, birth_date, address, kecamatan_code,
                                desa_code, desa_name, occupation, phone, kpj, income, photo, created_at)
            SELECT s.n,
                   kc.code || (CASE WHEN ((s.n - 1) / :k / :d) % 2 = 0 THEN b.mid_l ELSE b.mid_p END)
                           || printf('%04d', (s.n - 1) / :k / :d / 2 + 1),
                   f.word || ' ' || l.word, nk.key,
                   CASE WHEN ((s.n - 1) / :k / :d) % 2 = 0 THEN 'L' ELSE 'P' END,
                   'Muara Enim', b.iso, 'Dusun ' || (s.n % 9 + 1), kc.code, NULL, 'Desa Contoh', o.word,
                   NULL, NULL, 1000000 + (s.n % 20) * 100000, NULL, :created
            FROM s
            JOIN b_kec kc ON kc.i = (s.n - 1) % :k
            JOIN b_birth b ON b.i = ((s.n - 1) / :k) % :d
            JOIN b_first f ON f.i = s.n % {len(FIRST)}
            JOIN b_last l ON l.i = (s.n / {len(FIRST)}) % {len(LAST)}
            JOIN b_name_key nk ON nk.i = (s.n % {len(FIRST)}) * {len(LAST)} + (s.n / {len(FIRST)}) % {len(LAST)}
            JOIN b_occ o ON o.i = s.n % {len(OCCUPATIONS)}
        """, params)
        lap("worker")
        con.execute(counting + """
            INSERT INTO coverage (id, worker_id, jkk, jkm, jht, start_date, end_date, funder, income_basis,
                                  monthly_contribution, created_at)
            SELECT n, n, 1, 1, 0, :start, :end, 'Pemkab Muara Enim', 1000000, 16800, :created FROM s
        """, {**params, "start": start, "end": end})
        lap("coverage")
        con.execute(counting + f"""
            INSERT INTO card (id, worker_id, fallback_code, key_id, issued_at)
            SELECT s.n, s.n, printf('%010d', {first_body} + s.n) || fin.d, :key, :created
            FROM s
            JOIN b_low lo ON lo.i = ({first_body} + s.n) % 100000
            JOIN b_fin fin ON fin.k = (({first_body} + s.n) / 100000) * 10 + lo.c
        """, {**params, "key": key_id})
        lap("card")
        for _name, sql in indexes:
            con.execute(sql)
        lap("indexes")
        con.execute("COMMIT")
        lap("commit")
        con.execute("ANALYZE")
        con.execute("PRAGMA journal_mode = WAL")
        lap("analyze")
    finally:
        con.close()
    phases["total"] = round(time.perf_counter() - t0, 3)
    return phases


def add_distribution_sqlite(db_path: Path, packages: int, *, status: str = "open") -> int:
    """An open sembako distribution for today ("coverage" eligibility); returns its id."""
    now = _utc_text(datetime.now(timezone.utc))
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        cur = con.execute(
            "INSERT INTO distribution (name, day, place, packages_total, packages_given, next_seq, contents, "
            "eligibility, status, opened_at, bast_number, official_name, official_nip, official_title, "
            "receiver_name, receiver_title, witness1_name, witness2_name, created_at) "
            "VALUES (?,?,?,?,0,1,?,'coverage',?,?,'', '', '', '', '', '', '', '', ?)",
            ("Penyaluran Sembako Tahap I", today_jakarta().isoformat(), "Aula Dinas Ketenagakerjaan", packages,
             "Beras 10 kg, minyak goreng 2 L, gula 1 kg", status, now, now),
        )
        return int(cur.lastrowid)
    finally:
        con.close()


def kiosk_device(device_id: int):
    """The device ``device_id`` as a kiosk request holds it (``kiosk.terminal.pairing.device_for``:
    a read-only copy of its row, not an ORM object the claim's commit would expire and load
    again). In an app context."""
    from kiosk.extensions import db
    from kiosk.models import Device
    from kiosk.terminal.pairing import PairedDevice

    row = db.session.get(Device, device_id)
    device = PairedDevice({column.key: getattr(row, column.key) for column in Device.__table__.columns})
    db.session.commit()
    return device


def add_device_sqlite(db_path: Path, name: str, credential: str, *, mode: str = "check",
                      distribution_id: int | None = None) -> int:
    """A kiosk device already paired with ``credential`` (its hash stored, as pairing does)."""
    now = _utc_text(datetime.now(timezone.utc))
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        cur = con.execute(
            "INSERT INTO device (name, mode, distribution_id, credential_hash, paired_at, last_seen_at, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (name, mode, distribution_id if mode == "collect" else None, credential_hash(credential), now, now, now),
        )
        return int(cur.lastrowid)
    finally:
        con.close()


# ---- PostgreSQL ---------------------------------------------------------------------------------

PG_ADMIN = os.environ.get("KIOSK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_available() -> str | None:
    """None when a PostgreSQL server answers at 127.0.0.1:5432 (trust auth), else why not."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return "no PostgreSQL server answers at 127.0.0.1:5432"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    return None


class PgDatabase:
    """A database of our own on the local PostgreSQL server, dropped again on exit."""

    def __init__(self, name: str):
        self.name = name
        base = PG_ADMIN.rsplit("/", 1)[0]
        self.url = f"{base}/{name}"
        self.sqlalchemy_url = self.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def __enter__(self) -> "PgDatabase":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')


def load_postgres(url: str, count: int, key_id: str) -> float:
    """The same rows as ``load_sqlite``, written to PostgreSQL with COPY. Returns seconds."""
    import psycopg

    t0 = time.perf_counter()
    check_niks(count)
    make = NikMaker()
    niks = [make(n) for n in range(count)]
    codes_for = FallbackCodes()
    now = datetime.now(timezone.utc)
    today = today_jakarta()
    start, end = today - timedelta(days=30), today + timedelta(days=60)
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY worker (id, nik, name, name_key, sex, birth_place, birth_date, address, kecamatan_code, "
                          "desa_code, desa_name, occupation, phone, kpj, income, photo, created_at) FROM STDIN") as copy:
                for row in worker_rows(1, count, now, niks, iso=False):
                    copy.write_row(row)
            with cur.copy("COPY coverage (id, worker_id, jkk, jkm, jht, start_date, end_date, funder, income_basis, "
                          "monthly_contribution, created_at) FROM STDIN") as copy:
                for i in range(1, count + 1):
                    copy.write_row((i, i, True, True, False, start, end, "Pemkab Muara Enim", 1_000_000, 16_800, now))
            with cur.copy("COPY card (id, worker_id, fallback_code, key_id, issued_at) FROM STDIN") as copy:
                for i in range(1, count + 1):
                    copy.write_row((i, i, codes_for(i), key_id, now))
            for table in TABLES:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return time.perf_counter() - t0


def pg_execute(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on PostgreSQL (autocommit) and return its rows (if any)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def add_distribution_pg(url: str, packages: int) -> int:
    now = datetime.now(timezone.utc)
    return pg_execute(
        url,
        "INSERT INTO distribution (name, day, place, packages_total, packages_given, next_seq, contents, "
        "eligibility, status, opened_at, bast_number, official_name, official_nip, official_title, "
        "receiver_name, receiver_title, witness1_name, witness2_name, created_at) "
        "VALUES (%s,%s,%s,%s,0,1,%s,'coverage','open',%s,'','','','','','','','',%s) RETURNING id",
        ("Penyaluran Sembako Tahap I", today_jakarta(), "Aula Dinas Ketenagakerjaan", packages,
         "Beras 10 kg, minyak goreng 2 L, gula 1 kg", now, now),
    )[0][0]


def add_device_pg(url: str, name: str, credential: str, *, mode: str, distribution_id: int | None) -> int:
    now = datetime.now(timezone.utc)
    return pg_execute(
        url,
        "INSERT INTO device (name, mode, distribution_id, credential_hash, paired_at, last_seen_at, created_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING id",
        (name, mode, distribution_id, credential_hash(credential), now, now, now),
    )[0][0]


def server_env(instance: Path, database_url: str | None = None) -> dict[str, str | None]:
    """The environment for a gunicorn serving the app on ``instance``."""
    # No automatic backup in the middle of a measurement.
    return {"KIOSK_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
            "KIOSK_BACKUP_AUTOMATIC": "false"}
