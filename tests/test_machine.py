"""helpers.machine: what a run ran on, and the dtype policy that pays there."""

import keras
import pytest

from helpers import machine


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_cpu_with_amx_gets_bfloat16(monkeypatch, float32_afterwards):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx512f", "amx_tile", "amx_bf16"})
    message = machine.use_fastest_precision()
    if "GPU" in message:
        pytest.skip("this machine has a GPU: the CPU rule does not apply")
    assert message.startswith("dtype policy mixed_bfloat16") and "AMX" in message
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"


def test_cpu_with_only_avx512_bf16_stays_float32(monkeypatch, float32_afterwards):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    message = machine.use_fastest_precision()
    if "GPU" in message:
        pytest.skip("this machine has a GPU: the CPU rule does not apply")
    assert message.startswith("dtype policy float32") and "no AMX" in message
    assert keras.mixed_precision.global_policy().name == "float32"


def test_describe_machine_counts_cores():
    assert "CPU cores" in machine.describe_machine()
