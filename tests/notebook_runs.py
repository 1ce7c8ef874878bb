"""Run the book's notebooks in the two profiles and keep their provenance.

* ``full``: the notebook's own ``parameters`` cell (the book's settings). The
  executed notebook replaces the committed one, with a provenance record in
  its metadata under ``cnnbook``: profile, parameters, the hash of its code
  cells and of the helper functions it uses, library versions, hardware, date
  and run time. A failed run leaves the committed notebook untouched.
* ``smoke``: the same notebook with ``SMOKE_PARAMETERS`` injected by
  papermill (what the tests run), written under ``_output/smoke``.

``check`` reports every notebook whose committed outputs no longer match its
code. A full run may change some settings where a machine cannot run the
book's own (``--set NAME=VALUE``, a Python literal); papermill then shows them
in an injected cell on the page, and the record lists them under
``overrides``. Usage::

    python tests/notebook_runs.py full chapters/01_fashion_mnist_dense_to_convnet.ipynb
    python tests/notebook_runs.py full chapters/05_transfer_learning.ipynb --set BASE='"mobilenet"'
    python tests/notebook_runs.py smoke all
    python tests/notebook_runs.py check
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

BOOK = Path(__file__).resolve().parents[1]
CHAPTERS = BOOK / "chapters"
HELPERS = BOOK / "helpers"
RECORD_KEY = "cnnbook"

# Small settings that run every code path of a chapter in about a minute on
# 2 CPU cores. OUTPUT_DIR is added by whoever runs the smoke profile.
SMOKE_PARAMETERS: dict[str, dict] = {
    "01_fashion_mnist_dense_to_convnet.ipynb": {
        "TRAIN_SIZE": 3000,
        "DENSE_EPOCHS": 1,
        "EPOCHS": 3,
        "EXPECTED_MIN_TEST_ACCURACY": 0.70,
    },
    "02_what_the_convnet_learned.ipynb": {
        "CHECKPOINT": "no-such-checkpoint.keras",  # exercise the train-it-here path
        "EPOCHS": 2,
        "TRAIN_SIZE": 3000,
        "EXPECTED_MIN_TEST_ACCURACY": 0.70,
    },
    "03_convolution_and_pooling_mnist.ipynb": {
        "EPOCHS": 1,
        "TRAIN_SIZE": 2000,
        "SPREAD_SEEDS": [43],
        "EXPECTED_MIN_TEST_ACCURACY": 0.70,
    },
    "04_dogs_vs_cats_from_scratch.ipynb": {
        # 200 / 100 / 200 images: far too few to beat chance from scratch in
        # one epoch, so accuracy is not checked here (the full run checks it).
        "SPLITS": {"train": [0, 100], "validation": [1000, 1050], "test": [1500, 1600]},
        "EPOCHS": 1,
        "AUGMENTED_EPOCHS": 1,
        "EXPECTED_MIN_TEST_ACCURACY": None,
        "EXPECTED_MIN_AUGMENTED_TEST_ACCURACY": None,
    },
    "05_transfer_learning.ipynb": {
        # BASE = "auto" finds no VGG16 file on the test machines and takes MobileNet's
        # genuine ImageNet weights: even 200 training images must then beat chance
        # clearly with stored features. One epoch of (b) and (c) only runs their code.
        "SPLITS": {"train": [0, 100], "validation": [1000, 1050], "test": [1500, 1600]},
        "FEATURE_EPOCHS": 60,
        "FROZEN_EPOCHS": 1,
        "FINE_TUNE_EPOCHS": 1,
        "SPEED_IMAGES": 4,
        "EXPECTED_MIN_TEST_ACCURACY": {"vgg16": [None, None, None], "mobilenet": [0.85, None, None]},
    },
    "06_where_the_convnet_looks.ipynb": {
        # No saved models on the test machines: a MobileNet head (ImageNet features of
        # 100 images) and one epoch of chapter 4's convnet are trained here.
        "TRANSFER_CHECKPOINT": "no-such-checkpoint.keras",
        "SCRATCH_CHECKPOINT": "no-such-checkpoint.keras",
        "SPLITS": {"train": [0, 50], "validation": [1000, 1010], "test": [1500, 1520]},
        "HEAD_EPOCHS": 30,  # on stored features: a fraction of a second each
        "SCRATCH_EPOCHS": 1,
        "SANITY_IMAGES": 4,
        "OCCLUSION_PATCH": 56,
        "FILTER_STEPS": 3,
        "EXPECTED_MIN_TEST_ACCURACY": 0.75,
    },
    "appendix_speed_on_a_cpu.ipynb": {
        # Every workload and way, on a few batches; one epoch of chapter 1 each
        # way and one seed on 3,000 images is too noisy to compare accuracy (the full run does).
        "FASHION_IMAGES": 320,
        "DOGS_SPLITS": {"train": [0, 32], "validation": [1000, 1004], "test": [1500, 1504]},
        "VGG16_IMAGES": 32,
        "REPEATS": 1,
        "ACCURACY_EPOCHS": 1,
        "TRAIN_SIZE": 3000,
        "SEEDS": [42],
        "MAX_ACCURACY_DROP": None,
    },
}

VERSIONED_PACKAGES = (
    "tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn",
    "matplotlib", "papermill", "jupyter-book",
)


def chapter_notebooks() -> list[Path]:
    """Return the notebooks listed in _toc.yml, in book order."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
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

    walk(toc)
    return [BOOK / f"{f}.ipynb" for f in files if (BOOK / f"{f}.ipynb").exists()]


