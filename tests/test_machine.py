"""helpers.machine: what a run ran on, and the dtype policy that pays there."""

import keras
import pytest

from helpers import machine


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "flags, policy, reason",
    [
        ({"avx512f", "amx_tile", "amx_bf16"}, "mixed_bfloat16", "AMX"),
        ({"avx512f", "avx512_bf16"}, "mixed_bfloat16", "AVX-512 BF16"),
        ({"avx2", "avx512f"}, "float32", "no bfloat16"),
    ],
)
def test_cpu_rule(monkeypatch, float32_afterwards, flags, policy, reason):
    monkeypatch.setattr(machine, "cpu_flags", lambda: flags)
    message = machine.use_fastest_precision()
    if "GPU" in message:
        pytest.skip("this machine has a GPU: the CPU rule does not apply")
    assert message.startswith(f"dtype policy {policy}:") and reason in message
    assert keras.mixed_precision.global_policy().name == policy


def test_use_precision_sets_a_named_policy_and_refuses_a_typo(float32_afterwards):
    assert (
        machine.use_precision("mixed_bfloat16")
        == "dtype policy mixed_bfloat16: set by the PRECISION parameter"
    )
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="is not a dtype policy"):
        machine.use_precision("bfloat")


def test_describe_machine_counts_cores():
    assert "CPU cores" in machine.describe_machine()
