"""Command line: ``python -m publish COMMAND``.

Commands: book, full, smoke, check, normalise, bench, font, lab, translations,
korean.

See the package docstring.
"""

from __future__ import annotations

import sys

from publish import __doc__ as USAGE
from publish.provenance import chapter_notebooks, provenance_problems
from publish.runs import (
    RunError,
    interrupts_as_keyboard_interrupt,
    plan_full_runs,
    resolve_notebooks,
    run_full,
    run_smoke,
    split_settings,
)


def parse(arguments: list[str]) -> tuple[list[str], list[str]]:
    """Split arguments into positional ones and the values of ``--set``."""
    positional, settings = [], []
    items = iter(arguments)
    for item in items:
        if item == "--set":
            value = next(items, None)
            if value is None or value.startswith("--") or not value.strip():
                raise RunError(
                    "--set needs NAME=VALUE after it, e.g. --set 'EPOCHS=3'."
                )
            settings.append(value)
        elif item.startswith("--set="):
            settings.append(item.removeprefix("--set="))
        else:
            positional.append(item)
    return positional, settings


def normalise_chapters(check: bool) -> int:
    """Normalise every chapter in place, or (``check``) list what is wrong."""
    import nbformat

    from publish.normalise import hygiene_problems, normalise

    if check:
        problems = [p for nb in chapter_notebooks() for p in hygiene_problems(nb)]
        print("\n".join(problems) or "every notebook is normalised")
        return 1 if problems else 0
    for path in chapter_notebooks():
        nb = nbformat.read(path, as_version=4)
        cleaned = normalise(nbformat.from_dict(nb))
        if cleaned != nbformat.read(path, as_version=4):
            nbformat.write(cleaned, path)
            print(f"normalised {path.name}")
    return 0


def report(action, errors, last: str = "") -> int:
    """Run action, print the lines it returns (and last), or its error in one line.

    ``errors`` are the exception types that mean bad input or a missing file.
    """
    try:
        lines = action()
    except errors as error:
        print(error, file=sys.stderr)
        return 1
    print("\n".join([*lines, last] if last else lines))
    return 0


def main(argv: list[str]) -> int:
    commands = {
        "book",
        "full",
        "smoke",
        "check",
        "normalise",
        "bench",
        "font",
        "lab",
        "translations",
        "korean",
    }
    if not argv or argv[0] not in commands:
        print(USAGE)
        return 2
    command = argv[0]
    try:
        positional, settings = parse(argv[1:])
        if command == "check":
            problems = [
                p for nb in chapter_notebooks() for p in provenance_problems(nb)
            ]
            print("\n".join(problems) or "every notebook's outputs match its code")
            return 1 if problems else 0
        if command == "normalise":
            return normalise_chapters(check="--check" in positional)
        if command == "lab":
            from publish.reading_copies import ReadingCopyError

            if positional == ["ko"]:
                from publish.korean_edition import LAB, write_reading_copies
            else:
                from publish.reading_copies import LAB, write_reading_copies
            return report(
                write_reading_copies,
                ReadingCopyError,
                f"reading copies of the chapters in {LAB}",
            )
        if command == "translations":
            from publish.korean_edition import NOTEBOOKS, write_notebooks
            from publish.translations import update_catalogs

            def catalogs_and_notebooks() -> list[str]:
                lines = update_catalogs()
                write_notebooks()
                return lines

            return report(
                catalogs_and_notebooks, (), f"the Korean notebooks in {NOTEBOOKS}"
            )
        if command == "book":
            from publish.site import BuildError, build_site

            def site() -> list[str]:
                html, lines = build_site()
                return [*lines, f"Website: {html / 'index.html'}"]

            return report(site, BuildError)
        if command == "korean":
            from publish.korean_edition import SOURCE, write_tree

            return report(write_tree, (), f"the Korean edition's source in {SOURCE}")
        if command == "font":
            from publish.korean_font import write_subsets

            def fonts() -> list[str]:
                return [
                    f"wrote {path.name}: {path.stat().st_size / 1024:.0f} KiB"
                    for path in write_subsets()
                ]

            return report(fonts, FileNotFoundError)
        if command == "bench":
            from publish.bench import main as bench

            return bench()
        if len(positional) > 1:
            raise RunError(
                f"Give one notebook or 'all', not {len(positional)}: "
                f"{' '.join(positional)}."
            )
        which = positional[0] if positional else "all"
        with interrupts_as_keyboard_interrupt():
            if command == "full":
                for path, overrides in plan_full_runs(which, split_settings(settings)):
                    run_full(path, overrides)
            else:
                if settings:
                    raise RunError(
                        "--set is for full runs only "
                        "(smoke runs use chapters/smoke_parameters.yml)."
                    )
                for path in resolve_notebooks(which):
                    run_smoke(path)
    except RunError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; no committed notebook was changed.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
