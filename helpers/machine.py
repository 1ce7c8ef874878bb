"""Where a notebook runs: a short description for the 'time to run' lines."""

from __future__ import annotations

import os


def describe_machine() -> str:
    """Return e.g. '2 CPU cores, no GPU' or '16 CPU cores and 1 GPU (NVIDIA H100)'.

    Used by every chapter to say what its published run took.
    """
    import tensorflow as tf

    cpu = f"{os.cpu_count()} CPU cores"
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"{cpu}, no GPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    return f"{cpu} and {len(gpus)} GPU" + (f" ({name})" if name else "")
