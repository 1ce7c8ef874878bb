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


def cpu_flags() -> set[str]:
    """Return the CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def use_fastest_precision() -> str:
    """Set the Keras dtype policy that pays on this machine; return what it set and why.

    mixed_float16 on an NVIDIA GPU with tensor cores (compute capability 7.0 or
    more); mixed_bfloat16 on a CPU with bfloat16 instructions (AMX, or AVX-512
    BF16), where `make bench` measured chapter 5's training and VGG16's feature
    extraction about twice as fast as in float32 on 2 cores; float32 everywhere
    else. Under a mixed policy, give the model's last layer ``dtype="float32"`` so
    that its outputs and the loss stay in float32.
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    capability = (
        tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        if gpus
        else None
    )
    flags = set() if gpus else cpu_flags()
    if capability and capability >= (7, 0):
        policy, why = (
            "mixed_float16",
            "the GPU has tensor cores "
            f"(compute capability {capability[0]}.{capability[1]})",
        )
    elif {"amx_bf16", "amx_tile"} <= flags:
        policy, why = (
            "mixed_bfloat16",
            "the CPU has AMX units for bfloat16 matrix products",
        )
    elif "avx512_bf16" in flags:
        policy, why = (
            "mixed_bfloat16",
            "the CPU has AVX-512 BF16 instructions for bfloat16 dot products",
        )
    else:
        policy = "float32"
        why = (
            "the GPU has no tensor cores"
            if gpus
            else "the CPU has no bfloat16 instructions (AMX or AVX-512 BF16)"
        )
    keras.mixed_precision.set_global_policy(policy)
    return f"dtype policy {policy}: {why}"


def use_precision(precision: str = "fastest") -> str:
    """Set the dtype policy a chapter's PRECISION parameter names.

    Return what was set and why.

    "fastest" leaves the choice to `use_fastest_precision`; a Keras policy name
    ("float32", "mixed_bfloat16", "mixed_float16") is set as given, e.g. to
    compare a run's accuracy with and without mixed precision (chapters 2, 5, 6, 8).
    """
    import keras

    if precision == "fastest":
        return use_fastest_precision()
    try:
        keras.mixed_precision.set_global_policy(precision)
    except ValueError:
        raise ValueError(
            f"PRECISION={precision!r} is not a dtype policy: use 'fastest', 'float32', "
            "'mixed_bfloat16' or 'mixed_float16'"
        ) from None
    return f"dtype policy {precision}: set by the PRECISION parameter"
