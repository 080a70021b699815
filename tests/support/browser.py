"""Debian's Chromium driven by Playwright (headless, no browser download), for the pages'
end-to-end tests."""

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls home, and this machine refuses it.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium(extra_flags: tuple[str, ...] = ()) -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_FLAGS, *extra_flags]
        )
        try:
            yield launched
        finally:
            await launched.close()
