"""Image helpers for tests that look at cards the way a camera or a scanner would.

Decode QR codes with zxing-cpp, turn PDF/PNG bytes into PIL images, and degrade a card image into
a fake webcam frame (downscale into a 640x480 frame, rotate, blur, noise, dim, JPEG). Every step is
deterministic for a given ``seed``, so a failure can be replayed.
"""

from __future__ import annotations

import io
import random

import zxingcpp
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

FRAME_SIZE = (640, 480)
# A desk or a hand behind the card: mid-dark, slightly warm.
BACKGROUND = (78, 66, 58)


def png_image(data: bytes) -> Image.Image:
    """A loaded PIL image from PNG (or any PIL-readable) bytes."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pdf_pages(data: bytes, dpi: int = 200) -> list[Image.Image]:
    """Every page of a PDF rasterized with pypdfium2 at ``dpi``."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        return [pdf[i].render(scale=dpi / 72).to_pil() for i in range(len(pdf))]
    finally:
        pdf.close()


def decode_all(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Every QR code zxing-cpp finds in ``image``."""
    return zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)


def decode(image: Image.Image) -> list[str]:
    """The texts of every QR code found in ``image``."""
    return [barcode.text for barcode in decode_all(image)]


def decode_one(image: Image.Image) -> str | None:
    """The text of the single QR code in ``image``, or None if there is not exactly one."""
    texts = decode(image)
    return texts[0] if len(texts) == 1 else None


def scale_to_width(image: Image.Image, width: int) -> Image.Image:
    """Downscale (area-averaging, as a camera sensor does) to ``width`` pixels wide."""
    height = round(image.height * width / image.width)
    return image.convert("RGB").resize((width, height), Image.Resampling.BOX)


def place_in_frame(card: Image.Image, angle: float = 0.0, frame: tuple[int, int] = FRAME_SIZE,
                   offset: tuple[int, int] = (0, 0),
                   background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    """Rotate ``card`` by ``angle`` degrees and paste it at the frame's centre (+ ``offset``)."""
    card = card.convert("RGB")
    mask = Image.new("L", card.size, 255)
    if angle:
        card = card.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    out = Image.new("RGB", frame, background)
    x = (frame[0] - card.width) // 2 + offset[0]
    y = (frame[1] - card.height) // 2 + offset[1]
    out.paste(card, (x, y), mask)
    return out


def blur(image: Image.Image, radius: float) -> Image.Image:
    """Gaussian blur (an out-of-focus lens)."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def dim(image: Image.Image, brightness: float, contrast: float = 1.0) -> Image.Image:
    """Darken (``brightness`` < 1) and flatten (``contrast`` < 1): a dim hall, a cheap sensor."""
    image = ImageEnhance.Brightness(image).enhance(brightness)
    return ImageEnhance.Contrast(image).enhance(contrast) if contrast != 1.0 else image


def add_noise(image: Image.Image, amplitude: int, seed: int = 0) -> Image.Image:
    """Add per-pixel, per-channel noise uniform in [-amplitude, +amplitude] (sensor noise)."""
    image = image.convert("RGB")
    rng = random.Random(seed)
    raw = Image.frombytes("RGB", image.size, rng.randbytes(image.width * image.height * 3))
    lut = [128 + round((v - 128) * amplitude / 128) for v in range(256)] * 3
    return ImageChops.add(image, raw.point(lut), scale=1.0, offset=-128)


def jpeg(image: Image.Image, quality: int = 70) -> Image.Image:
    """Round-trip through JPEG at ``quality`` (webcam streams are compressed)."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return png_image(buf.getvalue())


def webcam_frame(card: Image.Image, *, card_px: int = 320, angle: float = 8.0,
                 blur_radius: float = 1.0, noise: int = 12, brightness: float = 0.6,
                 contrast: float = 0.8, jpeg_quality: int | None = 75, seed: int = 0,
                 offset: tuple[int, int] = (0, 0)) -> Image.Image:
    """A fake 640x480 webcam frame of ``card`` held up ``card_px`` pixels wide: rotated, out of
    focus, noisy, dim and JPEG-compressed."""
    frame = place_in_frame(scale_to_width(card, card_px), angle, offset=offset)
    frame = blur(frame, blur_radius) if blur_radius else frame
    frame = dim(frame, brightness, contrast)
    frame = add_noise(frame, noise, seed) if noise else frame
    return jpeg(frame, jpeg_quality) if jpeg_quality else frame
