"""The Korean edition's catalogs: the book's English text as gettext messages.

The English pages (the notebooks' Markdown cells and the ``.md`` pages of
``_toc.yml``) are the only source. ``python -m publish translations`` (``make
translations``) cuts each page into messages, one per Markdown block (the text
between blank lines; a fenced code block stays whole and is not a message),
writes them as a template and merges it into
``locales/ko/LC_MESSAGES/<page>.po`` with polib: a new or changed English
block becomes an empty message (a changed one keeps its old translation as a
hint, marked fuzzy), a removed one is dropped. A chapter's catalog
also holds the English phrases it glues into its prose (``{glue:text}``), each
with the context ``glue <key>``, so that its Korean page shows them in Korean.

Poedit, Weblate and Crowdin read these files. The test suite fails while any
message is empty, fuzzy or obsolete, and names the page and the message.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from pathlib import Path

import nbformat
import polib

from publish.provenance import BOOK

LOCALES = BOOK / "locales"
LANGUAGE = "ko"
CATALOGS = LOCALES / LANGUAGE / "LC_MESSAGES"
GLUE_CONTEXT = "glue "  # msgctxt of a glued phrase: "glue <key>"
FENCE_LINE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,}|~{3,})\s*(?P<rest>.*?)\s*$")
BARE_FENCE = re.compile(r"^\s*(`{3,}|:{3,})\s*(\{[\w:-]+\})?\s*$")
LETTERS = re.compile(r"[A-Za-z]{2,}")
HINT_SIMILARITY = 0.6  # how alike an old message must be to hint a changed one


def toc_pages() -> list[Path]:
    """Return every page of ``_toc.yml`` in reading order (.ipynb or .md)."""
    import yaml

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    pages = []
    for name in files:
        found = [BOOK / f"{name}{suffix}" for suffix in (".ipynb", ".md")]
        pages += [path for path in found if path.exists()][:1]
    return pages


def catalog_path(page: Path) -> Path:
    return CATALOGS / f"{page.stem}.po"


def markdown_sources(page: Path) -> list[str]:
    """Return the page's Markdown: one text per Markdown cell, or the file."""
    if page.suffix == ".md":
        return [page.read_text()]
    notebook = nbformat.read(page, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def blocks(markdown: str) -> list[tuple[str, bool]]:
    """Cut Markdown into (block, is_message) pairs that join back into it.

    Blocks are separated by blank lines, except inside a fenced code block,
    which stays one block and is never a message. A block is a message when it
    has words to translate: not only fences, code or a label.
    """
    lines = markdown.split("\n")
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    code_fence = None  # the fence of the code block we are in
    directives: list[str] = []  # the fences of the open directives

    def close() -> None:
        if current:
            text = "\n".join(current)
            pieces.append((text, is_message(text)))
            current.clear()

    for line in lines:
        fence = FENCE_LINE.match(line)
        if code_fence is not None:
            current.append(line)
            if fence and fence["fence"].startswith(code_fence) and not fence["rest"]:
                code_fence = None
                pieces.append(("\n".join(current), False))
                current.clear()
            continue
        if fence and fence["rest"].startswith("{"):
            directives.append(fence["fence"])
        elif (
            fence
            and not fence["rest"]
            and directives
            and fence["fence"] == directives[-1]
        ):
            directives.pop()
        elif fence:
            close()
            code_fence = fence["fence"]
            current.append(line)
            continue
        if not line.strip():
            close()
            pieces.append((line, False))
            continue
        current.append(line)
    close()
    return pieces


def is_message(block: str) -> bool:
    words = []
    for line in block.split("\n"):
        if BARE_FENCE.match(line) or re.match(r"^\(.+\)=\s*$", line.strip()):
            continue
        if line.strip().startswith("<!--"):
            continue
        words.append(line)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", "", "\n".join(words), flags=re.S)
    return bool(LETTERS.search(text))


def page_messages(page: Path) -> list[tuple[str, str]]:
    """Return (message, where) for each message of the page, in order."""
    found = []
    for number, source in enumerate(markdown_sources(page)):
        where = f"cell {number}" if page.suffix == ".ipynb" else "page"
        found += [(text, where) for text, message in blocks(source) if message]
    return found


def glued_phrases(page: Path) -> list[tuple[str, str]]:
    """Return (English phrase, key) for each text the chapter glues into its prose."""
    if page.suffix != ".ipynb":
        return []
    from publish.reading_copies import glued_texts

    prose = "\n".join(markdown_sources(page))
    phrases = []
    for key, plain in glued_texts(page).items():
        if f"{{glue:text}}`{key}" not in prose:
            continue
        phrase = glued_phrase(plain)
        if phrase is not None:
            phrases.append((phrase, key))
    return phrases


def glued_phrase(plain: str) -> str | None:
    """The English words of a glued text/plain value, or None for a number."""
    try:
        value = ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, str) and LETTERS.search(value):
        return value
    return None


