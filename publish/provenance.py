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
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from helpers.data import sha256_of

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


CHAPTER_INPUTS = CHAPTERS / "chapter_inputs.yml"


def chapter_inputs() -> dict[str, dict]:
    """Return chapters/chapter_inputs.yml: {notebook file name: {saves, uses}}.

    Its order is the order of `make full NB=all`.
    """
    return yaml.safe_load(CHAPTER_INPUTS.read_text()) or {}


def input_key(use: dict) -> str:
    """How a record names one input: 'CHAPTER.ipynb: FILE or GLUED KEY'."""
    return f"{use['from']}: {use.get('file') or use.get('glued')}"


def glued_sha256(notebook: Path, key: str) -> str | None:
    """Return the sha256 of what a committed notebook glued under ``key``."""
    from helpers.glued import glued_value

    if not notebook.is_file():
        return None
    value = glued_value(nbformat.read(notebook, as_version=4), key)
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def input_hashes(path: Path, parameters: dict) -> dict[str, str | None]:
    """Return {input: sha256, or None when it is missing} for the inputs
    chapter_inputs.yml lists for this notebook, as they are now.

    A file input is found through the parameter that names it (relative to the
    notebook's folder, as the kernel sees it); a glued input is read from the
    earlier chapter's notebook beside this one.
    """
    hashes = {}
    for use in chapter_inputs().get(path.name, {}).get("uses", []):
        if "file" in use:
            file = Path(str(parameters[use["parameter"]]))
            file = file if file.is_absolute() else path.parent / file
            hashes[input_key(use)] = sha256_of(file) if file.is_file() else None
        else:
            hashes[input_key(use)] = glued_sha256(
                path.parent / use["from"], use["glued"]
            )
    return hashes


def saved_hashes(path: Path, output_folder: Path) -> dict[str, str | None]:
    """Return {file: sha256} of the files that chapter_inputs.yml says it saves."""
    hashes = {}
    for name in chapter_inputs().get(path.name, {}).get("saves", []):
        file = output_folder / name
        hashes[name] = sha256_of(file) if file.is_file() else None
    return hashes


def input_problems(path: Path, record: dict, rerun: str, name: str) -> list[str]:
    """Return why the inputs a notebook's run used no longer match.

    What counts as an input now: for a saved file, what the full run of the
    chapter that saves it recorded (so the check needs no local files); for a
    glued value, what the earlier chapter's committed notebook glues.
    """
    problems = []
    recorded = record.get("inputs_sha256", {})
    for use in chapter_inputs().get(path.name, {}).get("uses", []):
        key = input_key(use)
        source = path.parent / use["from"]
        if key not in recorded:
            problems.append(
                f"{name} has no hash of its input {key} in its record; {rerun}."
            )
            continue
        if recorded[key] is None:
            problems.append(
                f"{name} ran without its input {key} (it made a stand-in); "
                f"run {use['from']} first, then {rerun}."
            )
            continue
        if "file" in use:
            now = None
            if source.is_file():
                producer = nbformat.read(source, as_version=4).metadata.get(
                    RECORD_KEY, {}
                )
                now = producer.get("saved_sha256", {}).get(use["file"])
            what = f"the full run of {use['from']} that saved {use['file']}"
        else:
            now = glued_sha256(source, use["glued"])
            what = f"the value {use['glued']} that {use['from']} glues"
        if now != recorded[key]:
            problems.append(
                f"{name} is stale: its input changed after its run ({what} "
                f"is not the one it used); {rerun}."
            )
    return problems


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


CELL_SEPARATOR = "\n# <cnnbook: next cell>\n"


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


def _sorted_imports(node):
    """Sort each run of consecutive import statements in every body of the tree
    (their order changes nothing Python does; isort reorders them)."""
    for child in ast.walk(node):
        for field_name in ("body", "orelse", "finalbody"):
            body = getattr(child, field_name, None)
            if not isinstance(body, list):
                continue
            result, run = [], []
            for statement in [*body, None]:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    run.append(statement)
                    continue
                result += sorted(run, key=ast.unparse)
                run = []
                if statement is not None:
                    result.append(statement)
            setattr(child, field_name, result)
    return node


