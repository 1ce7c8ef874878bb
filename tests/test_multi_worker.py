"""The appendix's worker script and launcher (helpers/multi_worker.py).

Two workers on localhost with tiny data: identical weights at the end; a
worker killed mid-run, the job resumed from the chief's checkpoint; and no
worker process left behind. About a minute on 2 CPU cores.
"""

import json

import pytest

from helpers.multi_worker import (
    free_ports,
    process_group_alive,
    run_workers,
    tf_config,
    train_on_workers,
)

TINY = {
    "train_size": 256,
    "test_size": 100,
    "epochs": 3,
    "global_batch": 64,
    "epoch_pause": 1.0,  # lets the kill land mid-run even with tiny epochs
}


def test_free_ports_and_tf_config():
    ports = free_ports(2, 23456)
    assert len(set(ports)) == 2 and all(p >= 23456 for p in ports)
    config = tf_config(ports, 1)
    assert config["task"] == {"type": "worker", "index": 1}
    assert config["cluster"]["worker"] == [f"localhost:{p}" for p in ports]
    json.dumps(config)


def test_two_workers_kill_and_resume(tmp_path):
    pgids = []
    # An uninterrupted run: the workers end with the same weights.
    with run_workers(2, tmp_path / "plain", **TINY) as job:
        pgids += [w.pid for w in job.workers]
        assert job.wait(60) == [0, 0], [w.log()[-2000:] for w in job.workers]
        results = [w.result() for w in job.workers]
    assert results[0]["weights_sha256"] == results[1]["weights_sha256"]
    assert [r["is_chief"] for r in results] == [True, False]
    assert (tmp_path / "plain" / "model.keras").is_file()
    assert not (tmp_path / "plain" / "tmp_worker_1").exists()

    # Kill worker 1 after its first epoch: the job stops.
    out = tmp_path / "killed"
    with run_workers(2, out, **TINY) as job:
        pgids += [w.pid for w in job.workers]
        killed = job.kill_after(1, epochs=1, timeout=60)
        codes = job.wait(30)  # the chief fails, or hangs and is killed
    assert killed["running_when_killed"] and killed["exit_code"] == -9
    assert codes[0] != 0 and codes[1] == -9
    saved = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert saved and len(saved) < TINY["epochs"], saved

    # Restart both: they resume from the chief's last checkpoint and finish.
    results = train_on_workers(2, out, timeout=60, **TINY)
    last = max(int(name.split("-")[1].split(".")[0]) for name in saved)
    assert [r["resumed_from_epoch"] for r in results] == [last, last]
    assert 1 <= last < TINY["epochs"]
    assert [h["epoch"] for h in results[0]["history"]] == list(
        range(last + 1, TINY["epochs"] + 1)
    )
    assert results[0]["weights_sha256"] == results[1]["weights_sha256"]
    assert results[0]["test_accuracy"] > 0.1  # better than nothing on 100 images

    # No worker outlived its `with` block.
    assert not [pgid for pgid in pgids if process_group_alive(pgid)]


def test_workers_are_killed_when_the_block_fails(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with run_workers(2, tmp_path, **TINY) as job:
            pgids = [w.pid for w in job.workers]
            raise KeyboardInterrupt  # as if the notebook cell were interrupted
    assert not [pgid for pgid in pgids if process_group_alive(pgid)]
