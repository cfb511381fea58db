"""A real headless Chromium on our gateway's pages: load a directory listing, follow its
links (a directory, then a file), download a file; the bytes are the ones added."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.chromium import Chromium
from tests.gateway.blocks import MemoryBlocks, add_tree, gateway, serving

BIG = os.urandom(600_000)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tree = tmp_path_factory.mktemp("site")
    (tree / "docs").mkdir()
    (tree / "docs" / "a.txt").write_text("alpha text\n")
    (tree / "big.bin").write_bytes(BIG)
    (tree / '<i>odd & "name".txt').write_text("odd")
    blocks = MemoryBlocks()
    root = add_tree(blocks, tree)
    with serving(gateway(blocks)) as url:
        yield url, str(root)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    with Chromium(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


LINKS = "Array.from(document.querySelectorAll('a')).map(a => [a.textContent, a.href])"


def test_listing_links_lead_to_the_directory_and_the_file(
    site: tuple[str, str], browser: Chromium
) -> None:
    url, root = site
    page = browser.open_page(f"{url}/ipfs/{root}/")
    links = dict(browser.evaluate(page, LINKS))
    assert set(links) == {"docs", "big.bin", '<i>odd & "name".txt'}  # names shown as text
    assert browser.evaluate(page, "document.querySelectorAll('i').length") == 0  # escaped
    browser.call(
        "Runtime.evaluate", page, expression="document.querySelector('a[href=\"./docs\"]').click()"
    )
    browser.wait_event("Page.loadEventFired")
    assert browser.evaluate(page, "location.pathname") == f"/ipfs/{root}/docs/"  # via 301
    browser.call(
        "Runtime.evaluate", page, expression="document.querySelector('a[href=\"./a.txt\"]').click()"
    )
    browser.wait_event("Page.loadEventFired")
    assert browser.evaluate(page, "document.body.innerText") == "alpha text\n"
    odd = links['<i>odd & "name".txt']
    browser.navigate(page, odd)
    assert browser.evaluate(page, "document.body.innerText") == "odd"


def test_a_download_has_the_bytes(site: tuple[str, str], browser: Chromium, tmp_path: Path) -> None:
    url, root = site
    browser.call(
        "Browser.setDownloadBehavior",
        behavior="allow",
        downloadPath=str(tmp_path),
        eventsEnabled=True,
    )
    page = browser.open_page(f"{url}/ipfs/{root}/")
    browser.call("Page.navigate", page, url=f"{url}/ipfs/{root}/big.bin?download=true")
    done = browser.wait_event("Browser.downloadProgress", timeout=60, state="completed")
    assert done["totalBytes"] == len(BIG)
    deadline = time.monotonic() + 10
    while not (tmp_path / "big.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "big.bin").read_bytes() == BIG
