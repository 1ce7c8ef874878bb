"""The site's Korean web font: Nanum Gothic, cut down to the Hangul the book uses.

Readers without a Korean system font would otherwise see empty boxes in the
keyword tables, the glossary and the references. ``python -m publish font``
(``make font``) reads every Hangul syllable and jamo in the book's pages and
writes the regular and bold faces of Nanum Gothic with only those glyphs, as
WOFF files, into ``_static/fonts/``; ``_static/cnnbook.css`` declares them for
the Hangul ranges alone, so Latin text keeps the theme's fonts. Run it again
after adding Korean text: a test names any character the subset lacks.

The source is Debian's ``fonts-nanum`` package, under the SIL Open Font
License 1.1 (its text ships beside the subsets as ``OFL.txt``). A subset is a
Modified Version under that license, and "Nanum" and "NanumGothic" are
Reserved Font Names, so the subsets are renamed "Cnnbook Hangul".
"""

from __future__ import annotations

from pathlib import Path

from publish.provenance import BOOK

FONTS = BOOK / "_static" / "fonts"
SOURCE_FOLDER = Path("/usr/share/fonts/truetype/nanum")
FAMILY = "Cnnbook Hangul"
FACES = {  # subset file: (source file in fonts-nanum, style)
    "cnnbook-hangul-regular.woff": ("NanumGothic.ttf", "Regular"),
    "cnnbook-hangul-bold.woff": ("NanumGothicBold.ttf", "Bold"),
}
HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3))


def is_hangul(character: str) -> bool:
    return any(low <= ord(character) <= high for low, high in HANGUL)


def book_text_files() -> list[Path]:
    """Every file whose text the website shows: pages, notebooks, references, the
    Korean catalogs and the code that writes Korean words into pages."""
    patterns = ("*.md", "*.ipynb", "*.bib")
    files = [p for pattern in patterns for p in (BOOK / "chapters").glob(pattern)]
    files += (BOOK / "locales").glob("*/LC_MESSAGES/*.po")
    files += [*(BOOK / "_ext").glob("*.py"), *(BOOK / "publish").glob("*.py")]
    return sorted(files)


def hangul_in_site(html: Path) -> set[str]:
    """Every Hangul character of a built site's pages and scripts, the theme's
    Korean words (search, navigation) included."""
    files = [p for suffix in ("*.html", "*.js") for p in html.rglob(suffix)]
    return {
        character
        for path in files
        for character in path.read_text(encoding="utf-8", errors="replace")
        if is_hangul(character)
    }


def hangul_in_book() -> set[str]:
    """Every Hangul character that occurs in the book's pages."""
    return {
        character
        for path in book_text_files()
        for character in path.read_text(encoding="utf-8")
        if is_hangul(character)
    }


def glyphs_in(font_file: Path) -> set[str]:
    """The characters a font file has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(font_file) as font:
        return {chr(code) for code in font.getBestCmap()}


def write_subsets(source_folder: Path = SOURCE_FOLDER) -> list[Path]:
    """Write the subset faces; return their paths."""
    from fontTools import subset

    missing = [n for n, _ in FACES.values() if not (source_folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{', '.join(missing)} not in {source_folder}: install Debian's "
            "fonts-nanum package (apt-get install fonts-nanum) and run this again."
        )
    site = BOOK / "_build" / "html"
    if not (site / "ko" / "index.html").is_file():
        raise FileNotFoundError(
            f"No Korean edition in {site}: run `make book` first, so that the "
            "font covers the theme's Korean words too."
        )
    text = "".join(sorted(hangul_in_book() | hangul_in_site(site)))
    FONTS.mkdir(parents=True, exist_ok=True)
    written = []
    for target, (source, style) in FACES.items():
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        options.name_IDs = [0, 13, 14]  # copyright, licence and its address only
        font = subset.load_font(str(source_folder / source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        names = {
            1: FAMILY,
            2: style,
            3: f"{FAMILY} {style} (subset of {source})",
            4: f"{FAMILY} {style}",
            6: f"{FAMILY.replace(' ', '')}-{style}",
        }
        for name_id, value in names.items():
            font["name"].setName(value, name_id, 3, 1, 0x409)
        subset.save_font(font, str(FONTS / target), options)
        written.append(FONTS / target)
    return written
