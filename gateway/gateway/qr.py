"""The ticket's QR code as an SVG image (segno), with the countermark printed beneath it."""

import io
from xml.sax.saxutils import escape

import segno

SVG_MEDIA_TYPE = "image/svg+xml"
# Medium error correction (segno raises it when the size allows); 4 px modules, quiet zone of 4.
ERROR_LEVEL = "m"
SCALE = 4
BORDER = 4
CAPTION_HEIGHT = 28
CAPTION_FONT_SIZE = 20


def qr_svg(payload: str, caption: str, title: str) -> bytes:
    """A standalone SVG document: a QR code that encodes `payload`, `caption` printed below."""
    code = segno.make_qr(payload, error=ERROR_LEVEL)
    width, height = code.symbol_size(scale=SCALE, border=BORDER)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=SCALE, border=BORDER, xmldecl=False, svgns=True)
    total = height + CAPTION_HEIGHT
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}"'
        f' viewBox="0 0 {width} {total}"><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{total}" fill="#fff"/>'
        f"{out.getvalue().decode()}"
        f'<text x="{width / 2:g}" y="{height + CAPTION_FONT_SIZE:g}" text-anchor="middle"'
        f' font-family="monospace" font-size="{CAPTION_FONT_SIZE}" letter-spacing="2">'
        f"{escape(caption)}</text></svg>"
    ).encode()
