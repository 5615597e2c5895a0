"""Workers' photos: refusals (not an image, too big, decompression bomb), a PNG named .jpg,
EXIF orientation and stripping, storage in the database (both engines), the sweep of photos
nobody refers to (and forms whose photo was swept), the migration that moves the photo files of
an older version in, and ``import-photos``."""

from __future__ import annotations

import io
import re
import struct
import threading
from datetime import date, timedelta
from pathlib import Path
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from factories import make_distribution, make_staff, make_worker, nik_for
from kiosk import enrollment, photos
from kiosk.database import utcnow, write_transaction
from kiosk.extensions import db
from kiosk.models import Collection, Photo, Worker


@pytest.fixture(autouse=True)
def request_context(request):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
    app = request.getfixturevalue("engine_app" if "engine_app" in request.fixturenames else "app")
    with app.test_request_context():
        yield


def image_bytes(fmt: str = "JPEG", size=(800, 600), color=(200, 40, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` with a tiny compressed body (a bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def message(exc_info) -> str:
    return str(exc_info.value.message)


def stored_image(name: str) -> Image.Image:
    data = photos.load(name)
    assert data is not None, name
    return Image.open(io.BytesIO(data))


def test_jpeg_is_resized_to_a_portrait_and_stored(engine_app):
    name = photos.store(image_bytes(size=(1280, 960)))
    assert photos.is_photo_name(name)
    assert db.session.get(Photo, name) is not None
    assert not (Path(engine_app.instance_path) / "photos").exists()  # nothing on this server's disk
    with stored_image(name) as img:
        assert img.format == "JPEG"
        assert img.size == photos.SIZE


def test_names_are_random(app):
    data = image_bytes()
    assert photos.store(data) != photos.store(data)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not a photo at all",
        b"MZ\x90\x00" + b"\x00" * 100,
        b"<html><body>hi</body></html>",
        image_bytes("JPEG")[:200],  # truncated
    ],
)
def test_non_images_are_refused(app, data):
    with pytest.raises(photos.PhotoError) as refused:
        photos.prepare(data)
    assert "bukan foto" in message(refused)


def test_gif_and_bmp_are_refused(app):
    with pytest.raises(photos.PhotoError):
        photos.prepare(image_bytes("BMP"))


def test_empty_file_is_refused(app):
    with pytest.raises(photos.PhotoError) as refused:
        photos.prepare(b"")
    assert "kosong" in message(refused)


def test_huge_file_is_refused_without_reading_it_all(app):
    class Endless(io.RawIOBase):
        read_total = 0

        def readable(self):
            return True

        def read(self, n=-1):
            n = photos.MAX_BYTES * 4 if n is None or n < 0 else n
            self.read_total += n
            return b"\xff" * n

    stream = Endless()
    with pytest.raises(photos.PhotoError) as refused:
        photos.store(stream)
    assert "terlalu besar" in message(refused)
    assert stream.read_total <= photos.MAX_BYTES + 1


@pytest.mark.parametrize("side", [8_000, 60_000])  # under and over Pillow's own limit
def test_decompression_bomb_is_refused(app, side):
    bomb = png_header_only(side, side)  # up to 3.6 gigapixels in a few hundred bytes
    assert len(bomb) < 2000
    with pytest.raises(photos.PhotoError) as refused:
        photos.prepare(bomb)
    assert "piksel" in message(refused)
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_png_renamed_jpg_still_works(app, tmp_path):
    path = tmp_path / "foto.jpg"
    path.write_bytes(image_bytes("PNG", size=(600, 800)))
    with open(path, "rb") as fh:
        name = photos.store(fh)
    with stored_image(name) as img:
        assert img.format == "JPEG" and img.size == photos.SIZE


def test_exif_orientation_is_applied_and_metadata_stripped(app):
    # A landscape sensor image, left half red and right half blue, tagged "rotate 90° CW"
    # (orientation 6): upright it is a portrait with red on top.
    img = Image.new("RGB", (800, 400), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    with stored_image(photos.store(out.getvalue())) as result:
        assert result.size == photos.SIZE
        assert not result.getexif()
        top = result.getpixel((240, 20))
        bottom = result.getpixel((240, 580))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize("name", ["../secret_key", "kiosk.sqlite3", "/etc/passwd", "", None, "0" * 32 + ".jpg"])
def test_load_refuses_other_names(app, name):
    assert photos.load(name) is None  # malformed, or well-formed but absent


def test_delete_photo(engine_app):
    name = photos.store(image_bytes())
    photos.delete_photo(name)
    assert photos.load(name) is None
    photos.delete_photo(name)  # again: nothing to do


def test_a_photo_a_worker_still_shows_is_not_deleted(engine_app):
    name = photos.store(image_bytes())
    make_worker(photo=name)
    photos.delete_photo(name)  # e.g. the name typed into another worker's form
    assert photos.load(name) is not None


# ---- photos nobody refers to are swept after the grace period --------------------------------


BIRTH = date(1985, 7, 14)


def first_desa(kecamatan="160302") -> str:
    from kiosk.wilayah import desa_list

    return desa_list(kecamatan)[0].code


def age(*names: str, hours: float = photos.UNREFERRED_HOURS + 1) -> None:
    """Make the photos ``names`` (all when none) ``hours`` old."""
    stmt = update(Photo).values(created_at=utcnow() - timedelta(hours=hours))
    if names:
        stmt = stmt.where(Photo.name.in_(names))
    db.session.execute(stmt)
    db.session.commit()


def stored_names() -> set[str]:
    db.session.remove()  # what the database holds now, not what this session remembers
    return set(db.session.scalars(select(Photo.name)))


def test_sweep_deletes_old_photos_nobody_refers_to_and_keeps_the_rest(engine_app):
    orphan, young, portrait, handover = (photos.store(image_bytes()) for _ in range(4))
    worker = make_worker(photo=portrait)
    distribution = make_distribution()
    db.session.add(Collection(distribution_id=distribution.id, worker_id=worker.id, seq=1, handover_photo=handover))
    db.session.commit()
    age(orphan, portrait, handover)
    age(young, hours=photos.UNREFERRED_HOURS - 1)
    assert photos.sweep() == 1
    assert stored_names() == {young, portrait, handover}
    assert photos.sweep() == 0


def test_storing_a_photo_sweeps_old_orphans(engine_app):
    orphan = photos.store(image_bytes())
    age(orphan)
    fresh = photos.store(image_bytes())
    assert stored_names() == {fresh}


def test_a_sweep_running_while_a_form_is_saved_keeps_the_form_photo(engine_app):
    """The form's transaction takes its photo (``keep``) and writes the worker; a sweep started
    meanwhile on another connection waits for it and then passes the photo by."""
    name = photos.store(image_bytes())
    age(name)
    swept, engine = {}, db.engine

    def sweep_elsewhere():
        with engine.begin() as conn:
            swept["count"] = conn.execute(photos.unreferred_before(utcnow() - timedelta(hours=photos.UNREFERRED_HOURS))).rowcount

    with write_transaction():
        assert photos.keep(name)
        db.session.add(Worker(nik=nik_for(BIRTH, "L", serial=77), name="Budi Santoso", sex="L", birth_date=BIRTH,
                              kecamatan_code="160302", photo=name))
        db.session.flush()
        if db.engine.dialect.name == "postgresql":
            sweeper = threading.Thread(target=sweep_elsewhere)
            sweeper.start()
            sweeper.join(0.5)
            assert sweeper.is_alive()  # waits for the row this transaction holds
    if db.engine.dialect.name == "postgresql":
        sweeper.join(10)
    else:
        sweep_elsewhere()  # SQLite's writers never overlap: it runs after the form's commit
    assert swept["count"] == 0
    assert name in stored_names()


def test_saving_a_worker_with_a_photo_swept_meanwhile_is_refused_whole(engine_app):
    name = photos.store(image_bytes())
    check = enrollment.validate_worker(enroll_form(photo=name))
    assert check.ok, check.errors
    age(name)
    photos.sweep()  # between the form's check and its write
    with pytest.raises(enrollment.Refused) as refused:
        enrollment.enroll(check.clean, staff=None)
    assert "sudah tidak tersimpan lagi" in str(refused.value.errors["photo"][0])
    assert db.session.scalar(select(func.count()).select_from(Worker)) == 0
    assert stored_names() == set()


def enroll_form(**overrides) -> dict:
    data = {
        "nik": nik_for(BIRTH, "L", serial=12), "name": "Budi Santoso", "sex": "L",
        "birth_place": "Muara Enim", "birth_date": "1985-07-14", "address": "Jl. Merdeka 1",
        "kecamatan": "160302", "desa": first_desa(), "occupation": "Petani", "occupation_other": "",
        "phone": "0812 3456 7890", "kpj": "", "income": "Rp1.500.000", "with_coverage": "",
    }
    return data | overrides


def with_photo(data: dict) -> dict:
    return data | {"photo_file": (io.BytesIO(image_bytes()), "kamera.jpg", "image/jpeg")}


@pytest.fixture
def petugas(engine_app):
    """A client signed in as a petugas, on each engine."""
    client = engine_app.test_client()
    make_staff(role="admin", username="admin")  # setup is closed once an admin exists
    member = make_staff(role="petugas", username="petugas")
    with client.session_transaction() as session:
        session["_user_id"] = member.get_id()
        session["_fresh"] = True
    return client


def form_photo(response) -> str:
    found = re.search(r'name="photo" value="([^"]*)"', response.get_data(as_text=True))
    return found.group(1)


def test_enrollment_refused_three_times_then_saved_leaves_only_the_workers_photo(petugas):
    bad_nik = enroll_form(nik="16030114")  # too short
    for _ in range(3):  # each submit with a new photo (a retake), the NIK still wrong
        response = petugas.post("/pekerja/baru", data=with_photo(bad_nik), content_type="multipart/form-data")
        assert response.status_code == 422
    kept = form_photo(response)
    assert photos.is_photo_name(kept)
    response = petugas.post("/pekerja/baru", data=enroll_form(photo=kept))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert len(stored_names()) == 3  # two retakes nobody refers to, not yet old enough
    age()
    photos.sweep()
    worker = db.session.scalars(select(Worker)).one()
    assert stored_names() == {worker.photo} == {kept}


def test_enrollment_form_whose_photo_was_swept_says_so_and_saves_nothing(petugas):
    response = petugas.post("/pekerja/baru", data=with_photo(enroll_form(name="")), content_type="multipart/form-data")
    name = form_photo(response)
    age(name)
    photos.sweep()  # the form was left open overnight
    response = petugas.post("/pekerja/baru", data=enroll_form(photo=name))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Foto yang diambil tadi sudah tidak tersimpan lagi" in page
    assert form_photo(response) == ""  # the dead name is not carried on
    assert db.session.scalar(select(func.count()).select_from(Worker)) == 0
    assert stored_names() == set()


def test_an_edit_form_that_replaces_the_photo_leaves_no_old_photo(petugas):
    response = petugas.post("/pekerja/baru", data=with_photo(enroll_form()), content_type="multipart/form-data")
    assert response.status_code == 303
    worker = db.session.scalars(select(Worker)).one()
    old = worker.photo
    assert form_photo(petugas.get(f"/pekerja/{worker.id}/ubah")) == old
    response = petugas.post(f"/pekerja/{worker.id}/ubah", data=with_photo(enroll_form(photo=old)),
                            content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.remove()
    new = db.session.get(Worker, worker.id).photo
    assert new != old
    assert stored_names() == {new}  # at once, not left to the sweep


# ---- from files on disk (older versions) into the database -------------------------------------


BEFORE_PHOTOS = "0004"  # the migration before 0005_photos_in_database


def write_photo_files(folder: Path, count: int) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for n in range(count):
        name = f"{n:032x}.jpg"
        files[name] = image_bytes(color=(n * 40 % 256, 90, 30))
        (folder / name).write_bytes(files[name])
    (folder / "notes.txt").write_text("not a photo")
    (folder / "PHOTO.JPG").write_bytes(b"not a stored name")
    return files


def test_migration_moves_the_photo_files_in_and_back(engine_app):
    from flask_migrate import downgrade, upgrade

    folder = Path(engine_app.instance_path) / "photos"
    downgrade(revision=BEFORE_PHOTOS)
    db.session.remove()
    files = write_photo_files(folder, 3)
    upgrade()
    db.session.remove()
    assert {name: photos.load(name) for name in files} == files
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 3

    for path in folder.iterdir():
        path.unlink()
    db.session.remove()
    downgrade(revision=BEFORE_PHOTOS)
    db.session.remove()
    assert {p.name: p.read_bytes() for p in folder.glob("*.jpg")} == files
    upgrade()
    db.session.remove()


def test_import_photos_copies_another_servers_folder(app, tmp_path):
    files = write_photo_files(tmp_path / "photos-of-server-b", 2)
    first = next(iter(files))
    db.session.add(Photo(name=first, data=b"already here"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["import-photos", str(tmp_path / "photos-of-server-b")])
    assert result.exit_code == 0, result.output
    assert "1 photo(s) copied, 1 already in the database" in result.output
    assert photos.load(first) == b"already here"
    assert [photos.load(name) for name in list(files)[1:]] == list(files.values())[1:]
