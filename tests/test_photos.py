"""Workers' photos: refusals (not an image, too big, decompression bomb), a PNG named .jpg,
EXIF orientation and stripping, storage in the database (both engines), the migration that moves
the photo files of an older version in, and ``import-photos``."""

from __future__ import annotations

import io
import struct
from pathlib import Path
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from factories import make_worker
from kiosk import photos
from kiosk.extensions import db
from kiosk.models import Photo


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
