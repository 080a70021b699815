"""The ticket's QR code as an SVG image (segno)."""

import io

import segno

SVG_MEDIA_TYPE = "image/svg+xml"
# Medium error correction (segno raises it when the size allows); 4 px modules, quiet zone of 4.
ERROR_LEVEL = "m"
SCALE = 4
BORDER = 4


def qr_svg(payload: str, title: str) -> bytes:
    """A standalone SVG document of a QR code that encodes `payload`."""
    code = segno.make_qr(payload, error=ERROR_LEVEL)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=SCALE, border=BORDER, xmldecl=True, title=title)
    return out.getvalue()
