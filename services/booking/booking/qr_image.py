"""The ticket's QR code as a PNG for the emails: zxing-cpp encodes it (in C++: segno, in Python,
took a tenth of a booking's email work); the PNG is written here from the code's modules, a 1-bit
grayscale image, each module row packed once and repeated."""

import struct
import zlib

import zxingcpp

# Medium error correction, 5 px modules, a quiet zone of 4 modules.
ERROR_LEVEL = "M"
SCALE = 5
BORDER = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DARK, LIGHT = 0, 255  # zxing-cpp's images


def qr_code(payload: str) -> list[bytes]:
    """The code's modules, a row of bytes per module row (0 dark, 255 light), no quiet zone."""
    code = zxingcpp.create_barcode(
        payload, zxingcpp.BarcodeFormat.QRCode, options=f"ecLevel={ERROR_LEVEL}"
    )
    image = code.to_image(scale=1, add_quiet_zones=False)
    # An 8-bit grayscale buffer (its type stub does not say so).
    size, pixels = image.shape[0], memoryview(image).tobytes()  # type: ignore[arg-type]
    return [pixels[row * size : (row + 1) * size] for row in range(size)]


def png(modules: list[bytes], scale: int = SCALE, border: int = BORDER) -> tuple[bytes, int]:
    """The code as a PNG (black on white), and its width (= height) in pixels."""
    width = (len(modules) + 2 * border) * scale
    row_bytes = (width + 7) // 8
    # Each image row: filter type 0, then the pixels, 1 bit each, 1 = white.
    light = b"\x00" + _bits("1" * width, row_bytes)
    rows = [light] * (border * scale)
    quiet = "1" * (border * scale)
    # Each module as `scale` pixels, "0" dark and "1" light.
    pixels = {DARK: "0" * scale, LIGHT: "1" * scale}
    for line in modules:
        drawn = line.decode("latin-1").translate(pixels)
        rows += [b"\x00" + _bits(quiet + drawn + quiet, row_bytes)] * scale
    rows += [light] * (border * scale)
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    data = zlib.compress(b"".join(rows))
    image = PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    return image, width


def _bits(pixels: str, size: int) -> bytes:
    """A row of "0"/"1" pixels, packed 8 to a byte (padding bits 0)."""
    return int(pixels.ljust(size * 8, "0"), 2).to_bytes(size, "big")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
