"""The provenance record of a committed notebook, and the check that it still holds.

A full run (see :mod:`publish.runs`) stores a record in the notebook's metadata
under ``cnnbook``: the profile and parameters, a hash of the notebook's code
cells, a hash of every ``helpers`` definition and module the code depends on,
a hash of the outputs, library versions, hardware, date and run time. The
check recomputes the hashes: any change to the code, to a helper the code
uses, or to an output after the run makes the notebook stale.

Helpers are hashed by what they do, not by how they are written: the hash
covers each definition's syntax tree (decorators included) with docstrings and
comments left out, and each module's own statements outside definitions
(imports, ``__getattr__``, set-up code). Reformatting or documenting a helper
changes no hash; changing what it does changes every notebook that uses it.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import nbformat
import yaml

BOOK = Path(__file__).resolve().parents[1]
CHAPTERS = BOOK / "chapters"
HELPERS = BOOK / "helpers"
CONFIG = BOOK / "_config.yml"
RECORD_KEY = "cnnbook"  # the notebook metadata key of the record

# Every chapter's first code cell, word for word (the tests check it): in Colab
# or Binder it installs `helpers` from the book's repository, elsewhere it does
# nothing. Being the same boilerplate in every chapter, it is left out of the
# code hash, so changing the repository URL does not make the runs stale.
LAUNCH_CELL_TEMPLATE = """\
# In Colab or Binder, this installs the book's helpers from its repository.
# On your own machine (`make lab` installs them), it does nothing.
import importlib.util

if importlib.util.find_spec("helpers") is None:
    %pip install --quiet "cnnbook-helpers @ git+{repository}"
    importlib.invalidate_caches()
    if importlib.util.find_spec("helpers") is None:
        raise ModuleNotFoundError(
            "The book's helpers could not be installed: check the internet "
            "connection, or clone {repository} and run: make lab"
        )"""


def repository_url() -> str:
    """Return the book's repository URL, set once in _config.yml."""
    return yaml.safe_load(CONFIG.read_text())["repository"]["url"]


def launch_cell_source() -> str:
    return LAUNCH_CELL_TEMPLATE.format(repository=repository_url())


def chapter_notebooks() -> list[Path]:
    """Return the notebooks listed in _toc.yml, in book order."""
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((BOOK / "_toc.yml").read_text()))
    return [BOOK / f"{f}.ipynb" for f in files if (BOOK / f"{f}.ipynb").exists()]


def is_injected(cell) -> bool:
    """True for the cell papermill adds with the parameters of a run."""
    return "injected-parameters" in cell.get("metadata", {}).get("tags", [])


def code_sources(nb) -> list[str]:
    """Return the normalised source of each code cell the author wrote."""
    launch_cell = launch_cell_source()
    return [
        "\n".join(line.rstrip() for line in cell.source.strip().splitlines())
        for cell in nb.cells
        if cell.cell_type == "code"
        and not is_injected(cell)
        and cell.source != launch_cell
    ]


def code_hash(nb) -> str:
    """Return the sha256 of the notebook's code cells (injected parameters excluded)."""
    return hashlib.sha256("\n\0\n".join(code_sources(nb)).encode()).hexdigest()


