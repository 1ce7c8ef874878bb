"""Training logs: a compact epoch log, and a history read back from a committed chapter.

Chapter 5 prints its two fits with ``CompactLog`` and glues the augmented
run's history; chapter 6 (a modern convnet) prints its runs the same way and
reads that history back with ``read_fit_history`` to draw both models on one
figure.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import keras
import nbformat

from helpers.glued import glued_value

_LOG_VALUE = re.compile(r"(\w+): (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


class CompactLog(keras.callbacks.Callback):
    """Print one short line for the first, every ``every``-th and the last epoch.

    At the end it prints the epoch of the lowest validation loss, the one a
    ``ModelCheckpoint(monitor="val_loss", save_best_only=True)`` keeps. Use it
    with ``fit(..., verbose=0)``: a long run then prints a dozen lines instead
    of one per epoch, and a reader still sees it progress.
    """

    def __init__(self, every: int = 10):
        super().__init__()
        self.every = every

    def on_train_begin(self, logs=None):
        self.epochs = self.params["epochs"]
        self.best = (float("inf"), 0, {})
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        number = epoch + 1
        if logs.get("val_loss", float("inf")) < self.best[0]:
            self.best = (logs["val_loss"], number, dict(logs))
        if number == 1 or number % self.every == 0 or number == self.epochs:
            seconds = time.perf_counter() - self.started
            print(
                f"epoch {number:>3}/{self.epochs}  {self.values(logs)}"
                f"  {seconds:5.0f} s"
            )

    def on_train_end(self, logs=None):
        _, number, best = self.best
        if number:
            print(f"lowest val_loss at epoch {number}: {self.values(best)}")

    @staticmethod
    def values(logs) -> str:
        short = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss",
                 "val_accuracy": "val_acc"}  # fmt: skip
        return "  ".join(
            f"{name} {logs[key]:.4f}" for key, name in short.items() if key in logs
        )


def read_fit_history(notebook: str | Path, history_name: str) -> dict | None:
    """Return the per-epoch history of a fit in a committed notebook, or None.

    The history is the value glued under ``history_name`` if the notebook
    glued one; otherwise it is read from the Keras log (``verbose=2``) printed
    by the code cell that assigns ``history_name``. None means the notebook is
    not there (e.g. a chapter opened alone in Colab).
    """
    path = Path(notebook)
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    glued = glued_value(nb, history_name)
    if glued is not None:
        return glued
    assignment = re.compile(rf"^{re.escape(history_name)}\s*=", re.MULTILINE)
    for cell in nb.cells:
        if cell.cell_type == "code" and assignment.search(cell.source):
            text = "".join(
                o.get("text", "") for o in cell.get("outputs", []) if "text" in o
            )
            history: dict[str, list[float]] = {}
            for line in text.splitlines():
                if "/step" in line:
                    for key, value in _LOG_VALUE.findall(line):
                        history.setdefault(key, []).append(float(value))
            if history:
                return history
    raise ValueError(
        f"{path.name} has no glued value and no Keras log for {history_name!r}: "
        "re-run that chapter, or check the name."
    )
