"""Images per second on this machine, the reference code's way next to the book's.

Run by `make bench`. Measures chapter 2's convnet training, chapter 5's epoch
(training and validation) from the JPEG folders and chapter 7's VGG16 feature
extraction, each the plain way, with each of the book's levers, and the way the
book runs it (`helpers/speed.py` says exactly how). Prints the table with the
ratio to the plain way and saves it as JSON under _output/bench/. The speed page
(`chapters/appendix_speed_on_a_cpu.ipynb`) shows the same table from its
committed run.

    python -m publish bench            # or: make bench
"""

from __future__ import annotations

import json
import os

from publish.provenance import BOOK

OUTPUT = BOOK / "_output" / "bench"
DOGS_SPLITS = {
    "train": (0, 160),
    "validation": (1000, 1080),
    "test": (1500, 1516),
}  # 320 + 160 JPEGs, as 2,000 + 1,000
REPEATS = 5  # timed calls per way, taken in turns; a way's speed is their mean


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from helpers import (
        describe_machine,
        find_dogs_vs_cats_images,
        make_dogs_vs_cats_subset,
    )
    from helpers.speed import compare_speeds

    OUTPUT.mkdir(parents=True, exist_ok=True)
    subset = OUTPUT / "cats_vs_dogs_bench"
    make_dogs_vs_cats_subset(find_dogs_vs_cats_images(), subset, DOGS_SPLITS)
    print(
        f"{describe_machine()}; each way: one untimed call, "
        f"then the mean of {REPEATS} calls taken in turns",
        flush=True,
    )
    rows = compare_speeds(
        subset, repeats=REPEATS, progress=lambda line: print(line, flush=True)
    )
    print("\nthe book's way against the plain way:")
    for row in rows:
        if row["book"]:
            print(f"  {row['workload']:<37} {row['ratio_to_plain']:.2f}x")
    report = {
        "machine": describe_machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "results": rows,
    }
    (OUTPUT / "bench.json").write_text(json.dumps(report, indent=2))
    print(f"saved {OUTPUT / 'bench.json'}")
    return 0
