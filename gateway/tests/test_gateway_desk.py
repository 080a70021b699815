"""The counter's page at /desk: static files with a strict Content-Security-Policy, no inline
script or style, its vendored QR decoder as noted."""

import hashlib
import re
from html.parser import HTMLParser

from gateway import desk


class Markup(HTMLParser):
    """What of a page a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style" or "style" in attributes:
            self.inline.append(tag)
        self.inline += [name for name in attributes if name.startswith("on")]

    def handle_data(self, data):
        if self.lasttag == "script" and data.strip():
            self.inline.append("script")


async def test_the_page_is_served_with_a_strict_csp(client):
    redirected = await client.get("/desk")
    assert redirected.status_code in (301, 302, 307)
    assert redirected.headers["location"].endswith("/desk/")

    page = await client.get("/desk/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe" not in policy and "default-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="fr">' in page.text

    markup = Markup()
    markup.feed(page.text)
    assert markup.inline == []
    assert {script["src"] for script in markup.scripts} == {"vendor/jsQR.js", "js/desk.js"}
    for script in markup.scripts:
        served = await client.get(f"/desk/{script['src']}")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/javascript")
        assert served.headers["content-security-policy"] == policy


async def test_the_modules_load_only_from_the_page_and_call_only_the_api(client):
    for module in sorted((desk.FOLDER / "js").glob("*.js")):
        text = module.read_text()
        imports = re.findall(r'from "([^"]+)"', text)
        assert all(path.startswith("./") for path in imports), module.name
        assert "localStorage" not in text and "document.cookie" not in text, module.name
        assert "innerHTML" not in text, module.name  # text only: nothing is parsed as HTML
        fetched = await client.get(f"/desk/js/{module.name}")
        assert fetched.status_code == 200


async def test_an_unknown_file_is_a_problem_404(client):
    answer = await client.get("/desk/nothing.js")
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"


def test_the_vendored_decoder_is_the_one_noted():
    notes = (desk.FOLDER / "vendor" / "README.md").read_text()
    [noted] = re.findall(r"sha256 of `jsQR.js`: `([0-9a-f]{64})`", notes)
    vendored = (desk.FOLDER / "vendor" / "jsQR.js").read_bytes()
    assert hashlib.sha256(vendored).hexdigest() == noted
    assert "Apache License" in (desk.FOLDER / "vendor" / "jsQR.LICENSE").read_text()