def _behaviour(node) -> str:
    """The code of a node as Python would run it.

    It has no comments, no docstrings, one layout and its imports sorted.
    """
    return ast.unparse(_sorted_imports(_without_docstrings(node)))


def _defined_names(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def _import_bindings(node) -> dict[str, str]:
    """Return {local name: what it names} for an import statement.

    ``import numpy as np`` binds ``np`` to ``numpy``; ``from helpers.data import
    DataError`` binds ``DataError`` to ``helpers.data.DataError``.
    """
    bindings = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                bindings[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                bindings[top] = top
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:  # a relative import inside helpers/
            module = "helpers" + (f".{module}" if module else "")
        for alias in node.names:
            bindings[alias.asname or alias.name] = f"{module}.{alias.name}"
    return bindings


def _helper_modules_imported(node) -> set[str]:
    """Return the helpers/ files that the import statements in ``node`` load."""
    files = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Import):  # `import helpers.speed` loads speed.py
            for alias in child.names:
                parts = alias.name.split(".")
                if parts[0] == "helpers" and len(parts) > 1:
                    if (HELPERS / f"{parts[1]}.py").is_file():
                        files.add(f"{parts[1]}.py")
        for target in _import_bindings(child).values():
            parts = target.split(".")
            if parts[0] == "helpers" and len(parts) > 1:
                if (HELPERS / f"{parts[1]}.py").is_file():
                    files.add(f"{parts[1]}.py")
    return files


@dataclass
class HelperIndex:
    """What helpers/ defines, read from its syntax trees.

    Entries are (file, name) for a definition and (file, None) for a module's
    statements that run on import (not imports, definitions or the docstring).
    ``code``: each entry's code as Python runs it. ``bindings``: each file's
    imports, {local name: what it names}. ``loads``: the helpers/ files each
    entry imports when it runs. ``defined_in``: the files that define a name.
    """

    code: dict[tuple, str] = field(default_factory=dict)
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)
    loads: dict[tuple, set[str]] = field(default_factory=dict)
    defined_in: dict[str, list[str]] = field(default_factory=dict)

    def _follow(self, target: str | None) -> list:
        """The entry that an import target such as "helpers.data.load_mnist" names,
        through re-exports (``__init__.py`` imports from the modules); a name
        that ``helpers`` only provides lazily (its ``__getattr__``) stands for
        every definition of that name."""
        for _ in range(5):
            if not target or not target.startswith("helpers."):
                return []  # "helpers" itself is loaded anyway; others are not ours
            parts = target.split(".")
            if len(parts) == 2 and (
                f"{parts[1]}.py" in self.bindings
                and ("__init__.py", parts[1]) not in self.code
            ):
                return [(f"{parts[1]}.py", None)]  # a module: importing runs it
            if len(parts) == 2:
                file, attr = "__init__.py", parts[1]
            else:
                file, attr = f"{parts[1]}.py", parts[2]
            if (file, attr) in self.code:
                return [(file, attr)]
            if attr not in self.bindings.get(file, {}):
                return [(f, attr) for f in self.defined_in.get(attr, [])]
            target = self.bindings[file][attr]
        return []

    def _module_named(self, chain: str, bindings: dict) -> str | None:
        """The helpers/ file that a name chain such as ``helpers.training`` (or a
        name bound to a helpers module) stands for, or None."""
        parts = chain.split(".")
        target = bindings.get(parts[0], parts[0] if parts[0] == "helpers" else None)
        if not target:
            return None
        dotted = ".".join([target, *parts[1:]]).split(".")
        if dotted[0] != "helpers":
            return None
        if len(dotted) == 1:
            return "__init__.py"
        file = f"{dotted[1]}.py"
        return file if len(dotted) == 2 and file in self.bindings else None

    def references(self, source, bindings: dict, module: str | None = None) -> list:
        """Return the entries that code (a notebook's, or a helpers module's)
        refers to: names it imported from helpers, names its own module
        defines, and attributes of helpers modules (``helpers.training.x``).
        Attributes of anything else (``model.evaluate``) are not helpers."""
        tree = source if isinstance(source, ast.AST) else _parse_cell_code(source)
        bindings = dict(bindings)  # and the imports inside the code itself
        for node in ast.walk(tree):
            bindings.update(_import_bindings(node))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if node.id in bindings:
                    found += self._follow(bindings[node.id])
                elif module and (module, node.id) in self.code:
                    found.append((module, node.id))
            elif isinstance(node, ast.Attribute):
                chain = _dotted(node.value)
                file = chain and self._module_named(chain, bindings)
                if file:
                    found += self._follow(
                        f"helpers.{file.removesuffix('.py')}.{node.attr}"
                        if file != "__init__.py"
                        else f"helpers.{node.attr}"
                    )
            elif isinstance(node, ast.ImportFrom):
                for target in _import_bindings(node).values():
                    found += self._follow(target)
        return found


