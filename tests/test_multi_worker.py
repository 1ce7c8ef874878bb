"""The appendix's worker launcher (helpers/multi_worker.py), apart from its run.

Two workers training to the end with identical weights, a worker killed
mid-run, the job resumed from the chief's checkpoint, and no worker process
left behind are checked by the appendix's own smoke run (its hidden check cell,
run by tests/test_chapters.py). Here: the cluster settings, and no worker left
when the cell that started them is interrupted. The workers here take ports
from TEST_PORT up, away from the appendix's (23456 up), because the suite may
run the appendix in its other process at the same time.
"""

import json

import pytest

from helpers.multi_worker import (
    free_ports,
    process_group_alive,
    run_workers,
    tf_config,
)

TEST_PORT = 34567

TINY = {
    "train_size": 256,
    "test_size": 100,
    "epochs": 3,
    "global_batch": 64,
    "epoch_pause": 1.0,  # lets the kill land mid-run even with tiny epochs
}


def test_free_ports_and_tf_config():
    ports = free_ports(2, TEST_PORT)
    assert len(set(ports)) == 2 and all(p >= TEST_PORT for p in ports)
    config = tf_config(ports, 1)
    assert config["task"] == {"type": "worker", "index": 1}
    assert config["cluster"]["worker"] == [f"localhost:{p}" for p in ports]
    json.dumps(config)


def test_workers_are_killed_when_the_block_fails(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with run_workers(2, tmp_path, base_port=TEST_PORT, **TINY) as job:
            pgids = [w.pid for w in job.workers]
            raise KeyboardInterrupt  # as if the notebook cell were interrupted
    assert not [pgid for pgid in pgids if process_group_alive(pgid)]