def resolve_notebooks(which: str) -> list[Path]:
    """Turn a command-line argument ('all' or a path) into notebook paths."""
    if which == "all":
        return chapter_notebooks()
    path = Path(which)
    path = path if path.is_absolute() else Path.cwd() / path
    if not path.is_file():
        raise SystemExit(f"No notebook at {which}: give a path such as chapters/NAME.ipynb, or 'all'.")
    return [path.resolve()]


def _is_injected(cell) -> bool:
    return "injected-parameters" in cell.get("metadata", {}).get("tags", [])


# Every chapter's first code cell, word for word (tests/test_launch.py checks
# it): in Colab or Binder it installs `helpers` from the book's repository,
# elsewhere it does nothing. Being the same boilerplate in every chapter, it is
# left out of the code hash, so changing its URL does not invalidate the runs.
LAUNCH_CELL_TEMPLATE = """\
# In Colab or Binder, install the book's helpers first (where they are installed, this does nothing).
try:
    import helpers
except ModuleNotFoundError:
    %pip install --quiet "cnnbook-helpers @ git+{repository}"
    import helpers"""


def repository_url() -> str:
    """Return the book's repository URL, set once in _config.yml."""
    config = Path(__file__).resolve().parents[1] / "_config.yml"
    return yaml.safe_load(config.read_text())["repository"]["url"]


def launch_cell_source() -> str:
    return LAUNCH_CELL_TEMPLATE.format(repository=repository_url())


def code_sources(nb) -> list[str]:
    """Return the normalised source of each code cell the author wrote."""
    sources = []
    launch_cell = launch_cell_source()
    for cell in nb.cells:
        if cell.cell_type == "code" and not _is_injected(cell) and cell.source != launch_cell:
            lines = [line.rstrip() for line in cell.source.strip().splitlines()]
            sources.append("\n".join(lines))
    return sources


def code_hash(nb) -> str:
    """Return the sha256 of the notebook's code cells (injected parameters excluded)."""
    return hashlib.sha256("\n\0\n".join(code_sources(nb)).encode()).hexdigest()


def helper_definitions() -> dict[str, str]:
    """Return the source of every top-level definition in helpers/, by name."""
    definitions: dict[str, str] = {}
    for path in sorted(HELPERS.glob("*.py")):
        text = path.read_text()
        for node in ast.parse(text).body:
            names: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if not name.startswith("__"):
                    definitions[name] = ast.get_source_segment(text, node) or ""
    return definitions


