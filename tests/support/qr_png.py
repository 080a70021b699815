"""What a phone reads from an email's QR code: the PNG's pixels (unfiltered rows), and the text
zxing-cpp decodes from them."""

import struct
import zlib

import zxingcpp


def png_pixels(image: bytes) -> tuple[int, list[bytes]]:
    """A 1-bit grayscale PNG's width and its rows of pixels (one byte each: 0 dark, 255 light).
    Filters None and Up only (the emails' writer uses None)."""
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    position, header, data = 8, b"", b""
    while position < len(image):
        (size,) = struct.unpack(">I", image[position : position + 4])
        kind, chunk = image[position + 4 : position + 8], image[position + 8 : position + 8 + size]
        assert struct.unpack(">I", image[position + 8 + size : position + 12 + size])[0] == (
            zlib.crc32(kind + chunk)
        )
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        position += 12 + size
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert (depth, color) == (1, 0)  # 1-bit grayscale
    raw, row_size = zlib.decompress(data), (width + 7) // 8 + 1
    rows, previous = [], bytes(row_size - 1)
    for index in range(height):
        kind, line = raw[index * row_size], raw[index * row_size + 1 : (index + 1) * row_size]
        assert kind in (0, 2)
        if kind == 2:
            line = bytes((a + b) % 256 for a, b in zip(line, previous, strict=True))
        rows.append(
            bytes(255 * (byte >> (7 - bit) & 1) for byte in line for bit in range(8))[:width]
        )
        previous = line
    return width, rows


def decoded(image: bytes) -> str | None:
    """The text a QR code reader finds in the PNG, or None."""
    width, rows = png_pixels(image)
    pixels = b"".join(rows)  # held here: the view does not keep its buffer alive
    view = zxingcpp.ImageView(pixels, width, len(rows), zxingcpp.ImageFormat.Lum)
    found = zxingcpp.read_barcode(
        view, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return found.text if found else None
