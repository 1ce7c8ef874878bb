"""A chapter as a learner opens it: the real JupyterLab server, in headless Chromium.

JupyterLab serves the reading copy of the first chapter that `make lab` opens
(publish/reading_copies.py: roles written out; nothing it saves touches the
committed notebook), in English and, as `make lab EDITION=ko` opens it, in
Korean (publish/korean_edition.py). The test waits for the notebook to render,
checks that jupyterlab-myst turned the learning-objectives admonition into a box (not a
code block of raw MyST), then presses Shift+Enter through the first cells as
a learner would: the launch cell must find the installed `helpers` package
and the set-up cell must import everything and print the Keras version,
without TensorFlow's C++ start-up log lines.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_website_in_browser import SCREENSHOTS, DevTools

from publish.korean_edition import korean_notebooks, write_tree
from publish.provenance import chapter_notebooks
from publish.reading_copies import reading_copy

pytestmark = pytest.mark.book
TOKEN = "cnnbook-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float, what: str):
    """Call check() until it returns something true.

    Fail naming `what` after `seconds`.
    """
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds:.0f} s")


@pytest.fixture(scope="module", params=["en", "ko"])
def lab(request, tmp_path_factory):
    """JupyterLab serving the reading copy of the first chapter, in each edition.

    Yields (url of the notebook, folder, edition).
    """
    folder = tmp_path_factory.mktemp("lab")
    notebook = chapter_notebooks()[0]
    if request.param == "ko":
        tree = tmp_path_factory.mktemp("korean") / "source"
        write_tree(tree)
        notebook = korean_notebooks(tree)[0]
    nbformat.write(reading_copy(notebook), folder / notebook.name)
    port = free_port()
    log = open(folder / "jupyterlab.log", "w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=None",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def up():
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=1
            )
            return True
        except OSError:
            return process.poll() is not None  # stop waiting if it died

    wait_for(up, 60, "JupyterLab did not answer")
    assert process.poll() is None, (folder / "jupyterlab.log").read_text()[-3000:]
    url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={TOKEN}"
    yield url, folder, request.param
    process.terminate()
    process.wait(timeout=30)
    log.close()


def press(tab: DevTools, key: str, code: int, shift: bool = False):
    for kind in ("rawKeyDown", "keyUp"):
        tab.call(
            "Input.dispatchKeyEvent",
            type=kind,
            key=key,
            code=key,
            windowsVirtualKeyCode=code,
            modifiers=8 if shift else 0,
        )


def test_a_chapter_opens_renders_and_runs_in_jupyterlab(lab, browser):
    url, folder, edition = lab
    request = urllib.request.Request(
        f"{browser}/json/new?{urllib.parse.quote(url, safe=':/?=&')}", method="PUT"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        tab = DevTools(json.load(response)["webSocketDebuggerUrl"])
    try:
        tab.call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        wait_for(
            lambda: tab.evaluate(
                "document.querySelectorAll('.jp-Notebook .jp-Cell').length"
            ),
            90,
            "the notebook did not render in JupyterLab",
        )
        first = "document.querySelector('.jp-Notebook .jp-Cell')"
        wait_for(
            lambda: tab.evaluate(f"!!{first}.querySelector('aside.myst-admonition')"),
            30,
            "jupyterlab-myst did not render the learning objectives as a box",
        )
        raw = tab.evaluate(f"{first}.innerText")
        assert "{admonition}" not in raw and "```" not in raw, (
            "raw MyST shows in the first cell"
        )
        written_out = "분(CPU 코어" if edition == "ko" else "minutes on"
        assert "{run-time}" not in raw and written_out in raw, (
            "the run time is not written out in the first cell"
        )
        if edition == "ko":
            assert "학습 목표" in raw, "the first cell is not in Korean"

        # Select the first cell and run the first four (title, launch cell,
        # heading, set-up) as a learner would.
        box = json.loads(
            tab.evaluate(f"JSON.stringify({first}.getBoundingClientRect())")
        )
        for kind in ("mousePressed", "mouseReleased"):
            tab.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"] + 200,
                y=box["y"] + 20,
                button="left",
                clickCount=1,
            )
        press(tab, "Escape", 27)
        for _ in range(4):
            press(tab, "Enter", 13, shift=True)
            time.sleep(0.3)
        outputs = (
            "[...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]"
            ".map(o => o.innerText).join('\\n')"
        )
        printed = wait_for(
            lambda: (lambda text: text if "Keras " in text or "Error" in text else "")(
                tab.evaluate(outputs)
            ),
            120,
            "the set-up cell printed nothing",
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = tab.call("Page.captureScreenshot", format="png")
        name = "jupyterlab-ko.png" if edition == "ko" else "jupyterlab.png"
        (SCREENSHOTS / name).write_bytes(base64.b64decode(shot["data"]))
    finally:
        tab.close()
    assert "Error" not in printed, f"running the first cells failed:\n{printed[-2000:]}"
    assert "on tensorflow" in printed, printed[-2000:]
    # TensorFlow's C++ start-up log goes to the terminal (ipython_kernel_config.py)
    assert "oneDNN" not in printed and "InitializeLog" not in printed, printed[-2000:]
