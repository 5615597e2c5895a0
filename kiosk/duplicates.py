"""Probable duplicates: one person enrolled twice under two NIKs.

Two records are *probably the same person* when either

- **name**: their names are the same once normalised (``name_key``: case, spacing, punctuation,
  titles such as "H."/"Hj.", "M."/"Moh." for Muhammad, old spelling "oe"/"dj"/"tj", doubled
  letters) and they were born the same day; or
- **nik**: their NIKs differ only in the last two digits, they were born the same day and live
  in the same desa — what a NIK cut by Excel (15 digits kept, the 16th turned into 0) or a typo
  in the serial number leaves behind.

Staff look and either correct/delete one record, or confirm "orang berbeda" with a reason
(``DistinctPair``, audited): the pair is not shown again. Twins match the second rule; that is
what the confirmation is for.

The look-ups use two indexes of ``worker``: (``name_key``, ``birth_date``) and (``desa_code``,
``birth_date``); one worker costs one indexed query, a whole import file a few chunked ones, and
the registry-wide list two self-joins along those indexes (see bench/README.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import and_, exists, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import aliased

from .audit import record
from .database import write_transaction
from .extensions import db
from .i18n import _l
from .models import DistinctPair, Staff, Worker

NIK_STEM = 14  # digits two NIKs share when they "differ only in the last digits"
REASON_MAX = 200
CHUNK = 2_000

_TITLES = frozenset({
    "h", "hj", "haji", "hajah", "hajjah", "dr", "drs", "dra", "ir", "prof", "kh", "ust", "ustad", "ustadz",
    "ustazah", "tn", "ny", "nn", "sdr", "sdri", "bpk", "bapak", "ibu", "pak", "bu",
})
_MUHAMMAD = frozenset({
    "m", "md", "mhd", "mh", "moh", "moch", "mochamad", "mochammad", "mohamad", "mohammad", "mohamed", "mohd",
    "muh", "muhamad", "muhammad", "muhammat", "mukhammad",
})
# Old (pre-1972) spelling still on many identity records: Soeharto/Suharto, Djoko/Joko,
# Noerhajati/Nurhayati (old "j" is new "y", so "j" and "y" count as one letter).
_OLD_SPELLING = (("oe", "u"), ("dj", "j"), ("tj", "c"), ("sj", "sy"), ("nj", "ny"), ("j", "y"))


def name_key(name: Any) -> str:
    """The name as compared for duplicates: "Hj. Siti Noerhajati, S.Pd." and "SITI NURHAYATI"
    give the same key ("sitinurhayati": spelled the new way, no spaces, doubled letters single)."""
    text = unicodedata.normalize("NFKD", str(name or "")).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.split(",", 1)[0]  # "Budi Santoso, S.Pd." - degrees after the comma
    words = re.findall(r"[a-z0-9]+", text.replace("'", "").replace("`", "").replace("\u2019", ""))
    while len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    out = []
    for word in words:
        if word in _MUHAMMAD:
            word = "muhammad"
        for old, new in _OLD_SPELLING:
            word = word.replace(old, new)
        out.append(word)
    return re.sub(r"([a-z])\1+", r"\1", "".join(out))[:120]


def nik_stem(nik: str | None) -> str | None:
    """The part of a NIK that must agree for the "nik" rule, or ``None`` for a non-NIK."""
    if not nik or len(nik) != 16 or not nik.isdigit():
        return None
    return nik[:NIK_STEM]


@dataclass(frozen=True)
class Probable:
    """Another record that is probably the same person: an enrolled worker (``worker_id``) or
    another row of the same file (``line``); ``why`` is "name" or "nik"."""

    why: str
    name: str
    nik: str
    birth_date: date | None
    worker_id: int | None = None
    line: int | None = None

    @property
    def message(self):
        """What the person is told, in Indonesian."""
        from .nik import format_nik

        who = (_l("baris %(line)s (%(name)s)", line=self.line, name=self.name) if self.line is not None
               else _l("%(name)s yang sudah terdaftar", name=self.name))
        if self.why == "name":
            born = self.birth_date.strftime("%d-%m-%Y") if self.birth_date else ""
            return _l("Mungkin orang yang sama dengan %(who)s: nama dan tanggal lahir (%(born)s) sama, NIK berbeda "
                      "(%(nik)s).", who=who, born=born, nik=format_nik(self.nik))
        return _l("Mungkin orang yang sama dengan %(who)s: NIK-nya (%(nik)s) hanya berbeda di dua angka terakhir, "
                  "tanggal lahir dan desanya sama. NIK terpotong Excel atau salah ketik?",
                  who=who, nik=format_nik(self.nik))

    def as_dict(self) -> dict:
        """JSON-ready (a stored import preview)."""
        return {"why": self.why, "name": self.name, "nik": self.nik,
                "birth_date": self.birth_date.isoformat() if self.birth_date else None,
                "worker_id": self.worker_id, "line": self.line}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Probable":
        """The inverse of ``as_dict``."""
        born = data.get("birth_date")
        return cls(why=data["why"], name=data["name"], nik=data["nik"],
                   birth_date=date.fromisoformat(born) if born else None,
                   worker_id=data.get("worker_id"), line=data.get("line"))


def _matches(a: Mapping, b: Mapping) -> str | None:
    """Which rule makes two records (dicts with nik, name_key, birth_date, desa_code) probable
    duplicates, or ``None``. Records with the same NIK are the same record, not a duplicate."""
    if a["nik"] == b["nik"] or a["birth_date"] is None or a["birth_date"] != b["birth_date"]:
        return None
    if a["name_key"] and a["name_key"] == b["name_key"]:
        return "name"
    stem = nik_stem(a["nik"])
    if stem and a.get("desa_code") and a.get("desa_code") == b.get("desa_code") and stem == nik_stem(b["nik"]):
        return "nik"
    return None


def _record(values: Mapping) -> dict:
    return {"nik": values.get("nik") or "", "name_key": name_key(values.get("name")),
            "birth_date": values.get("birth_date"), "desa_code": values.get("desa_code"),
            "name": values.get("name") or ""}


_COLUMNS = (Worker.id, Worker.nik, Worker.name, Worker.name_key, Worker.birth_date, Worker.desa_code)


def _row_record(row) -> dict:
    return {"id": row.id, "nik": row.nik, "name": row.name, "name_key": row.name_key,
            "birth_date": row.birth_date, "desa_code": row.desa_code}


def _decided_with(worker_id: int) -> set[int]:
    pairs = db.session.execute(
        select(DistinctPair.worker_id, DistinctPair.other_id)
        .where(or_(DistinctPair.worker_id == worker_id, DistinctPair.other_id == worker_id))
    )
    return {b if a == worker_id else a for a, b in pairs}


def for_worker(values: Mapping, *, exclude_id: int | None = None) -> list[Probable]:
    """The enrolled workers that are probably the same person as ``values`` (clean values of
    ``enrollment.validate_worker``: nik, name, birth_date, desa_code), minus ``exclude_id`` (the
    worker being edited) and the pairs already confirmed different. One indexed query."""
    mine = _record(values)
    if mine["birth_date"] is None or not mine["name_key"]:
        return []
    wanted = [and_(Worker.name_key == mine["name_key"], Worker.birth_date == mine["birth_date"])]
    stem = nik_stem(mine["nik"])
    if stem and mine["desa_code"]:
        wanted.append(and_(Worker.desa_code == mine["desa_code"], Worker.birth_date == mine["birth_date"],
                           Worker.nik.between(stem + "00", stem + "99")))
    query = select(*_COLUMNS).where(or_(*wanted)).order_by(Worker.id).limit(20)
    if exclude_id is not None:
        query = query.where(Worker.id != exclude_id)
    decided = _decided_with(exclude_id) if exclude_id is not None else set()
    found = []
    for row in db.session.execute(query):
        other = _row_record(row)
        why = _matches(mine, other)
        if why and other["id"] not in decided:
            found.append(Probable(why, other["name"], other["nik"], other["birth_date"], worker_id=other["id"]))
    return found


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_rows(rows: Iterable[tuple[int, Mapping]]) -> dict[int, list[Probable]]:
    """For the rows of an import file that would add a worker — (line, clean values) — the
    probable duplicates among the enrolled workers and among the file's earlier rows (a later
    row points at the earlier one). A few chunked queries for the whole file, never one per row."""
    records = [(line, _record(values)) for line, values in rows]
    records = [(line, r) for line, r in records if r["birth_date"] is not None and r["name_key"]]
    found: dict[int, list[Probable]] = {}
    if not records:
        return found

    registry: dict[int, dict] = {}
    keys = sorted({r["name_key"] for _l_, r in records})
    for chunk in _chunks(keys):
        for row in db.session.execute(select(*_COLUMNS).where(Worker.name_key.in_(chunk))):
            registry[row.id] = _row_record(row)
    places = sorted({(r["desa_code"], r["birth_date"]) for _l_, r in records if r["desa_code"] and nik_stem(r["nik"])})
    for chunk in _chunks(places, CHUNK // 2):
        for row in db.session.execute(
            select(*_COLUMNS).where(tuple_(Worker.desa_code, Worker.birth_date).in_(chunk))
        ):
            registry[row.id] = _row_record(row)

    by_name: dict[tuple, list] = {}
    by_stem: dict[tuple, list] = {}
    for other in registry.values():
        by_name.setdefault((other["name_key"], other["birth_date"]), []).append(other)
        if nik_stem(other["nik"]) and other["desa_code"]:
            by_stem.setdefault((other["desa_code"], nik_stem(other["nik"])), []).append(other)
    seen_name: dict[tuple, list] = {}
    seen_stem: dict[tuple, list] = {}
    for line, mine in records:
        name_slot = (mine["name_key"], mine["birth_date"])
        stem_slot = (mine["desa_code"], nik_stem(mine["nik"]))
        probable: list[Probable] = []
        listed: set = set()
        for other in by_name.get(name_slot, []) + by_stem.get(stem_slot, []):
            why = _matches(mine, other)
            if why and other["id"] not in listed:
                listed.add(other["id"])
                probable.append(Probable(why, other["name"], other["nik"], other["birth_date"], worker_id=other["id"]))
        for other_line, other in seen_name.get(name_slot, []) + seen_stem.get(stem_slot, []):
            why = _matches(mine, other)
            if why and ("line", other_line) not in listed:
                listed.add(("line", other_line))
                probable.append(Probable(why, other["name"], other["nik"], other["birth_date"], line=other_line))
        if probable:
            found[line] = probable
        seen_name.setdefault(name_slot, []).append((line, mine))
        if stem_slot[0] and stem_slot[1]:
            seen_stem.setdefault(stem_slot, []).append((line, mine))
    return found


@dataclass(frozen=True)
class Pair:
    """Two enrolled workers that are probably one person (``first.id < second.id``)."""

    first: Worker
    second: Worker
    why: str


def _pair_ids_query():
    """(pairs subquery, the query of its pairs not confirmed different). Each rule starts from
    the groups that hold more than one worker, found by a GROUP BY that reads only its index
    (name_key, birth_date / desa_code, birth_date); the pairs are then made inside those few
    groups along the same index, never by probing the index once per worker."""
    name_groups = (
        select(Worker.name_key, Worker.birth_date).where(Worker.name_key != "")
        .group_by(Worker.name_key, Worker.birth_date).having(func.count() > 1).subquery("name_groups")
    )
    a, b = aliased(Worker), aliased(Worker)
    by_name = (
        select(a.id.label("first"), b.id.label("second"), literal("name").label("why"))
        .select_from(name_groups)
        .join(a, and_(a.name_key == name_groups.c.name_key, a.birth_date == name_groups.c.birth_date))
        .join(b, and_(b.name_key == a.name_key, b.birth_date == a.birth_date, b.id > a.id))
    )
    place_groups = (
        select(Worker.desa_code, Worker.birth_date).where(Worker.desa_code.is_not(None))
        .group_by(Worker.desa_code, Worker.birth_date).having(func.count() > 1).subquery("place_groups")
    )
    c, d = aliased(Worker), aliased(Worker)
    by_nik = (
        select(c.id.label("first"), d.id.label("second"), literal("nik").label("why"))
        .select_from(place_groups)
        .join(c, and_(c.desa_code == place_groups.c.desa_code, c.birth_date == place_groups.c.birth_date))
        .join(d, and_(d.desa_code == c.desa_code, d.birth_date == c.birth_date, d.id > c.id,
                      func.substr(d.nik, 1, NIK_STEM) == func.substr(c.nik, 1, NIK_STEM)))
        .where(or_(c.name_key != d.name_key, c.name_key == ""))  # the same name is the other rule's pair
    )
    pairs = union_all(by_name, by_nik).subquery()
    decided = exists().where(DistinctPair.worker_id == pairs.c.first, DistinctPair.other_id == pairs.c.second)
    return pairs, select(pairs.c.first, pairs.c.second, pairs.c.why).where(~decided)


COUNT_CAP = 10_000  # the list counts the pairs up to this many (then says "more than")


def _pairs_of(rows) -> list[Pair]:
    ids = {i for row in rows for i in row[:2]}
    workers = {w.id: w for w in db.session.scalars(select(Worker).where(Worker.id.in_(ids)))} if ids else {}
    return [Pair(workers[first], workers[second], why) for first, second, why in rows]


def registry_pairs(*, after: tuple[int, int] | None = None, limit: int = 50) -> list[Pair]:
    """The probable duplicates among enrolled workers not yet confirmed different, ordered by
    the first worker's id, ``limit`` at a time after the pair ``after`` (keyset paging)."""
    pairs, query = _pair_ids_query()
    if after is not None:
        query = query.where(tuple_(pairs.c.first, pairs.c.second) > tuple_(*after))
    return _pairs_of(db.session.execute(query.order_by(pairs.c.first, pairs.c.second).limit(limit)).all())