def template(
    entries: list[tuple[str, str]], glued: list[tuple[str, str]] = ()
) -> polib.POFile:
    pot = polib.POFile(wrapwidth=0)
    pot.metadata = {
        "Project-Id-Version": "cnnbook",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    seen: dict[str, polib.POEntry] = {}
    for text, where in entries:
        if text in seen:
            seen[text].occurrences.append((where, ""))
            continue
        seen[text] = polib.POEntry(msgid=text, msgstr="", occurrences=[(where, "")])
        pot.append(seen[text])
    for phrase, key in glued:
        pot.append(
            polib.POEntry(
                msgctxt=GLUE_CONTEXT + key,
                msgid=phrase,
                msgstr="",
                occurrences=[("glued value", "")],
            )
        )
    return pot


def merge(path: Path, pot: polib.POFile) -> tuple[int, int]:
    """Merge the template into the catalog at path; return (new, obsolete)."""
    if path.exists():
        po = polib.pofile(str(path), wrapwidth=0)
    else:
        po = polib.POFile(wrapwidth=0)
        po.metadata = dict(pot.metadata, Language=LANGUAGE)
    before = {entry.msgid: entry.msgstr for entry in po if entry.msgstr}
    old = {entry.msgid: entry.msgstr for entry in po.obsolete_entries()}
    po.merge(pot)
    # polib keeps the order of the old file: put the messages in page order.
    order = {(e.msgctxt, e.msgid): number for number, e in enumerate(pot)}
    po.sort(key=lambda e: order.get((e.msgctxt, e.msgid), len(order)))
    new = 0
    for entry in po:
        if entry.obsolete or entry.msgstr:
            continue
        new += 1
        kept = {e.msgid for e in pot}
        gone = {**old, **{k: v for k, v in before.items() if k not in kept}}
        hint = difflib.get_close_matches(entry.msgid, gone, n=1, cutoff=HINT_SIMILARITY)
        if hint:
            entry.previous_msgid = hint[0]
            entry.msgstr = gone[hint[0]]
            entry.flags.append("fuzzy")
    # The hints carry what the removed messages had; gettext's #~ copies
    # would only be something more to clean up.
    obsolete = po.obsolete_entries()
    for entry in obsolete:
        po.remove(entry)
    po.metadata["Language"] = LANGUAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    po.save(str(path))
    return new, len(obsolete)


def update_catalogs() -> list[str]:
    """Write every page's template into its catalog; report what needs doing."""
    report = []
    for page in toc_pages():
        pot = template(page_messages(page), glued_phrases(page))
        new, obsolete = merge(catalog_path(page), pot)
        report.append(describe(catalog_path(page), new, obsolete))
    return report


def describe(path: Path, new: int, removed: int) -> str:
    po = polib.pofile(str(path))
    todo = sum(1 for e in po if not e.obsolete and not e.translated())
    line = f"{path.relative_to(BOOK)}: {todo} to translate"
    if removed:
        line += f", {removed} whose English is gone removed"
    return line


def unfinished(path: Path) -> list[str]:
    """Return one line per message of the catalog that needs a translator."""
    po = polib.pofile(str(path))
    lines = []
    for entry in po:
        if entry.obsolete:
            lines.append(f"obsolete (its English is gone): {short(entry.msgid)}")
        elif "fuzzy" in entry.flags:
            lines.append(f"stale (its English changed): {short(entry.msgid)}")
        elif not entry.msgstr.strip():
            lines.append(f"not translated: {short(entry.msgid)}")
    return lines


def short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    shown = text if len(text) <= width else text[: width - 1] + "…"
    return json.dumps(shown, ensure_ascii=False)


# What a translation must keep: roles and their targets, math, code, links,
# directive fences and options, and cross-reference labels.
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<body>[^`]*)`")
# Inline math may run over a line break, not over a blank line.
MATH = re.compile(r"\$\$.+?\$\$|\$(?:[^$\n]|\n(?![ \t]*\n))+?\$", re.S)
CODE = re.compile(r"`(?:[^`\n]|\n(?![ \t]*\n))+`")  # may run over a line break
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
LABEL = re.compile(r"^\((?P<label>[^)]+)\)=\s*$", re.M)
OPTION = re.compile(r"^:(?P<name>[\w-]+):(?P<value>.*)$", re.M)
TRANSLATED_OPTIONS = {"alt", "name"}  # option values that may be translated
TITLED = re.compile(r"\{(\w[\w-]*)\}\s*(.*)$")  # a directive and its title


def role_target(name: str, body: str) -> str:
    """The part of a role that must not change: its target, not its text."""
    explicit = re.search(r"<([^<>]+)>\s*$", body)
    if name in ("term", "ref", "doc", "numref") and explicit:
        return explicit.group(1)
    return body


def role_text(body: str) -> str:
    """What a role shows: its text before an explicit ``<target>``."""
    return re.sub(r"\s*<[^<>]+>\s*$", "", body)


def markup(text: str) -> dict[str, list[str]]:
    """The markup of a message, by kind, each kind as a sorted list."""
    found = {
        "roles": [
            f"{{{m['name']}}}{role_target(m['name'], m['body'])}"
            for m in ROLE.finditer(text)
        ]
    }
    rest = ROLE.sub(" ", text)
    found["math"] = MATH.findall(rest)
    rest = MATH.sub(" ", rest)
    found["links"] = [m["target"] for m in LINK.finditer(rest)]
    found["labels"] = LABEL.findall(rest)
    fences, options = [], []
    for line in rest.split("\n"):
        fence = FENCE_LINE.match(line)
        if fence:
            directive = TITLED.match(fence["rest"])
            fences.append(fence["fence"] + (directive.group(1) if directive else ""))
    for match in OPTION.finditer(rest):
        value = "" if match["name"] in TRANSLATED_OPTIONS else match["value"].strip()
        options.append(f":{match['name']}: {value}".strip())
    found["fences"], found["options"] = fences, options
    code_text = "\n".join(
        line for line in rest.split("\n") if not FENCE_LINE.match(line)
    )
    found["code"] = CODE.findall(code_text)
    return {kind: sorted(items) for kind, items in found.items()}


def markup_problems(english: str, korean: str) -> list[str]:
    """Return what the translation lost or added of the English message's markup."""
    problems = []
    theirs, ours = markup(english), markup(korean)
    for kind in theirs:
        if theirs[kind] != ours[kind]:
            lost = [x for x in theirs[kind] if x not in ours[kind]]
            added = [x for x in ours[kind] if x not in theirs[kind]]
            problems.append(f"{kind} differ: lost {lost}, added {added}")
    return problems


def glossary_terms() -> dict[str, list[str]]:
    """Return {English term: its Korean forms} from the glossary page.

    A definition starts with the Korean term and a full stop; a term with a
    part in brackets, as "bfloat16 (브레인 부동소수점)", may be written either way,
    and a name with capitals or digits (Grad-CAM) may stay in English.
    """
    text = (BOOK / "chapters" / "glossary.md").read_text()
    terms = {}
    for english, korean in re.findall(r"^(\S[^\n]*)\n  ([^.\n]*)\.", text, re.M):
        forms = [korean]
        inside = re.match(r"(.*?)\s*\((.*)\)$", korean)
        if inside:
            forms += [part for part in inside.groups() if part]
        if re.search(r"[A-Z0-9]", english):  # a name such as Grad-CAM reads as is
            forms.append(english)
        terms[english] = forms
    return terms


def term_problems(english: str, korean: str, terms: dict[str, list[str]]) -> list[str]:
    """Each glossary term the English message links must show its Korean form."""
    problems = []
    shown = [role_text(m["body"]) for m in ROLE.finditer(korean) if m["name"] == "term"]
    for match in ROLE.finditer(english):
        if match["name"] != "term":
            continue
        term = role_target("term", match["body"])
        forms = terms.get(term) or terms.get(term.lower()) or []
        if forms and not any(form in text for form in forms for text in shown):
            problems.append(f"the term {term!r} is not shown as {forms[0]!r}")
    return problems


def check_catalog(path: Path) -> list[str]:
    """Every problem of a catalog: unfinished messages, markup, glossary terms."""
    problems = unfinished(path)
    terms = glossary_terms()
    for entry in polib.pofile(str(path)):
        if entry.obsolete or not entry.msgstr.strip():
            continue
        found = markup_problems(entry.msgid, entry.msgstr)
        found += term_problems(entry.msgid, entry.msgstr, terms)
        problems += [f"{p}: {short(entry.msgid, 60)}" for p in found]
    return problems


def page_problems(page: Path) -> list[str]:
    """What keeps a page's Korean from matching its English, one line each.

    Read from the English page itself, so a changed sentence shows here before
    anyone runs ``make translations``: its message is not in the catalog.
    """
    path = catalog_path(page)
    if not path.exists():
        return [f"no catalog {path.relative_to(BOOK)}: run `make translations`"]
    po = polib.pofile(str(path))
    done = {
        (e.msgctxt, e.msgid)
        for e in po
        if not e.obsolete and e.msgstr.strip() and "fuzzy" not in e.flags
    }
    problems = [
        f"not translated (new or changed English): {short(text)}"
        for text, _ in page_messages(page)
        if (None, text) not in done
    ]
    problems += [
        f"glued phrase {key} not translated: {short(phrase)}"
        for phrase, key in glued_phrases(page)
        if (GLUE_CONTEXT + key, phrase) not in done
    ]
    # The catalog's empty messages are those above; add everything else.
    others = [p for p in check_catalog(path) if not p.startswith("not translated:")]
    return problems + others