def _names_in(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics in a cell
        tree = ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {a.name.split(".")[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    return names


def _defined_in(source: str) -> set[str]:
    """Return the names a notebook defines itself with ``def`` or ``class``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics in a cell
        tree = ast.parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def helpers_used(nb) -> dict[str, str]:
    """Return {name: sha256} for each helpers definition the notebook depends on.

    Starts from the names the notebook's code mentions and follows the
    definitions those mention, so a change anywhere along the way counts.
    """
    definitions = helper_definitions()
    code = "\n".join(code_sources(nb))
    own = _defined_in(code)  # a notebook's own function that shares a helper's name is not that helper
    todo = [n for n in _names_in(code) if n in definitions and n not in own]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in _names_in(definitions[name]) if n in definitions and n not in seen)
    return {n: hashlib.sha256(definitions[n].encode()).hexdigest() for n in sorted(seen)}


def default_parameters(path: Path) -> dict:
    """Return the values in the notebook's ``parameters`` cell."""
    import papermill

    values = {}
    for name, spec in papermill.inspect_notebook(str(path)).items():
        try:
            values[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):
            values[name] = spec["default"]
    return values


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
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BOOK, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def execute(source: Path, target: Path, parameters: dict | None, cwd: Path) -> float:
    """Execute ``source`` with papermill into ``target``; return the seconds it took."""
    import papermill

    started = time.perf_counter()
    papermill.execute_notebook(
        str(source), str(target), parameters=parameters or None, cwd=str(cwd),
        kernel_name="python3", progress_bar=False, log_output=False,
    )
    return time.perf_counter() - started


def _lists_for_tuples(value):
    """Tuples become lists: papermill would inject a tuple as the string "(0, 100)"."""
    if isinstance(value, (tuple, list)):
        return [_lists_for_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists_for_tuples(v) for k, v in value.items()}
    return value


def parse_overrides(settings: list[str], path: Path) -> dict:
    """Turn ``NAME=VALUE`` strings into parameters, checking each against the notebook's."""
    known = default_parameters(path)
    overrides = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise SystemExit(
                f"--set {setting!r}: give NAME=VALUE with NAME one of the parameters of "
                f"{path.name} ({', '.join(known)})."
            )
        try:
            overrides[name] = _lists_for_tuples(ast.literal_eval(value.strip()))
        except (ValueError, SyntaxError):
            raise SystemExit(f"--set {setting!r}: the value must be a Python literal, e.g. None, 5 or \"imagenet\".")
    return overrides


def glued_value(nb, name: str):
    """Return the value a notebook glued under ``name`` (a Python literal's value), or None."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name") == name:
                text = output.get("data", {}).get(f"{scrap.get('mime_prefix', '')}text/plain", "")
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return text
    return None


def without_run_metadata(nb):
    """Drop papermill's and Jupyter's per-run metadata (timings, this machine's paths) from a notebook."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def run_full(path: Path, overrides: dict | None = None) -> None:
    """Re-run one notebook with its own settings (bar ``overrides``) and commit-ready outputs."""
    scratch = BOOK / "_output" / "full-runs"
    scratch.mkdir(parents=True, exist_ok=True)
    executed = scratch / path.name
    helpers_then = helpers_used(nbformat.read(path, as_version=4))  # the code the run will use
    commit_then = git_commit()
    started = dt.datetime.now(dt.timezone.utc)
    print(f"full run of {path.relative_to(BOOK)} started {started:%Y-%m-%d %H:%M} UTC", flush=True)
    try:
        seconds = execute(path, executed, overrides, path.parent)
    except Exception as error:
        raise SystemExit(
            f"The full run of {path.name} failed; the committed notebook is unchanged and the "
            f"failed run is in {executed.relative_to(BOOK)}: {str(error).strip().splitlines()[-1]}"
        )
    nb = without_run_metadata(nbformat.read(executed, as_version=4))
    nb.metadata[RECORD_KEY] = {
        "profile": "full",
        "parameters": {**default_parameters(path), **(overrides or {})},
        "overrides": overrides or {},
        "code_sha256": code_hash(nb),
        "helpers_sha256": helpers_then,
        "versions": versions(),
        "hardware": hardware(),
        "started_utc": started.isoformat(timespec="seconds"),
        "run_seconds": round(seconds, 1),
        "git_commit": commit_then,
        "pretrained_weights": glued_value(nb, "pretrained_weights") or "none",
    }
    nbformat.write(nb, path)
    print(f"full run of {path.name} took {seconds / 60:.1f} min; outputs and record saved", flush=True)


def run_smoke(path: Path) -> Path:
    """Run one notebook with its smoke parameters under _output/smoke; return the result."""
    folder = BOOK / "_output" / "smoke"
    folder.mkdir(parents=True, exist_ok=True)
    parameters = {**SMOKE_PARAMETERS.get(path.name, {}), "OUTPUT_DIR": str(folder / path.stem)}
    seconds = execute(path, folder / path.name, parameters, path.parent)
    print(f"smoke run of {path.name} took {seconds:.0f} s", flush=True)
    return folder / path.name


def provenance_problems(path: Path) -> list[str]:
    """Return why the notebook's committed outputs do not match its code (empty if they do)."""
    name = path.relative_to(BOOK) if path.is_relative_to(BOOK) else path
    rerun = f"re-run it with `make full NB={name}`"
    nb = nbformat.read(path, as_version=4)
    record = nb.metadata.get(RECORD_KEY)
    if not record:
        return [f"{name} has no provenance record (no full run made its outputs); {rerun}."]
    problems = []
    if record.get("profile") != "full":
        problems.append(f"{name} holds outputs of a {record.get('profile')!r} run, not a full run; {rerun}.")
    if record.get("code_sha256") != code_hash(nb):
        problems.append(
            f"{name} is stale: its code cells changed after the full run of "
            f"{record.get('started_utc')} that made its outputs; {rerun}."
        )
    used_now = helpers_used(nb)
    used_then = record.get("helpers_sha256", {})
    changed = sorted(n for n in set(used_now) | set(used_then) if used_now.get(n) != used_then.get(n))
    if changed:
        problems.append(
            f"{name} is stale: the helpers it uses changed after its full run "
            f"({', '.join(changed)}); {rerun}."
        )
    errors = [
        i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    if errors:
        problems.append(f"{name} has error outputs in cells {errors}; {rerun}.")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in {"full", "smoke", "check"}:
        print(__doc__)
        return 2
    if argv[0] == "check":
        problems = [p for nb in chapter_notebooks() for p in provenance_problems(nb)]
        print("\n".join(problems) or "every notebook's outputs match its code")
        return 1 if problems else 0
    arguments = argv[1:]
    settings = [arguments[i + 1] for i, a in enumerate(arguments[:-1]) if a == "--set"]
    positional = [a for i, a in enumerate(arguments) if a != "--set" and (i == 0 or arguments[i - 1] != "--set")]
    if "--set" in arguments and argv[0] != "full":
        raise SystemExit("--set is for full runs only (smoke runs use SMOKE_PARAMETERS).")
    for path in resolve_notebooks(positional[0] if positional else "all"):
        if argv[0] == "full":
            run_full(path, parse_overrides(settings, path))
        else:
            run_smoke(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