def registry_first_page(limit: int = 50) -> tuple[list[Pair], int]:
    """The first ``limit`` pairs and how many there are (up to COUNT_CAP + 1), from one query:
    the pairs are found once, not once to list and again to count."""
    pairs, query = _pair_ids_query()
    rows = db.session.execute(query.order_by(pairs.c.first, pairs.c.second).limit(COUNT_CAP + 1)).all()
    return _pairs_of(rows[:limit]), len(rows)


def registry_count() -> int:
    """How many probable duplicate pairs are left to look at."""
    _pairs, query = _pair_ids_query()
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def of_worker(worker: Worker) -> tuple[list[Probable], list[tuple[Worker, DistinctPair]]]:
    """For the worker page: the enrolled workers probably the same person as ``worker``, and
    those staff confirmed are different people (with the decision). Two queries."""
    values = {"nik": worker.nik, "name": worker.name, "birth_date": worker.birth_date, "desa_code": worker.desa_code}
    probable = for_worker(values, exclude_id=worker.id)
    other = aliased(Worker)
    decided = db.session.execute(
        select(other, DistinctPair)
        .join(DistinctPair, or_(and_(DistinctPair.worker_id == worker.id, DistinctPair.other_id == other.id),
                                and_(DistinctPair.other_id == worker.id, DistinctPair.worker_id == other.id)))
        .order_by(DistinctPair.decided_at)
    ).all()
    return probable, [(w, pair) for w, pair in decided]


