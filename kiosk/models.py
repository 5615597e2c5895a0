"""The data: workers, their coverage and cards, distributions and collections, staff, devices,
and the audit trail.

Glossary: NIK = 16-digit national ID; KPJ = BPJS Ketenagakerjaan membership number;
JKK / JKM / JHT = work accident / death / old-age programmes; sembako = staple food package;
penyaluran = a distribution event; kecamatan / desa = district / village.

Rules the database itself enforces (see the migrations for the DDL):
- one NIK per worker, one KPJ per worker when set;
- at most one valid (not revoked) card per worker;
- at most one non-voided collection per worker per distribution, and one per sequence number;
- a collection is handed over at most once (``kiosk.distribution.hand_over``: a conditional
  UPDATE ... WHERE handed_over_at IS NULL);
- a distribution never counts more packages handed out than it has (CHECK);
- audit events are append-only (triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .database import UTCDateTime, utcnow
from .extensions import db

ROLES = ("admin", "petugas")
NOT_REVOKED = text("revoked_at IS NULL")
NOT_VOIDED = text("voided_at IS NULL")


class Staff(UserMixin, db.Model):
    """A staff account (admin or petugas) that signs in on a tablet or the office PC."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("role IN ('admin', 'petugas')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="petugas")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised on password change or deactivation: every session signed with the old value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def set_password(self, password: str) -> None:
        """Hash and store a new password, signing out every existing session."""
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """The session's user id carries the session version (see ``load_staff``)."""
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<Staff {self.username} {self.role}>"


# One account per name whatever its case ("Rina" is "rina"); kiosk.staff stores lower case.
Index("uq_staff_username_lower", func.lower(Staff.username), unique=True)


class Worker(db.Model):
    """An informal worker (pekerja bukan penerima upah, BPU) enrolled by the office."""

    __tablename__ = "worker"
    __table_args__ = (
        CheckConstraint("sex IN ('L', 'P')", name="sex"),
        CheckConstraint("length(nik) = 16", name="nik_length"),
        CheckConstraint("income >= 0", name="income_positive"),
        Index("ix_worker_name", "name"),
        Index("ix_worker_kecamatan", "kecamatan_code"),
        Index("ix_worker_created_at", "created_at"),
        # Probable duplicates (kiosk.duplicates): same name and birth date; same desa and birth date.
        Index("ix_worker_name_key_birth", "name_key", "birth_date"),
        Index("ix_worker_desa_birth", "desa_code", "birth_date"),
        Index("ix_worker_photo", "photo"),  # is a stored photo still referred to (kiosk.photos)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # The name as compared for duplicates (kiosk.duplicates.name_key), kept in step with ``name``.
    name_key: Mapped[str] = mapped_column(String(120), default="", server_default="")
    sex: Mapped[str] = mapped_column(String(1))
    birth_place: Mapped[str] = mapped_column(String(80), default="")
    birth_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(Text, default="")
    kecamatan_code: Mapped[str] = mapped_column(String(6))
    desa_code: Mapped[Optional[str]] = mapped_column(String(10))
    desa_name: Mapped[str] = mapped_column(String(80), default="")
    occupation: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    kpj: Mapped[Optional[str]] = mapped_column(String(20), unique=True)
    income: Mapped[int] = mapped_column(BigInteger, default=0)
    photo: Mapped[Optional[str]] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))

    coverages: Mapped[list["Coverage"]] = relationship(
        back_populates="worker", order_by="Coverage.start_date.desc()"
    )
    cards: Mapped[list["Card"]] = relationship(
        back_populates="worker", order_by="Card.issued_at.desc()"
    )

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        from .duplicates import name_key

        self.name_key = name_key(name)
        return name

    def __repr__(self) -> str:
        return f"<Worker {self.id}>"  # never the NIK: reprs end up in logs


class DistinctPair(db.Model):
    """Two workers that look like one person enrolled twice (``kiosk.duplicates``) but that
    staff confirmed are different people ("orang berbeda"), with why. ``worker_id`` is the lower
    id; the pair is then no longer listed as a probable duplicate."""

    __tablename__ = "distinct_pair"
    __table_args__ = (
        UniqueConstraint("worker_id", "other_id", name="uq_distinct_pair"),
        CheckConstraint("worker_id < other_id", name="ordered"),
        Index("ix_distinct_pair_other", "other_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"))
    other_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))