def outputs_hash(nb) -> str:
    """Return the sha256 of every code cell's outputs.

    Any edit after the run changes it.
    """
    outputs = [cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"]
    return hashlib.sha256(
        json.dumps(outputs, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _without_docstrings(node):
    """Return a copy of a syntax tree without its docstrings.

    The docstrings left out are those of its functions and classes.
    """
    node = (
        ast.parse(ast.unparse(node)).body[0]
        if not isinstance(node, ast.Module)
        else node
    )
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = child.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                child.body = body[1:] or [ast.Pass()]
    return node


def _behaviour(node) -> str:
    """The code of a node as Python would run it.

    It has no comments, no docstrings and one layout.
    """
    return ast.unparse(_without_docstrings(node))


def _defined_names(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def helper_definitions() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Read helpers/: return (code of each definition by name, module of each name,
    code of each module's statements outside definitions, by module name)."""
    definitions: dict[str, str] = {}
    module_of: dict[str, str] = {}
    module_code: dict[str, str] = {}
    for path in sorted(HELPERS.glob("*.py")):
        tree = ast.parse(path.read_text())
        rest = []
        for index, node in enumerate(tree.body):
            names = [n for n in _defined_names(node) if not n.startswith("__")]
            if names:
                for name in names:
                    definitions[name] = definitions.get(name, "") + _behaviour(node)
                    module_of[name] = path.name
            elif not (
                index == 0
                and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
            ):
                # Imports, __all__, __getattr__, set-up code; not the module docstring.
                rest.append(node)
        module_code[path.name] = _behaviour(ast.Module(body=rest, type_ignores=[]))
    return definitions, module_of, module_code


def _names_in(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics in a cell
        lines = source.splitlines()
        tree = ast.parse(
            "\n".join(
                line for line in lines if not line.lstrip().startswith(("%", "!"))
            )
        )
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {
        a.name.split(".")[-1]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    return names


def _defined_in(source: str) -> set[str]:
    """Return the names a notebook defines itself with ``def`` or ``class``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        lines = source.splitlines()
        tree = ast.parse(
            "\n".join(
                line for line in lines if not line.lstrip().startswith(("%", "!"))
            )
        )
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {n.name for n in ast.walk(tree) if isinstance(n, kinds)}


def helpers_used(nb) -> dict[str, str]:
    """Return {name: sha256} for each helpers definition and module the notebook uses.

    Starts from the names the notebook's code mentions and follows the
    definitions those mention, so a change anywhere along the way counts. Each
    module that holds one of them counts with its own statements outside
    definitions, and so does ``__init__.py``, which every ``import helpers`` runs.
    """
    definitions, module_of, module_code = helper_definitions()
    code = "\n".join(code_sources(nb))
    own = _defined_in(
        code
    )  # a notebook's own function that shares a helper's name is not that helper
    todo = [n for n in _names_in(code) if n in definitions and n not in own]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(
            n
            for n in _names_in(definitions[name])
            if n in definitions and n not in seen
        )
    used = {name: definitions[name] for name in seen}
    for module in {"__init__.py"} | {module_of[name] for name in seen}:
        used[f"{module} (module code)"] = module_code[module]
    return {
        name: hashlib.sha256(text.encode()).hexdigest()
        for name, text in sorted(used.items())
    }


def without_run_metadata(nb):
    """Drop papermill's and Jupyter's per-run metadata from a notebook.

    That metadata holds timings and this machine's paths.
    """
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def error_cells(nb) -> list[int]:
    """Return the indices of the cells that hold an error output."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def provenance_problems(path: Path) -> list[str]:
    """Return why the notebook's committed outputs do not match its code.

    The list is empty if they do.
    """
    name = path.relative_to(BOOK) if path.is_relative_to(BOOK) else path
    rerun = f"re-run it with `make full NB={name}`"
    nb = nbformat.read(path, as_version=4)
    record = nb.metadata.get(RECORD_KEY)
    if not record:
        return [
            f"{name} has no provenance record (no full run made its outputs); {rerun}."
        ]
    problems = []
    if record.get("profile") != "full":
        problems.append(
            f"{name} holds outputs of a {record.get('profile')!r} run, "
            f"not a full run; {rerun}."
        )
    if record.get("code_sha256") != code_hash(nb):
        problems.append(
            f"{name} is stale: its code cells changed after the full run of "
            f"{record.get('started_utc')} that made its outputs; {rerun}."
        )
    used_now, used_then = helpers_used(nb), record.get("helpers_sha256", {})
    changed = sorted(
        n for n in set(used_now) | set(used_then) if used_now.get(n) != used_then.get(n)
    )
    if changed:
        problems.append(
            f"{name} is stale: the helpers it uses changed after its full run "
            f"({', '.join(changed)}); {rerun}."
        )
    if record.get("outputs_sha256") != outputs_hash(nb):
        problems.append(
            f"{name} has outputs that its full run of {record.get('started_utc')} "
            f"did not make (edited afterwards); {rerun}."
        )
    errors = error_cells(nb)
    if errors:
        problems.append(f"{name} has error outputs in cells {errors}; {rerun}.")
    return problems
