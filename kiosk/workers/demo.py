"""``flask --app kiosk seed-demo``: the office's first event as demo data — 100 BPU workers from
Muara Enim's kecamatan with valid NIKs, each with three months of JKK + JKM paid by the regency
from today, and the open "Penyaluran Sembako Tahap I" of 100 packages today."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import click
from ..i18n import _l
from sqlalchemy import select

from .. import coverage as coverage_rules
from .. import enrollment, wilayah
from ..database import write_transaction
from ..extensions import db
from ..models import Coverage, Distribution, Worker
from . import bp

DEMO_SIZE = 100
DEMO_SEED = 1603  # the same 100 people every time: running twice adds nobody
DISTRIBUTION_NAME = "Penyaluran Sembako Tahap I"
DISTRIBUTION_PLACE = "Aula Dinas Ketenagakerjaan Kabupaten Muara Enim"
DISTRIBUTION_CONTENTS = "Beras 10 kg, minyak goreng 2 L, gula pasir 1 kg, telur 1 kg"
# NIK serials 7001-7100: out of the way of the factories' and real people's low serials.
SERIAL_BASE = 7000

MEN = ("Ahmad", "Muhammad", "Rudi", "Hendra", "Syahrial", "Zulkifli", "Darmawan", "Yusuf", "Herman",
       "Iskandar", "Rahmat", "Sulaiman", "Bambang", "Edi", "Firdaus", "Jamaludin", "Amran", "Ridwan",
       "Sapril", "Heriyanto", "Agus", "Junaidi", "Hasanudin", "Rusdi", "Mursalin")
WOMEN = ("Siti", "Nurhayati", "Rosmawati", "Yuliana", "Rita", "Sumarni", "Halimah", "Aminah", "Fatimah",
         "Masitoh", "Zubaidah", "Rosidah", "Yusnani", "Erna", "Marlina", "Nurjanah", "Lela", "Juwita",
         "Herlina", "Desi", "Komariah", "Maimunah", "Rohana", "Suryani", "Elvi")
MEN_LAST = ("Saputra", "Wijaya", "Hidayat", "Effendi", "Syahputra", "Hasan", "Rusli", "Yahya", "Harun",
            "Ismail", "Kurniawan", "Pratama", "Darwis", "Anwar", "Zainal", "Sobri", "Usman", "Arifin")
WOMEN_LAST = ("Wati", "Sari", "Yanti", "Lestari", "Ningsih", "Susanti", "Rahayu", "Handayani", "Puspita",
              "Anggraini", "Fitriani", "Marlena", "Novita", "Safitri")
# (occupation as the enroll form lists it, typical monthly income range in Rupiah)
OCCUPATIONS = (
    ("Pekebun karet", 1_200_000, 2_500_000),
    ("Pekebun karet", 1_200_000, 2_500_000),
    ("Pekebun kopi", 1_000_000, 2_500_000),
    ("Pengemudi ojek", 1_500_000, 3_000_000),
    ("Pedagang", 1_500_000, 3_500_000),
    ("Nelayan", 1_000_000, 2_500_000),
    ("Buruh harian lepas", 1_000_000, 2_000_000),
    ("Petani", 1_000_000, 2_000_000),
    ("Tukang bangunan", 1_800_000, 3_000_000),
    ("Penjahit", 1_000_000, 2_000_000),
)
BIRTH_PLACES = ("Muara Enim", "Tanjung Enim", "Palembang", "Lahat", "Prabumulih", "Baturaja", "Gelumbang")
DUSUN = ("I", "II", "III", "IV", "V")


def demo_people(size: int = DEMO_SIZE, seed: int = DEMO_SEED) -> list[dict]:
    """The demo workers (always the same for a seed), spread over every kecamatan, half of
    them women (NIK day + 40), each with a desa of their kecamatan and an HP number."""
    rng = random.Random(seed)
    kecamatan = wilayah.kecamatan_list()
    people = []
    for n in range(size):
        kec = kecamatan[n % len(kecamatan)]
        desa = rng.choice(wilayah.desa_list(kec.code))
        sex = "P" if n % 2 else "L"
        if sex == "L":
            name = f"{rng.choice(MEN)} {rng.choice(MEN_LAST)}"
        else:
            name = f"{rng.choice(WOMEN)} {rng.choice(WOMEN_LAST)}"
        birth = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 42))
        day = birth.day + (40 if sex == "P" else 0)
        nik = f"{kec.code}{day:02d}{birth.month:02d}{birth.year % 100:02d}{SERIAL_BASE + n + 1:04d}"
        occupation, low, high = rng.choice(OCCUPATIONS)
        income = rng.randrange(low, high + 1, 100_000)
        phone = f"08{rng.choice('1258')}{rng.randrange(1, 10)}{rng.randrange(10**7, 10**8):08d}"
        people.append({
            "nik": nik, "name": name, "sex": sex, "birth_place": rng.choice(BIRTH_PLACES),
            "birth_date": birth, "address": f"Dusun {rng.choice(DUSUN)} RT {rng.randrange(1, 12):03d}",
            "kecamatan": kec.code, "desa": desa.code, "occupation": occupation, "phone": phone,
            "kpj": "", "income": str(income),
        })
    return people


@dataclass
class SeedResult:
    """What ``seed`` added (zeros on a second run)."""

    workers_added: int
    workers_present: int
    coverages_added: int
    distribution_added: bool
    cards_issued: int = 0


def seed(*, with_cards: bool = False, today: date | None = None) -> SeedResult:
    """Load the demo (idempotent: people, periods and the distribution already there are
    left alone) in one transaction; optionally issue cards to demo workers without one."""
    today = today or coverage_rules.today_jakarta()
    people = demo_people()
    niks = [p["nik"] for p in people]
    period = {"start": today, "end": coverage_rules.default_end(today), "programmes": ("JKK", "JKM"),
              "funder": enrollment.DEFAULT_FUNDER}
    added = covered = 0
    with write_transaction():
        existing = {w.nik: w for w in db.session.scalars(select(Worker).where(Worker.nik.in_(niks)))}
        with_period = set(db.session.scalars(
            select(Coverage.worker_id).where(Coverage.worker_id.in_([w.id for w in existing.values()]))
        )) if existing else set()
        for values in people:
            worker = existing.get(values["nik"])
            if worker is None:
                check = enrollment.validate_worker(values, check_database=False, today=today)
                if not check.ok:  # the generator is wrong, not the person: stop loudly
                    raise RuntimeError(f"demo worker {values['nik']} invalid: {check.errors}")
                worker = enrollment.insert_worker(check.clean, staff=None, coverage=period)
                added += 1
                covered += 1
            elif worker.id not in with_period:
                enrollment.insert_coverage(worker, staff=None, **period)
                covered += 1
        distribution_added = db.session.scalar(
            select(Distribution.id).where(Distribution.name == DISTRIBUTION_NAME).limit(1)
        ) is None
    if distribution_added:
        from .. import distribution as distributions

        made = distributions.save(None, {
            "name": DISTRIBUTION_NAME, "day": today, "place": DISTRIBUTION_PLACE, "packages_total": DEMO_SIZE,
            "contents": DISTRIBUTION_CONTENTS, "eligibility": "coverage",
        }, staff=None)
        distributions.open_distribution(made.id, staff=None)
    result = SeedResult(added, len(people) - added, covered, distribution_added)
    if with_cards:
        from .. import card_registry

        workers = db.session.scalars(select(Worker).where(Worker.nik.in_(niks))).all()
        result.cards_issued = len(card_registry.issue_many(workers, staff=None))
    return result


@bp.cli.command("seed-demo")
@click.option("--with-cards", is_flag=True, help="Also issue a QR card to each demo worker without one.")
def seed_demo_command(with_cards: bool) -> None:
    """Load the demo: 100 BPU workers of Muara Enim with 3 months of JKK + JKM from today
    (Pemkab Muara Enim) and the open "Penyaluran Sembako Tahap I" of 100 packages today.
    Safe to run again: what is already there is not added twice."""
    result = seed(with_cards=with_cards)
    click.echo(_l("Pekerja demo: %(added)s ditambahkan, %(present)s sudah ada (tidak digandakan).",
                  added=result.workers_added, present=result.workers_present))
    click.echo(_l("Periode cakupan JKK + JKM 3 bulan: %(n)s ditambahkan.", n=result.coverages_added))
    if result.distribution_added:
        click.echo(_l("%(name)s: dibuat dan dibuka, %(n)s paket.", name=DISTRIBUTION_NAME, n=DEMO_SIZE))
    else:
        click.echo(_l("%(name)s: sudah ada (tidak digandakan).", name=DISTRIBUTION_NAME))
    if with_cards:
        click.echo(_l("Kartu: %(n)s diterbitkan.", n=result.cards_issued))