class ReasonError(ValueError):
    """The reason for "orang berbeda" is missing or too long; ``message`` says so."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def clean_reason(raw: Any) -> str:
    """The reason staff gave for "orang berbeda", checked. Raises ``ReasonError``."""
    reason = " ".join(str(raw or "").split())
    if not reason:
        raise ReasonError(_l("Tulis alasannya, misalnya \"kembar\" atau \"sudah dicek di KTP, orangnya lain\"."))
    if len(reason) > REASON_MAX:
        raise ReasonError(_l("Alasan terlalu panjang (paling banyak %(n)s huruf).", n=REASON_MAX))
    return reason


def record_different(worker_id: int, other_id: int, reason: str, *, staff: Staff | None) -> DistinctPair | None:
    """Record, inside the caller's write transaction, that two workers are different people,
    audited; nothing when it is already recorded. ``reason`` must be clean (``clean_reason``)."""
    first, second = sorted((worker_id, other_id))
    if first == second:
        return None
    already = db.session.scalar(
        select(DistinctPair).where(DistinctPair.worker_id == first, DistinctPair.other_id == second)
    )
    if already is not None:
        return None
    pair = DistinctPair(worker_id=first, other_id=second, reason=reason,
                        decided_by_id=staff.id if staff is not None else None)
    db.session.add(pair)
    db.session.flush()
    record("distinct_pair.create", pair, after={"worker_id": first, "other_id": second, "reason": reason}, staff=staff)
    return pair


def confirm_different(worker: Worker, other: Worker, reason: Any, *, staff: Staff | None) -> None:
    """Staff confirmed that ``worker`` and ``other`` are different people ("orang berbeda"):
    recorded with the reason and audited, in one transaction. Raises ``ReasonError``."""
    reason = clean_reason(reason)
    with write_transaction():
        record_different(worker.id, other.id, reason, staff=staff)
