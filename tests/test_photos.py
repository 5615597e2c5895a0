"""Workers' photos: refusals (not an image, too big, decompression bomb), a PNG named .jpg,
EXIF orientation and stripping, storage names."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from kiosk import photos


@pytest.fixture(autouse=True)
def request_context(app):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
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


def test_jpeg_is_resized_to_a_portrait_and_stored(app):
    name = photos.store(image_bytes(size=(1280, 960)))
    assert photos.is_photo_name(name)
    path = photos.photo_path(name)
    assert path is not None and path.parent.name == "photos"
    with Image.open(path) as img:
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
    assert not any(photos.photos_folder().iterdir())


def test_png_renamed_jpg_still_works(app, tmp_path):
    path = tmp_path / "foto.jpg"
    path.write_bytes(image_bytes("PNG", size=(600, 800)))
    with open(path, "rb") as fh:
        name = photos.store(fh)
    with Image.open(photos.photo_path(name)) as img:
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
    stored = photos.photo_path(photos.store(out.getvalue()))
    with Image.open(stored) as result:
        assert result.size == photos.SIZE
        assert not result.getexif()
        top = result.getpixel((240, 20))
        bottom = result.getpixel((240, 580))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_photo_path_refuses_other_names(app):
    assert photos.photo_path("../secret_key") is None
    assert photos.photo_path("kiosk.sqlite3") is None
    assert photos.photo_path("0" * 32 + ".jpg") is None  # well-formed but absent


def test_delete_photo(app):
    name = photos.store(image_bytes())
    photos.delete_photo(name)
    assert photos.photo_path(name) is None
    photos.delete_photo(name)  # again: nothing to do
