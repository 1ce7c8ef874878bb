"""Run the book's notebooks in their two profiles.

* ``full``: the notebook's own ``parameters`` cell (the book's settings). The
  executed notebook replaces the committed one, with its provenance record
  (see :mod:`publish.provenance`). A failed or interrupted run leaves the
  committed notebook untouched.
* ``smoke``: the same notebook with the small settings of
  ``chapters/smoke_parameters.yml`` injected by papermill (what the tests run),
  written under ``_output/smoke``.

A full run may change some settings where a machine cannot run the book's own
(``--set NAME=VALUE``, a Python literal); papermill then shows them in an
injected cell on the page, and the record lists them under ``overrides``.
Every setting is checked against every notebook of the run before anything
starts.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import yaml

from helpers.glued import glued_value
from publish.normalise import normalise, without_stderr
from publish.provenance import (
    BOOK,
    RECORD_KEY,
    chapter_inputs,
    chapter_notebooks,
    code_hash,
    helpers_used,
    input_hashes,
    outputs_hash,
    saved_hashes,
)

SMOKE_PARAMETERS_FILE = BOOK / "chapters" / "smoke_parameters.yml"
VERSIONED_PACKAGES = (
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "numpy",
    "scikit-learn",
    "matplotlib",
    "papermill",
    "jupyter-book",
)


class RunError(Exception):
    """A run cannot start or did not finish.

    The message is one sentence for the user.
    """


def smoke_parameters() -> dict[str, dict]:
    """Return each chapter's smoke settings, by notebook file name."""
    return yaml.safe_load(SMOKE_PARAMETERS_FILE.read_text()) or {}


def resolve_notebooks(which: str) -> list[Path]:
    """Turn a command-line argument ('all' or a path) into notebook paths."""
    if which == "all":
        # chapter_inputs.yml's order: each chapter after the chapters it uses
        order = list(chapter_inputs())
        return sorted(chapter_notebooks(), key=lambda p: order.index(p.name))
    path = Path(which)
    path = path if path.is_absolute() else Path.cwd() / path
    if not path.is_file() or path.suffix != ".ipynb":
        raise RunError(
            f"No notebook at {which}: "
            "give a path such as chapters/NAME.ipynb, or 'all'."
        )
    return [path.resolve()]


def parameters_cell(nb, name: str = "The notebook"):
    """Return the notebook's cell tagged ``parameters``."""
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    raise RunError(
        f"{name} has no cell tagged `parameters`: tag the cell that holds its settings."
    )


def _unpack(target, value, into: dict) -> None:
    if isinstance(target, ast.Name):
        into[target.id] = value
    else:
        values = list(value)
        if len(values) != len(target.elts):
            raise ValueError(ast.unparse(target))
        for element, item in zip(target.elts, values, strict=True):
            _unpack(element, item, into)


def parameters_in_cell(source: str, where: str = "the parameters cell") -> dict:
    """Return the values that a ``parameters`` cell assigns, read from its code.

    Every assignment counts, tuple assignments (``A, B = 0.7, 0.8``) and
    expressions (``(0.96,) * 3``) included: each value is computed from
    literals and the names assigned before it, with no builtins and no imports.
    """
    values: dict = {}
    try:
        body = ast.parse(source).body
    except SyntaxError as error:
        raise RunError(
            f"{where}: line {error.lineno} is not Python ({error.msg}); a parameters "
            "cell holds only NAME = VALUE lines."
        ) from None
    for node in body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            raise RunError(
                f"{where}: `{ast.unparse(node)}` is not an assignment; a parameters "
                "cell holds only NAME = VALUE lines."
            )
        try:
            # Not a sandbox: the same cell runs in the kernel anyway. It only keeps
            # the reading of parameters free of imports and builtins.
            result = eval(  # noqa: S307
                compile(ast.Expression(value), where, "eval"),
                {"__builtins__": {}},
                dict(values),
            )
            json.dumps(_lists_for_tuples(result), allow_nan=False)  # for the record
            for target in targets:
                _unpack(target, result, values)
        except Exception:
            raise RunError(
                f"{where}: `{ast.unparse(node)}` is not a value the record can store "
                "(numbers, strings, None, True/False, and lists, tuples and dicts of "
                "them, computed from literals and earlier parameters); write it out."
            ) from None
    return values


def default_parameters(path: Path) -> dict:
    """Return the values in the notebook's ``parameters`` cell."""
    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb, path.name)
    return parameters_in_cell(cell.source, f"the parameters cell of {path.name}")


