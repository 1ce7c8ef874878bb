"""Fixtures shared by the test files."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def pytest_configure(config):
    """Find nbval's sanitize file (pyproject.toml names it from the repository root)
    from any working folder."""
    sanitize = config.option.nbval_sanitize_with
    if sanitize and not Path(sanitize).exists():
        if (config.rootpath / sanitize).exists():
            config.option.nbval_sanitize_with = str(config.rootpath / sanitize)


def pytest_pycollect_makemodule(module_path, parent):
    """test_chapters.py brings the chapters too: each one prepared by papermill
    and run once by nbval, an item per code cell (see that file)."""
    if module_path.name == "test_chapters.py":
        from test_chapters import ChapterTests

        return ChapterTests.from_parent(parent, path=module_path)
    return None


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build both editions once, as ``make book`` does (publish/site.py), with -W
    (warnings are errors), into a scratch folder.

    Return its html folder: English at the root, Korean in ``ko/``.
    """
    from publish.site import build_site

    html, _ = build_site(tmp_path_factory.mktemp("site"))
    return html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# No network beyond localhost: no proxy, no DNS, no background services.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium with no network; yields its DevTools address."""
    if CHROMIUM is None:
        pytest.fail(
            "Chromium is not installed: `apt-get install chromium` "
            "(the README's set-up does it)."
        )
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.is_file() and port_file.read_text().strip():
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("Chromium did not start its DevTools endpoint within 30 s")
    port = int(port_file.read_text().split()[0])
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(profile, ignore_errors=True)
