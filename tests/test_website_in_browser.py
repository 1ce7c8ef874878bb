"""The built website as a reader sees it, in headless Chromium with no network.

Builds the book, serves it on localhost and opens the intro, every chapter and
the reference pages in Debian's `chromium` through the DevTools protocol. Each
page must load every image, show no Sphinx problem or unfilled glue marker,
and typeset all of its math (MathJax is served by the site itself). A full-page
screenshot of each is saved under _output/screenshots/. Internal links and the
launch buttons are checked on the built HTML.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from helpers.plots import SMALLEST_FONT_PT
from publish.provenance import BOOK, chapter_notebooks, repository_url

pytestmark = pytest.mark.book

LEAST_TEXT_PX = 9  # the least height of a figure's text on the page

SCREENSHOTS = BOOK / "_output" / "screenshots"
PAGES = (
    ["chapters/intro"]
    + [f"chapters/{nb.stem}" for nb in chapter_notebooks()]
    + ["chapters/results", "chapters/glossary", "chapters/references"]
)
PAGES += [f"ko/{page}" for page in PAGES]  # the Korean edition's pages

# Run in the page once it has loaded: what a reader would notice.
PAGE_CHECK = (
    """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [...document.images];
  const broken = [];
  await Promise.all(images.map(async (img) => {
    img.loading = "eager";
    try { await img.decode(); } """
    """catch (e) { broken.push(img.getAttribute("src")); return; }
    if (!(img.naturalWidth > 0)) broken.push(img.getAttribute("src"));
  }));
  const text = document.querySelector("main").innerText;
  const prose = document.querySelector("main").cloneNode(true);  // text without code
  prose.querySelectorAll("pre, code, .highlight").forEach((e) => e.remove());
  const pathAlt = images.map((img) => img.getAttribute("alt") || "")
    .filter((alt) => alt === "" || /\\.(png|jpe?g|svg)$/i.test(alt) """
    """|| alt.includes("_images/"));
  const wide = [...document.querySelectorAll("main pre")]
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 2)
    .map((pre) => pre.innerText.split("\\n")"""
    """.sort((a, b) => b.length - a.length)[0].slice(0, 100));
  const figures = images.filter((img) => img.closest("main") && img.naturalWidth > 0)
    .map((img) => ({src: img.src, natural: img.naturalWidth, """
    """shown: img.getBoundingClientRect().width}))
    .filter((f) => f.shown > 0);  // not in a closed dropdown
  const math = [...document.querySelectorAll("main .math")];
  return JSON.stringify({
    title: document.title,
    images: images.length,
    broken: broken,
    problems: document.querySelectorAll(".system-message, .problematic").length,
    glueMarkers: (text.match(/\\{glue|\\bundefined\\b|\\bNaN\\b/g) || []),
    rawMarkup: (prose.textContent.match("""
    """/\\|\\s*:?-{3,}|\\{(cite|cite:[pt]|term|doc|ref|glue:\\w+)\\}/g) || []),
    pathAlt: pathAlt,
    wide: wide,
    figures: figures,
    math: math.length,
    typeset: math.filter((m) => m.querySelector("mjx-container")).length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
    rawTex: math.filter((m) => /\\\\\\(|\\\\\\[|\\$/.test(m.innerText)).length,
    height: document.documentElement.scrollHeight,
  });
})()
"""
)


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[
            dict
        ] = []  # what the page reported while we waited for answers

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.ws.recv())
            if "method" in message:
                self.events.append(message)
            elif message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Return the errors the page reported.

        They are uncaught exceptions, console.error calls and failed loads.
        """
        errors = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append(
                    details.get("exception", {}).get("description")
                    or details.get("text", "")
                )
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(
                    " ".join(
                        str(a.get("value", a.get("description", "")))
                        for a in params["args"]
                    )
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                errors.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
        return errors

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def open_page(browser: str, url: str) -> DevTools:
    """Open url in a new tab, listening to its console from the start.

    Return the tab once loaded.
    """
    request = urllib.request.Request(f"{browser}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        target = json.load(response)
    tab = DevTools(target["webSocketDebuggerUrl"])
    tab.call("Runtime.enable")
    tab.call("Log.enable")
    tab.call("Page.navigate", url=url)
    deadline = time.time() + 60
    ready = f"document.readyState === 'complete' && location.href === {json.dumps(url)}"
    while not tab.evaluate(ready):
        assert time.time() < deadline, f"{url} did not finish loading in 60 s"
        time.sleep(0.2)
    return tab


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(site, server, browser, page):
    assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    tab = open_page(browser, f"{server}/{page}.html")
    try:
        state = json.loads(tab.evaluate(PAGE_CHECK))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = ("ko-" if page.startswith("ko/") else "") + Path(page).name
        save_full_page(tab, state["height"], SCREENSHOTS / f"{name}.png")
        errors = tab.console_errors()
    finally:
        tab.close()
    assert state["broken"] == [], f"{page}: images that did not load: {state['broken']}"
    assert errors == [], f"{page}: errors in the browser console: {errors}"
    assert state["rawMarkup"] == [], (
        f"{page}: raw Markdown or MyST shows in the text: {state['rawMarkup']}"
    )
    assert state["pathAlt"] == [], (
        f"{page}: images whose alt text is a file name or empty: {state['pathAlt']}"
    )
    assert state["wide"] == [], (
        f"{page}: lines cut off at the right edge: {state['wide']}"
    )
    assert state["problems"] == 0, (
        f"{page}: {state['problems']} Sphinx problem markers on the page"
    )
    assert state["glueMarkers"] == [], (
        f"{page}: unfilled values on the page: {state['glueMarkers']}"
    )
    assert state["mathErrors"] == 0 and state["typeset"] == state["math"], (
        f"{page}: {state['typeset']} of {state['math']} formulas typeset, "
        f"{state['mathErrors']} MathJax errors"
    )
    if page.split("/")[-1][:2].isdigit():
        assert state["images"] > 0, f"{page} shows no image"
    assert small_figure_text(site, server, state["figures"]) == [], (
        f"{page}: figures whose smallest text is shown below {LEAST_TEXT_PX} px high"
    )


def save_full_page(tab: DevTools, height: int, path: Path, tile: int = 2000) -> None:
    """Save a 1280-px-wide screenshot of the whole page.

    The window is scrolled a viewport at a time and each view captured: one
    capture beyond the viewport comes out garbled on tall pages (content
    shifted, code blocks left blank).
    """
    import io

    from PIL import Image

    view = min(height, tile)
    tab.call(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=view,
        deviceScaleFactor=1,
        mobile=False,
    )
    page = Image.new("RGB", (1280, height), "white")
    for top in range(0, height, view):
        scrolled = tab.evaluate(f"window.scrollTo(0, {top}); window.scrollY")
        time.sleep(0.3)  # let the page paint what came into view
        shot = tab.call("Page.captureScreenshot", format="png")
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
        page.paste(image, (0, round(scrolled)))
    page.save(path)


def smallest_figure_fonts() -> dict[str, float]:
    """Return {sha256 of a figure's PNG: its smallest text in points}.

    Read from the committed notebooks (the site names each output image by the
    sha256 of its bytes). A figure's smallest text is Matplotlib's default size
    (10 pt: ticks, labels, legends), the image grids' titles where its cell
    calls ``show_images`` (``SMALLEST_FONT_PT``), or any smaller size its cell's
    code sets. The helpers draw nothing else below 10 pt (tests/test_plots.py).
    """
    import base64
    import hashlib
    import re

    import matplotlib

    default = matplotlib.rcParams["font.size"]
    scalings = matplotlib.font_manager.font_scalings
    explicit = re.compile(r"\b(?:fontsize|labelsize|titlesize)\s*=\s*([^,)\s]+)")
    fonts = {}
    for notebook in chapter_notebooks():
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            sizes = [default]
            if "show_images(" in source:
                sizes.append(SMALLEST_FONT_PT)
            for value in explicit.findall(source):
                name = value.strip("\"'")
                if name in scalings:
                    sizes.append((scalings[name] or 1.0) * default)
                elif re.fullmatch(r"\d+(\.\d+)?", name):
                    sizes.append(float(name))
                else:
                    sizes.append(SMALLEST_FONT_PT)  # a variable: assume the least
            for output in cell.get("outputs", []):
                for mime in ("image/png", "image/jpeg"):  # photographs are JPEG
                    data = output.get("data", {}).get(mime)
                    if data:
                        digest = hashlib.sha256(base64.b64decode(data)).hexdigest()
                        fonts[digest] = min(sizes)
    return fonts


def small_figure_text(site: Path, server: str, figures: list[dict]) -> list[str]:
    """Return the Matplotlib figures whose smallest text renders too small.

    A figure's text of f points is f / 72 inches on the figure, so f / 72 x dpi
    pixels in its PNG or JPEG (photographs and overlays are stored as JPEG),
    scaled by the width the page shows it at over the image's.
    A figure not found in the notebooks is held to the book's least size.
    """
    from PIL import Image

    fonts = smallest_figure_fonts()
    small = []
    for figure in figures:
        if not figure["src"].startswith(server + "/"):
            continue  # inline data, not one of the notebooks' figures
        path = site / urllib.parse.unquote(figure["src"].removeprefix(server + "/"))
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        with Image.open(path) as image:
            if path.suffix.lower() == ".png":
                if not image.info.get("Software", "").startswith("Matplotlib"):
                    continue  # a diagram, not a plot
            elif path.stem not in fonts:
                continue  # a JPEG no notebook cell drew with Matplotlib
            dpi = image.info["dpi"][0]
        points = fonts.get(path.stem, SMALLEST_FONT_PT)
        pixels = points / 72 * dpi * figure["shown"] / figure["natural"]
        if pixels < LEAST_TEXT_PX:
            small.append(
                f"{path.name}: {figure['natural']} px wide shown at "
                f"{figure['shown']:.0f} px, its {points:g} pt text {pixels:.1f} px"
            )
    return small


def test_a_page_with_math_was_typeset(site, server, browser):
    """At least one page really has formulas.

    This keeps the MathJax check above from being vacuous.
    """
    tab = open_page(
        browser, f"{server}/chapters/01_convolution_and_pooling_by_hand.html"
    )
    try:
        state = json.loads(tab.evaluate(PAGE_CHECK))
    finally:
        tab.close()
    assert state["math"] >= 3 and state["typeset"] == state["math"], state


def internal_links(html: Path, site: Path):
    soup = BeautifulSoup(html.read_text(), "html.parser")
    for a in soup.select("main a[href]"):
        href = a["href"]
        if urllib.parse.urlparse(href).scheme or href.startswith(("mailto:", "//")):
            continue
        yield href


def test_internal_links_resolve(site):
    """Every link inside the book's pages leads to a built page.

    It also leads to an anchor that exists.
    """
    ids: dict[Path, set[str]] = {}
    bad = []
    for page in PAGES:
        html = site / f"{page}.html"
        for href in internal_links(html, site):
            path, _, fragment = href.partition("#")
            target = (
                (html.parent / urllib.parse.unquote(path)).resolve()
                if path
                else html.resolve()
            )
            if not target.is_file():
                bad.append(f"{page}: {href} (no such file)")
                continue
            if fragment and target.suffix == ".html":
                if target not in ids:
                    soup = BeautifulSoup(target.read_text(), "html.parser")
                    ids[target] = {tag["id"] for tag in soup.find_all(id=True)}
                if urllib.parse.unquote(fragment) not in ids[target]:
                    bad.append(f"{page}: {href} (no such anchor)")
    assert not bad, "broken internal links:\n" + "\n".join(bad)


@pytest.mark.parametrize("edition", ["", "ko/"], ids=["en", "ko"])
@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_launch_buttons_point_at_the_repository(site, notebook, edition):
    """Colab and Binder open the page's notebook in its language: a Korean
    page's buttons open the Korean notebook of the repository (ko/chapters)."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    repo = repository_url().rstrip("/")
    branch = config["repository"].get("branch", "main")
    owner_name = urllib.parse.urlparse(repo).path.strip("/")
    page = notebook.relative_to(BOOK).as_posix()
    path = edition + page
    assert (BOOK / path).is_file(), f"the repository has no {path} to open"
    html = site / edition / notebook.relative_to(BOOK).with_suffix(".html")
    soup = BeautifulSoup(html.read_text(), "html.parser")
    hrefs = {a["href"] for a in soup.find_all("a", href=True)}
    expected = {
        "Colab": f"https://colab.research.google.com/github/{owner_name}/blob/{branch}/{path}",
        "Binder": f"https://mybinder.org/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/{path}",
        "repository": repo,
    }
    for button, href in expected.items():
        assert href in hrefs, f"no {button} button to {href}"
    assert any(h.startswith(f"{repo}/issues/new") for h in hrefs), "no issue button"
    download = soup.find("a", href=lambda h: h and h.endswith(f"_sources/{page}"))
    assert download is not None, "no .ipynb download button"
    assert (site / edition / "_sources" / page).is_file(), (
        "the downloadable .ipynb is missing"
    )


# Mark every shown element whose own text has Hangul with the count of its
# Hangul characters; return how many were marked.
MARK_HANGUL = r"""
(() => {
  let marked = 0;
  for (const el of document.querySelectorAll("body *")) {
    if (!el.getClientRects().length) continue;
    const own = [...el.childNodes]
      .filter(n => n.nodeType === 3).map(n => n.data).join("");
    const hangul = (own.match(/[\uac00-\ud7a3]/g) || []).length;
    if (hangul) { el.setAttribute("data-hangul", hangul); marked++; }
  }
  return marked;
})()
"""


@pytest.mark.parametrize(
    "page",
    [
        "ko/chapters/intro",
        "ko/chapters/02_fashion_mnist_dense_to_convnet",
        "ko/chapters/glossary",
    ],
)
def test_every_hangul_glyph_is_drawn_from_the_web_font(site, server, browser, page):
    """Headings, admonition titles, the sidebar, the search button and the text
    draw each Hangul syllable from "Cnnbook Hangul", as Chromium reports the fonts
    it used (CSS.getPlatformFontsForNode). Without a Korean system font, a
    syllable drawn from any other font is an empty box."""
    tab = open_page(browser, f"{server}/{page}.html")
    try:
        tab.evaluate("document.fonts.ready.then(() => true)")
        assert tab.evaluate(MARK_HANGUL) > 0, f"{page} shows no Hangul"
        tab.call("DOM.enable")
        tab.call("CSS.enable")
        root = tab.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        nodes = tab.call("DOM.querySelectorAll", nodeId=root, selector="[data-hangul]")
        boxes = []
        for node in nodes["nodeIds"]:
            fonts = tab.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
            drawn = sum(
                f["glyphCount"] for f in fonts if f["familyName"] == "Cnnbook Hangul"
            )
            attributes = tab.call("DOM.getAttributes", nodeId=node)["attributes"]
            wanted = int(
                dict(zip(attributes[::2], attributes[1::2], strict=True))["data-hangul"]
            )
            if drawn < wanted:
                outer = tab.call("DOM.getOuterHTML", nodeId=node)["outerHTML"]
                boxes.append(" ".join(outer.split())[:120])
    finally:
        tab.close()
    assert not boxes, f"{page}: Hangul not drawn from the web font in {boxes[:6]}"


@pytest.mark.parametrize(
    "page", ["chapters/glossary", "ko/chapters/06_modern_convnet_from_scratch"]
)
def test_hangul_renders_in_the_books_web_font(site, server, browser, page):
    """The glossary's Korean terms and a Korean page load the shipped Hangul subset.

    Chromium here has no Korean system font: without the web font, Hangul
    would be empty boxes. A face of the subset is loaded only if the page
    uses characters of its Unicode ranges and the file was served.
    """
    tab = open_page(browser, f"{server}/{page}.html")
    try:
        loaded = tab.evaluate(
            "document.fonts.ready.then(() => [...document.fonts]"
            ".filter(f => f.family.replace(/\"/g, '') === 'Cnnbook Hangul')"
            ".map(f => f.weight + ':' + f.status))"
        )
        usable = tab.evaluate(
            "document.fonts.check('16px \"Cnnbook Hangul\"', '합성곱')"
        )
    finally:
        tab.close()
    assert "400:loaded" in loaded, loaded
    assert usable, "the Hangul subset is not usable for 합성곱"