def _lists_for_tuples(value):
    """Tuples become lists: papermill would inject a tuple as the string "(0, 100)"."""
    if isinstance(value, (tuple, list)):
        return [_lists_for_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists_for_tuples(v) for k, v in value.items()}
    return value


def parse_overrides(settings: list[str], path: Path) -> dict:
    """Turn ``NAME=VALUE`` strings into parameters.

    Each is checked against the notebook's parameters.
    """
    known = default_parameters(path)
    overrides = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise RunError(
                f"--set {setting!r}: give NAME=VALUE with NAME one of the "
                f"parameters of {path.name} ({', '.join(known)})."
            )
        try:
            overrides[name] = _lists_for_tuples(ast.literal_eval(value.strip()))
        except (ValueError, SyntaxError):
            raise RunError(
                f"--set {setting!r}: the value must be a Python literal, "
                'e.g. None, 5 or "imagenet".'
            ) from None
    return overrides


def hardware() -> dict:
    """Describe the machine: CPU model, core count, memory and any NVIDIA GPU."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "system": platform.system()}
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    gpus = ""
    if shutil.which("nvidia-smi"):
        result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpus = result.stdout.strip()
    info["gpu"] = gpus or "none"
    return info


def versions() -> dict:
    """Return the Python version and the versions of the book's key packages."""
    found = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=BOOK,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or "unknown"


def output_folder(path: Path, parameters: dict) -> Path:
    """Return the folder a run of the notebook writes into.

    That is its OUTPUT_DIR, taken from chapters/.
    """
    folder = parameters.get("OUTPUT_DIR") or default_parameters(path).get("OUTPUT_DIR")
    if not folder:  # a chapter that saves nothing still gets its own folder
        return (BOOK / "_output" / path.stem).resolve()
    folder = Path(folder)
    return (folder if folder.is_absolute() else path.parent / folder).resolve()


def executed_copy(path: Path, folder: Path) -> Path:
    """Where a full run writes the executed notebook before it replaces the
    committed one: in the run's own output folder, which the lock keeps to one
    run at a time, so runs with different OUTPUT_DIRs never share it."""
    return folder / "full-run" / path.name


@contextmanager
def lock(folder: Path):
    """Hold ``folder/.run-lock`` while a run writes there.

    Refuse when a live run holds it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock_file = folder / ".run-lock"
    try:
        owner = int(lock_file.read_text().strip() or 0)
    except (OSError, ValueError):
        owner = 0
    if owner and owner != os.getpid():
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            pass  # a run that died without cleaning up: take over
        except PermissionError:
            raise RunError(
                f"Another run (process {owner}) is writing into {folder}: wait for it "
                f"to finish, or give this one another OUTPUT_DIR."
            ) from None
        else:
            raise RunError(
                f"Another run (process {owner}) is writing into {folder}: wait for it "
                f"to finish, or give this one another OUTPUT_DIR."
            )
    lock_file.write_text(str(os.getpid()))
    try:
        yield
    finally:
        lock_file.unlink(missing_ok=True)


@contextmanager
def interrupts_as_keyboard_interrupt():
    """Treat SIGTERM like Ctrl-C.

    Either then ends a run through the same clean-up.
    """

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(source: Path, target: Path, parameters: dict | None, cwd: Path) -> float:
    """Execute ``source`` with papermill into ``target``; return the seconds it took.

    The kernel imports ``helpers`` from this checkout (its folder comes first on
    PYTHONPATH), so the helpers a record hashes are the ones the run used.
    """
    import papermill

    started = time.perf_counter()
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(BOOK)] + ([before] if before else [])
    )
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters or None,
            cwd=str(cwd),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
    return time.perf_counter() - started


def last_line(error: Exception) -> str:
    """The last line of an error's message (papermill puts the cell's error there)."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def with_text_edited_during_run(
    nb: nbformat.NotebookNode, source_then, path: Path, executed: Path
) -> nbformat.NotebookNode:
    """Return the executed notebook with the Markdown edited while it ran.

    A full run replaces the notebook at its end. If someone edited only its
    text meanwhile, the edits are kept; if the code or the cells changed, the
    notebook is left as edited and the run's result stays in ``executed``.
    """
    current = nbformat.read(path, as_version=4)
    if current.cells == source_then.cells:
        return nb
    injected = "injected-parameters"
    ran = [c for c in nb.cells if injected not in c.metadata.get("tags", [])]
    same_shape = len(current.cells) == len(source_then.cells) == len(ran) and all(
        now.cell_type == then.cell_type
        and (now.cell_type == "markdown" or now.source == then.source)
        for now, then in zip(current.cells, source_then.cells, strict=True)
    )
    if not same_shape:
        raise RunError(
            f"{path.name} changed while it ran (code or cells, not only text), so "
            f"it was left as you edited it; the run's notebook is {executed}: "
            "run it again."
        )
    for cell, now in zip(ran, current.cells, strict=True):
        if now.cell_type == "markdown":
            cell.source = now.source
            if "attachments" in now:
                cell.attachments = now.attachments
    print(f"kept the text edited in {path.name} while it ran", flush=True)
    return nb