class Coverage(db.Model):
    """One period of BPJS Ketenagakerjaan coverage. A renewal is a new row; history is kept.

    Status (aktif / belum aktif / berakhir) is computed for a day in Asia/Jakarta time by
    ``kiosk.coverage``, never stored.
    """

    __tablename__ = "coverage"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period_order"),
        CheckConstraint("jkk OR jkm OR jht", name="some_programme"),
        Index("ix_coverage_worker_end", "worker_id", "end_date"),
        Index("ix_coverage_end", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"))
    jkk: Mapped[bool] = mapped_column(Boolean, default=True)
    jkm: Mapped[bool] = mapped_column(Boolean, default=True)
    jht: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    funder: Mapped[str] = mapped_column(String(120), default="Pemkab Muara Enim")
    income_basis: Mapped[int] = mapped_column(BigInteger, default=0)
    monthly_contribution: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))

    worker: Mapped[Worker] = relationship(back_populates="coverages")

    @property
    def programmes(self) -> list[str]:
        """The programme codes of this period, in the order BPJS lists them."""
        return [code for code, on in (("JKK", self.jkk), ("JKM", self.jkm), ("JHT", self.jht)) if on]


class Card(db.Model):
    """A printed QR card. The QR holds a signed token naming this row's id; nothing personal.

    ``fallback_code`` is the short code printed under the QR, typed on the kiosk keypad when the
    QR is damaged. Issuing a new card revokes the older one.
    """

    __tablename__ = "card"
    __table_args__ = (
        Index(
            "uq_card_one_valid_per_worker",
            "worker_id",
            unique=True,
            sqlite_where=NOT_REVOKED,
            postgresql_where=NOT_REVOKED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"))
    fallback_code: Mapped[str] = mapped_column(String(16), unique=True)
    key_id: Mapped[str] = mapped_column(String(4))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    revoke_reason: Mapped[Optional[str]] = mapped_column(String(200))

    worker: Mapped[Worker] = relationship(back_populates="cards")

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None


class Distribution(db.Model):
    """A sembako distribution (penyaluran): one event with a fixed number of packages.

    ``packages_given`` counts the non-voided collections, i.e. the packages *claimed* (reserved
    for a worker), whether or not the desk has handed them over yet; the claim raises it with a
    conditional UPDATE that the CHECK below backs up. ``next_seq`` only ever grows: each collection gets its
    own sequence number ("paket ke-37"), voided ones keep theirs.
    """

    __tablename__ = "distribution"
    __table_args__ = (
        CheckConstraint("packages_total >= 0", name="total_positive"),
        CheckConstraint(
            "packages_given >= 0 AND packages_given <= packages_total", name="given_within_total"
        ),
        CheckConstraint("eligibility IN ('coverage', 'list')", name="eligibility"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    day: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(160), default="")
    packages_total: Mapped[int] = mapped_column(Integer)
    packages_given: Mapped[int] = mapped_column(Integer, default=0)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)
    contents: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[str] = mapped_column(String(16), default="coverage")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opened_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Filled in by the office before printing the BAST (handover report).
    bast_number: Mapped[str] = mapped_column(String(120), default="")
    official_name: Mapped[str] = mapped_column(String(120), default="")
    official_nip: Mapped[str] = mapped_column(String(30), default="")
    official_title: Mapped[str] = mapped_column(String(120), default="")
    receiver_name: Mapped[str] = mapped_column(String(120), default="")
    receiver_title: Mapped[str] = mapped_column(String(120), default="")
    witness1_name: Mapped[str] = mapped_column(String(120), default="")
    witness2_name: Mapped[str] = mapped_column(String(120), default="")
    # The recipient/non-recipient lists frozen at close-out, for the BAST.
    frozen_report: Mapped[Optional[dict]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))

    @property
    def packages_left(self) -> int:
        return self.packages_total - self.packages_given


class DistributionListEntry(db.Model):
    """A worker named on a distribution's list (eligibility "list")."""

    __tablename__ = "distribution_list_entry"

    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("distribution.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("worker.id", ondelete="CASCADE"), primary_key=True
    )


class Collection(db.Model):
    """One sembako package for one worker. Written only by ``kiosk.distribution``.

    It has two moments. **Claimed** (``collected_at``): the worker pressed AMBIL at a kiosk, or
    the desk claimed for them; the package is reserved and has its number (``seq``). **Handed
    over** (``handed_over_at``/``handed_over_by_id``): desk staff gave the package to the person
    standing there, optionally to a proxy and with a photo. A desk claim for someone at the desk
    is both at once. The proof of identity is the card (``card_id``) or, without one, the staff
    member at the desk (``no_card_reason`` says why). A voided collection is kept with
    who/when/why.
    """

    __tablename__ = "collection"
    __table_args__ = (
        Index(
            "uq_collection_once_per_worker",
            "distribution_id",
            "worker_id",
            unique=True,
            sqlite_where=NOT_VOIDED,
            postgresql_where=NOT_VOIDED,
        ),
        UniqueConstraint("distribution_id", "seq", name="uq_collection_seq"),
        Index("ix_collection_worker", "worker_id"),
        Index("ix_collection_distribution_time", "distribution_id", "collected_at"),
        Index("ix_collection_handover_photo", "handover_photo"),  # see kiosk.photos
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distribution.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    card_id: Mapped[Optional[int]] = mapped_column(ForeignKey("card.id"))
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("device.id"))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    station: Mapped[str] = mapped_column(String(80), default="")
    seq: Mapped[int] = mapped_column(Integer)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proxy_name: Mapped[Optional[str]] = mapped_column(String(120))
    proxy_relation: Mapped[Optional[str]] = mapped_column(String(60))
    handed_over_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    handed_over_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    # The desk request that handed it over: a retry of that request gets its answer again.
    handover_request_id: Mapped[Optional[str]] = mapped_column(String(64))
    handover_photo: Mapped[Optional[str]] = mapped_column(String(80))
    no_card_reason: Mapped[Optional[str]] = mapped_column(String(200))
    voided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    void_reason: Mapped[Optional[str]] = mapped_column(String(200))

    worker: Mapped[Worker] = relationship()
    distribution: Mapped[Distribution] = relationship()
    handed_over_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[handed_over_by_id])

    @property
    def handed_over(self) -> bool:
        return self.handed_over_at is not None