def _dotted(node) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def module_entry(module: str) -> str:
    return f"{module} (module code)"


def helper_index() -> HelperIndex:
    """Read helpers/ into a :class:`HelperIndex`."""
    index = HelperIndex()
    for path in sorted(HELPERS.glob("*.py")):
        tree = ast.parse(path.read_text())
        module = path.name
        index.bindings[module] = {}
        rest = []
        loads = set()
        for position, node in enumerate(tree.body):
            names = [n for n in _defined_names(node) if not n.startswith("__")]
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                index.bindings[module].update(_import_bindings(node))
                loads |= _helper_modules_imported(node)
            elif names:
                for name in names:
                    entry = (module, name)
                    index.code[entry] = index.code.get(entry, "") + _behaviour(node)
                    index.loads[entry] = _helper_modules_imported(node)
                    index.defined_in.setdefault(name, []).append(module)
            elif _defined_names(node) == ["__all__"]:
                continue  # what `import *` exports: the book follows no star import
            elif not (
                position == 0
                and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
            ):
                # __getattr__, set-up code; not the module docstring.
                rest.append(node)
        body = ast.Module(body=rest, type_ignores=[])
        index.code[(module, None)] = _behaviour(body)
        # Importing the module runs its statements and imports its own imports.
        index.loads[(module, None)] = loads | _helper_modules_imported(body)
    return index


class CellSyntaxError(ValueError):
    """A code cell that Python cannot parse, even after IPython's rewriting."""


def _parse_cell_code(source: str) -> ast.Module:
    """Parse notebook code as IPython runs it: magics (``%pip``, ``%%bash``,
    ``x = !ls``, ``sum?``) become the Python calls IPython makes of them."""
    from IPython.core.inputtransformer2 import TransformerManager

    cells = source.split(CELL_SEPARATOR)
    body = []
    for cell in cells:
        try:
            body += ast.parse(TransformerManager().transform_cell(cell)).body
        except SyntaxError as error:
            first = cell.strip().splitlines()[0] if cell.strip() else ""
            raise CellSyntaxError(
                f"a code cell starting `{first[:60]}` is not valid Python "
                f"({error.msg}, line {error.lineno})"
            ) from None
    return ast.Module(body=body, type_ignores=[])


def _names_in(source: str) -> set[str]:
    tree = _parse_cell_code(source)
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
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {n.name for n in ast.walk(_parse_cell_code(source)) if isinstance(n, kinds)}


def _modules_named_in(source: str) -> set[str]:
    """The helpers/ files a notebook imports: ``import helpers`` (any form) loads
    ``__init__.py``; ``from helpers.speed import ...`` or ``helpers.speed.x`` load
    speed.py too."""
    tree = _parse_cell_code(source)
    files = _helper_modules_imported(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "helpers"
            and (HELPERS / f"{node.attr}.py").is_file()
        ):
            files.add(f"{node.attr}.py")
    return files


