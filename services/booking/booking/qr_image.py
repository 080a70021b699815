"""The ticket's QR code as a PNG for the emails: segno encodes it; the PNG is written here from
segno's matrix, a 1-bit grayscale image like segno's own writer makes, in a tenth of its time
(its writer yields every pixel from Python; this repeats whole rows)."""

import struct
import zlib

import segno

# Medium error correction, 5 px modules, a quiet zone of 4 modules.
ERROR_LEVEL = "m"
SCALE = 5
BORDER = 4
# Any mask makes a valid code; segno choosing the best of 8 would cost 6 times the rest.
MASK = 0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def qr_code(payload: str) -> segno.QRCode:
    return segno.make_qr(payload, error=ERROR_LEVEL, mask=MASK)


def png(code: segno.QRCode, scale: int = SCALE, border: int = BORDER) -> tuple[bytes, int]:
    """The code as a PNG (black on white), and its width (= height) in pixels."""
    modules = len(code.matrix)
    width = (modules + 2 * border) * scale
    row_bytes = (width + 7) // 8
    # Each image row: filter type 0, then the pixels, 1 bit each, 1 = white.
    light = b"\x00" + _bits("1" * width, row_bytes)
    rows = [light] * (border * scale)
    quiet = "1" * (border * scale)
    for line in code.matrix:
        pixels = "".join("0" * scale if dark else "1" * scale for dark in line)
        rows += [b"\x00" + _bits(quiet + pixels + quiet, row_bytes)] * scale
    rows += [light] * (border * scale)
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    data = zlib.compress(b"".join(rows), 9)
    image = PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    return image, width


def _bits(pixels: str, size: int) -> bytes:
    """A row of "0"/"1" pixels, packed 8 to a byte (padding bits 0, as segno writes them)."""
    return int(pixels.ljust(size * 8, "0"), 2).to_bytes(size, "big")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