def run_full(path: Path, overrides: dict | None = None) -> None:
    """Re-run one notebook with its own settings (bar ``overrides``) and record how."""
    source_then = nbformat.read(path, as_version=4)
    helpers_then = helpers_used(source_then)  # the code the run will use
    commit_then = git_commit()
    started = dt.datetime.now(dt.timezone.utc)
    parameters = _lists_for_tuples({**default_parameters(path), **(overrides or {})})
    inputs_then = input_hashes(path, parameters)  # what it is about to read
    folder = output_folder(path, parameters)
    executed = executed_copy(path, folder)
    print(
        f"full run of {path.name} started {started:%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    with lock(folder):
        executed.parent.mkdir(parents=True, exist_ok=True)
        try:
            seconds = execute(path, executed, overrides, path.parent)
        except KeyboardInterrupt:
            raise RunError(
                f"The full run of {path.name} was interrupted; the committed "
                f"notebook is unchanged."
            ) from None
        except Exception as error:
            raise RunError(
                f"The full run of {path.name} failed; the committed notebook is "
                f"unchanged and the failed run is in {executed}: {last_line(error)}"
            ) from None
        saved = saved_hashes(path, folder)
        nb = nbformat.read(executed, as_version=4)  # before another run may start
    nb = with_text_edited_during_run(nb, source_then, path, executed)
    for text in without_stderr(nb):  # to the terminal, not onto the page
        print(f"stderr of {path.name}: {text.strip()}", flush=True)
    nb = normalise(nb)
    nb.metadata[RECORD_KEY] = {
        "profile": "full",
        "parameters": parameters,
        "overrides": overrides or {},
        "code_sha256": code_hash(nb),
        "helpers_sha256": helpers_then,
        "inputs_sha256": inputs_then,
        "saved_sha256": saved,
        "outputs_sha256": outputs_hash(nb),
        "pretrained_weights": glued_value(nb, "pretrained_weights") or "none",
        "versions": versions(),
        "hardware": hardware(),
        "started_utc": started.isoformat(timespec="seconds"),
        "run_seconds": round(seconds, 1),
        "git_commit": commit_then,
    }
    partial = path.with_suffix(".ipynb.partial")
    nbformat.write(nb, partial)
    # All at once: an interrupt now leaves the old notebook or the new one.
    partial.replace(path)
    print(
        f"full run of {path.name} took {seconds / 60:.1f} min; "
        "outputs and record saved",
        flush=True,
    )


def run_smoke(path: Path) -> Path:
    """Run one notebook with its smoke parameters under _output/smoke.

    Return the result.
    """
    folder = BOOK / "_output" / "smoke"
    folder.mkdir(parents=True, exist_ok=True)
    parameters = {
        **smoke_parameters().get(path.name, {}),
        "OUTPUT_DIR": str(folder / path.stem),
    }
    with lock(Path(parameters["OUTPUT_DIR"])):
        try:
            seconds = execute(path, folder / path.name, parameters, path.parent)
        except KeyboardInterrupt:
            raise RunError(f"The smoke run of {path.name} was interrupted.") from None
        except Exception as error:
            raise RunError(
                f"The smoke run of {path.name} failed "
                f"(see {folder / path.name}): {last_line(error)}"
            ) from None
    print(f"smoke run of {path.name} took {seconds:.0f} s", flush=True)
    return folder / path.name


def plan_full_runs(which: str, settings: list[str]) -> list[tuple[Path, dict]]:
    """Return (notebook, overrides) for every notebook of a full run.

    Refuse the run as a whole rather than in part. Every ``--set`` must be a
    parameter of every notebook in the run: a run of several notebooks stops
    before the first starts, not halfway.
    """
    return [
        (path, parse_overrides(settings, path)) for path in resolve_notebooks(which)
    ]


def split_settings(values: list[str]) -> list[str]:
    """Return the NAME=VALUE settings of ``--set`` arguments.

    One argument may hold several, separated by spaces with shell quoting (as
    ``make full SET='A=1 B="x y"'`` passes them).
    """
    import shlex

    settings = []
    for value in values:
        try:
            settings += shlex.split(value)
        except ValueError as error:
            raise RunError(f"--set {value!r}: {error} (check the quotes).") from None
    return settings