def helpers_used(nb) -> dict[str, str]:
    """Return {name: sha256} for each helpers definition and module the notebook uses.

    Starts from the names the notebook's code mentions and follows, through
    helpers/, everything those reach: the definitions their code names, the
    modules that hold them (importing a module runs its module code, and
    ``import helpers`` runs ``__init__.py``), and whatever that module code
    names in turn. Each entry's hash covers its code as Python runs it and what
    the imported names it uses stand for (``np`` for ``numpy``), not the order
    or layout of the import lines, so reordering imports or editing comments
    marks nothing stale, while changing any statement that a notebook's run
    executes does. A definition is named by its name, or "name (file)" where
    the notebook reaches two definitions of one name.
    """
    index = helper_index()
    code = CELL_SEPARATOR.join(code_sources(nb))
    tree = _parse_cell_code(code)
    bindings = {}
    for node in ast.walk(tree):
        bindings.update(_import_bindings(node))
    todo = index.references(tree, bindings)
    todo += [(m, None) for m in {"__init__.py"} | _modules_named_in(code)]
    seen: set[tuple] = set()
    while todo:
        entry = todo.pop()
        if entry in seen:
            continue
        seen.add(entry)
        module = entry[0]
        todo.append((module, None))
        todo += [(m, None) for m in index.loads[entry]]
        todo += index.references(index.code[entry], index.bindings[module], module)
    names = [name for _, name in seen if name]
    hashes = {}
    for module, name in seen:
        if name is None:
            key = module_entry(module)
        else:
            key = name if names.count(name) == 1 else f"{name} ({module})"
        bindings = index.bindings[module]
        used = _names_in(index.code[(module, name)]) & set(bindings)
        text = index.code[(module, name)] + "".join(
            f"\n# {used_name} = {bindings[used_name]}" for used_name in sorted(used)
        )
        hashes[key] = hashlib.sha256(text.encode()).hexdigest()
    return dict(sorted(hashes.items()))


def helper_source(name: str) -> str | None:
    """Return the text ``inspect.getsource`` gives for a top-level helpers
    definition (decorators, comments and docstring included), or None."""
    for path in sorted(HELPERS.glob("*.py")):
        text = path.read_text()
        for node in ast.parse(text).body:
            if getattr(node, "name", None) == name:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = text.splitlines(keepends=True)
                return "".join(lines[first - 1 : node.end_lineno])
    return None


SHOWN_SOURCE = re.compile(r"inspect\.getsource\((\w+)\)")


def shown_source_problems(nb, name: str, rerun: str) -> list[str]:
    """Return a problem for each helper whose code a cell shows (with
    ``inspect.getsource``) as it no longer is: the page would show old code."""
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for helper in SHOWN_SOURCE.findall(cell.source):
            shown = [
                "".join(out.get("data", {}).get("text/plain", ""))
                for out in cell.get("outputs", [])
            ]
            now = helper_source(helper)
            if now is not None and now.rstrip() not in [t.rstrip() for t in shown]:
                problems.append(
                    f"{name} is stale: it shows the code of {helper} as it was at its "
                    f"run, and that code (comments and docstring included) has "
                    f"changed since; {rerun}."
                )
    return problems


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
    try:
        used_now = helpers_used(nb)
    except CellSyntaxError as error:
        return problems + [f"{name}: {error}; fix the cell, then {rerun}."]
    used_then = record.get("helpers_sha256", {})
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
    problems += input_problems(path, record, rerun, str(name))
    problems += shown_source_problems(nb, str(name), rerun)
    errors = error_cells(nb)
    if errors:
        problems.append(f"{name} has error outputs in cells {errors}; {rerun}.")
    return problems


def describe_run_time(record: dict, language: str = "en") -> str:
    """'12.8 minutes on 2 CPU cores, no GPU' from a provenance record.

    In Korean (``language="ko"``): '12.8분(CPU 코어 2개, GPU 없음)'. The
    website's run-time role and the JupyterLab reading copies show this.
    """
    hardware = record.get("hardware", {})
    gpu = hardware.get("gpu", "none")
    minutes = record["run_seconds"] / 60
    if language == "ko":
        where = f"CPU 코어 {hardware.get('cores')}개, " + (
            "GPU 없음" if gpu == "none" else f"GPU: {gpu}"
        )
        return f"{minutes:.1f}분({where})"
    where = f"{hardware.get('cores')} CPU cores, " + (
        "no GPU" if gpu == "none" else f"GPU: {gpu}"
    )
    return f"{minutes:.1f} minutes on {where}"
