"""The counter's page ("Guichet"), served at /desk: plain static files (desk/), each answered
with a strict Content-Security-Policy. The page calls only the public HTTP API, with the pro's
token kept in the tab (sessionStorage), never in a cookie."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

FOLDER = Path(__file__).parent / "desk"
PATH = "/desk"
# No inline script or style, nothing from elsewhere; the camera's stream plays in a <video>.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self)",
    # Revalidated on each load (ETag): a new release is picked up at once.
    "Cache-Control": "no-cache",
}


class DeskFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(HEADERS)
        return response


def mount(app: FastAPI) -> None:
    """/desk/ serves desk/index.html (/desk redirects there)."""
    app.mount(PATH, DeskFiles(directory=FOLDER, html=True), name="desk")