class ClaimRequest(db.Model):
    """The first answer to a claim, kept by its request id so a retry gets the same answer."""

    __tablename__ = "claim_request"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distribution.id"))
    worker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("worker.id"))
    outcome: Mapped[str] = mapped_column(String(32))
    collection_id: Mapped[Optional[int]] = mapped_column(ForeignKey("collection.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(db.Model):
    """A paired kiosk (tablet or PC in the aula). It holds a revocable credential cookie whose
    hash is stored here; it can read coverage and, in mode "collect", claim packages."""

    __tablename__ = "device"
    __table_args__ = (CheckConstraint("mode IN ('check', 'collect')", name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(16), default="check")
    distribution_id: Mapped[Optional[int]] = mapped_column(ForeignKey("distribution.id"))
    # Thermal paper width in mm ("58" or "80") when the kiosk prints a slip for each claim.
    slip_paper: Mapped[Optional[str]] = mapped_column(String(4))
    pairing_code_hash: Mapped[Optional[str]] = mapped_column(String(128), unique=True)
    pairing_expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    credential_hash: Mapped[Optional[str]] = mapped_column(String(128), unique=True)
    paired_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    # The kiosk's clock minus the server's, in seconds, as the kiosk last reported it (ping).
    clock_offset_s: Mapped[Optional[int]] = mapped_column(Integer)
    clock_checked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    distribution: Mapped[Optional[Distribution]] = relationship()


class CardKey(db.Model):
    """A card-signing key of the installation: the key letter in the token, the fingerprint of
    the key (the key itself stays in the servers' secrets, see ``kiosk.tokens``), when it was
    made and when it was retired. Every server reads this table, so a key id means one key on
    every server and a rotation made on one is seen by all. The current key is the newest."""

    __tablename__ = "card_key"

    id: Mapped[str] = mapped_column(String(1), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class InstallationSecret(db.Model):
    """What every server of the installation must agree on, kept as a digest, never the secret:
    the fingerprint of the app's secret key (``secret_key``), and the hash of the one-time setup
    code while setup is open (``setup_code``). See ``kiosk.installation``."""

    __tablename__ = "installation_secret"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Photo(db.Model):
    """A stored JPEG (see ``kiosk.photos``): a worker's portrait or a handover photo, kept in the
    database so that every server shows it. Referred to by name from ``Worker.photo`` and
    ``Collection.handover_photo``; a photo taken on a form not saved yet has no referrer, and
    is deleted once it has had none for ``photos.UNREFERRED_HOURS``. ``created_at``: when it
    was stored, or last taken by a row that refers to it (``photos.keep``)."""

    __tablename__ = "photo"
    __table_args__ = (Index("ix_photo_created_at", "created_at"),)

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Photo {self.name}>"


class ImportUpload(db.Model):
    """A worker list as the clerk uploaded it (CSV/XLSX bytes), kept for a few hours so any
    server can ask which column is which, preview it again, and give back its refused rows
    (``kiosk.imports.uploads``). ``refused``: [[line, [reason, ...]], ...] of the last check."""

    __tablename__ = "import_upload"
    __table_args__ = (Index("ix_import_upload_created_at", "created_at"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # The header row and the field of each column the last preview used.
    header_line: Mapped[Optional[int]] = mapped_column(Integer)
    columns: Mapped[Optional[list]] = mapped_column(JSON)
    refused: Mapped[Optional[list]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ColumnMapping(db.Model):
    """Which column is which, as a clerk said for a file whose headers the app did not know:
    remembered by the header row (``signature``, a hash of its normalised texts) for the next
    file with the same headers. ``columns``: the field key of each column, or null."""

    __tablename__ = "column_mapping"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    columns: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class AuditEvent(db.Model):
    """Who did what, when, to which record, with the values before and after. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("device.id"))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[Optional[int]] = mapped_column(Integer)
    before: Mapped[Optional[dict]] = mapped_column(JSON)
    after: Mapped[Optional[dict]] = mapped_column(JSON)

    staff: Mapped[Optional[Staff]] = relationship()


class Setting(db.Model):
    """A setting an admin changed on the page *Pengaturan* (``kiosk.settings``): stored here so
    every server process sees the same value. A setting without a row has its configured value."""

    __tablename__ = "setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Optional[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))


class ScheduledTask(db.Model):
    """A job that exactly one of all server processes runs when it is due (the daily backup).

    A process takes the job with a conditional UPDATE (``due_at`` passed, no live lease); the one
    that gets the row runs it, renews the lease while it works (``lease_owner``: host, process)
    and moves ``due_at`` on. A process that dies mid-job stops renewing: its lease runs out within
    minutes (at once for a server on the same host, which sees the process gone), the job is
    recorded as interrupted, and another takes it over. ``pending_kind``: the kind of backup the
    next due run makes (None: ``daily``).
    """

    __tablename__ = "scheduled_task"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    lease_owner: Mapped[Optional[str]] = mapped_column(String(300))
    pending_kind: Mapped[Optional[str]] = mapped_column(String(20))
    last_ok_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Where the last backup was made: each server keeps its archives in its own backup folder.
    last_ok_host: Mapped[Optional[str]] = mapped_column(String(255))
    last_ok_path: Mapped[Optional[str]] = mapped_column(Text)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    last_error_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class Throttle(db.Model):
    """Failed guesses counted for a limit (``kiosk.throttle``): ``bucket`` is the kind and a hash
    of what is counted (a username and an address, a device), ``attempts`` the failures in the
    window that ends at ``expires_at`` (seconds since 1970 on the database's clock). Rows live a
    few minutes; every server process counts in the same row."""

    __tablename__ = "throttle"
    __table_args__ = (Index("ix_throttle_expires_at", "expires_at"),)

    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class ImportPreviewRecord(db.Model):
    """A checked import waiting to be confirmed (``kiosk.imports.previews``): every row with its
    action and reasons, for the staff member who made it, a few hours; in the database so any
    server can show and confirm it."""

    __tablename__ = "import_preview"
    __table_args__ = (Index("ix_import_preview_created_at", "created_at"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
