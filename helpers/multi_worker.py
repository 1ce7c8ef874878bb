"""Training past one machine: the appendix's worker script and its launcher.

The worker script trains chapter 2's convnet on Fashion-MNIST with
``tf.distribute.MultiWorkerMirroredStrategy`` and a custom training loop. Each
worker process runs the same command; the environment variable ``TF_CONFIG``
tells it the cluster and which worker it is::

    TF_CONFIG='{"cluster": {"worker": ["localhost:23456", "localhost:23457"]},
                "task": {"type": "worker", "index": 0}}' \\
        python -m helpers.multi_worker --out OUT --train-size 12000 --epochs 5

The chief (worker 0) writes the checkpoints (``OUT/checkpoints``, one per epoch)
and the saved model (``OUT/model.keras``); the other workers write theirs to a
temporary folder that they delete. Every worker appends one JSON line per epoch
to ``OUT/worker_<i>/progress.jsonl`` and writes ``OUT/worker_<i>/result.json``
at the end (with a sha256 of its final weights). A worker restarted with the
same ``OUT`` resumes from the chief's last checkpoint.

The launcher, :func:`run_workers`, starts the workers on localhost, each in
its own process group, and ends every process group it started when its
``with`` block ends, whatever happens inside it. The appendix and
``tests/test_multi_worker.py`` both use it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HOST = "localhost"


# --- the launcher -----------------------------------------------------------


def free_ports(count: int, start: int) -> list[int]:
    """Return ``count`` localhost ports from ``start`` up that can be bound now."""
    ports: list[int] = []
    port = start
    while len(ports) < count:
        if port > 65535:
            raise RuntimeError(f"no {count} free ports from {start} up")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                port += 1
                continue
        ports.append(port)
        port += 1
    return ports


def tf_config(ports: list[int], index: int) -> dict:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of localhost ``ports``."""
    return {
        "cluster": {"worker": [f"{HOST}:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    }


def read_json_lines(path: Path) -> list[dict]:
    """The complete JSON lines of a file (none if it is missing)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            break
    return rows


def end_process_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group led by ``process`` (if any is left) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def process_group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` is still there."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Worker:
    """One worker process: its index, process, and files."""

    index: int
    process: subprocess.Popen
    folder: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def progress(self) -> list[dict]:
        """The epochs this worker has finished, one dict each, in order."""
        return read_json_lines(self.folder / "progress.jsonl")

    def result(self) -> dict | None:
        """The worker's result.json, once it has finished."""
        path = self.folder / "result.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Job:
    """The workers of one run; see :func:`run_workers`."""

    workers: list[Worker]
    started: float = field(default_factory=time.perf_counter)
    timed_out: list[int] = field(default_factory=list)

    def wait(self, timeout: float) -> list[int | None]:
        """Wait for every worker, ``timeout`` seconds in all; return their exit codes.

        Workers still running then are killed (their index goes to
        ``timed_out``) and get the exit code None.
        """
        deadline = time.monotonic() + timeout
        codes: list[int | None] = []
        for worker in self.workers:
            try:
                codes.append(worker.process.wait(max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                end_process_group(worker.process)
                self.timed_out.append(worker.index)
                codes.append(None)
        return codes

    def kill_after(
        self,
        index: int,
        epochs: int,
        timeout: float,
        fraction: float = 0.5,
    ) -> dict:
        """SIGKILL worker ``index`` once it has finished ``epochs`` epochs.

        It is killed ``fraction`` of its last epoch's duration later, so mid
        epoch. Return what its progress file said then, and whether it was
        still running when the signal went.
        """
        worker = self.workers[index]
        deadline = time.monotonic() + timeout
        while len(worker.progress()) < epochs:
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"worker {index} ended before finishing {epochs} epochs:\n"
                    + worker.log()[-2000:]
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {index} did not finish {epochs} epochs")
            time.sleep(0.05)
        done = worker.progress()
        time.sleep(fraction * done[-1]["seconds"])
        running = worker.process.poll() is None
        os.killpg(worker.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
        return {
            "index": index,
            "epochs_done": len(worker.progress()),
            "running_when_killed": running,
            "exit_code": worker.process.returncode,
        }


@contextlib.contextmanager
def run_workers(
    count: int,
    out_dir: str | Path,
    *,
    base_port: int = 23456,
    threads: int = 1,
    **options,
) -> Iterator[Job]:
    """Start ``count`` workers of the training script on localhost.

    Each gets its ``TF_CONFIG`` (a cluster of localhost ports from
    ``base_port`` up, checked free by binding them), runs
    ``python -m helpers.multi_worker --out OUT ...`` with ``options`` as
    command-line flags (``train_size=3000`` gives ``--train-size 3000``) in a
    new session, so in its own process group, and logs to
    ``OUT/worker_<i>.log``. Yield a :class:`Job`; when the ``with`` block
    ends, by return, error or interrupt, every process group still there is
    killed, so that no worker outlives it.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    argv = ["--out", str(out), "--threads", str(threads)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value not in (None, False):
            argv += [flag, str(value)]
    ports = free_ports(count, base_port)
    workers: list[Worker] = []
    try:
        for index in range(count):
            folder = out / f"worker_{index}"
            folder.mkdir(exist_ok=True)
            for stale in ("progress.jsonl", "result.json"):
                (folder / stale).unlink(missing_ok=True)
            log_path = out / f"worker_{index}.log"
            env = dict(os.environ)
            env["TF_CONFIG"] = json.dumps(tf_config(ports, index))
            env["TF_CPP_MIN_LOG_LEVEL"] = "2"  # TensorFlow's C++ info lines off
            # CPU workers: two processes must not both claim one GPU's memory.
            env["CUDA_VISIBLE_DEVICES"] = ""
            with open(log_path, "w", encoding="utf-8") as log:
                process = subprocess.Popen(
                    [sys.executable, "-u", "-m", "helpers.multi_worker", *argv],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # its own process group
                )
            workers.append(Worker(index, process, folder, log_path))
        yield Job(workers)
    finally:
        for worker in workers:
            end_process_group(worker.process)


def compact_log(text: str, keep: tuple[str, ...] = ("[worker",)) -> str:
    """The lines of a worker log that the worker printed itself (no TF noise)."""
    lines = [line for line in text.splitlines() if line.startswith(keep)]
    return "\n".join(lines)


# --- the worker script --------------------------------------------------------


def weights_sha256(weights) -> str:
    """sha256 over the bytes of a list of NumPy weight arrays, in order."""
    digest = hashlib.sha256()
    for array in weights:
        digest.update(array.tobytes())
    return digest.hexdigest()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.multi_worker",
        description="One worker of chapter 2's convnet under "
        "MultiWorkerMirroredStrategy (the cluster comes from TF_CONFIG).",
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--train-size", type=int, default=12_000)
    parser.add_argument("--test-size", type=int, default=2_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--global-batch", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--epoch-pause",
        type=float,
        default=0.0,
        help="seconds to wait after each epoch (lets tests kill a tiny run mid-way)",
    )
    parser.add_argument(
        "--allreduce-repeats",
        type=int,
        default=0,
        help="after training, time this many all-reduces of the gradients' size",
    )
    parser.add_argument(
        "--try-fit",
        action="store_true",
        help="only try model.fit under the strategy and record how it ends",
    )
    return parser.parse_args(argv)


def say(index: int, message: str) -> None:
    print(f"[worker {index}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from helpers.data import load_fashion_mnist
    from helpers.models import build_fashion_convnet

    communication = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=communication
    )
    resolver = strategy.cluster_resolver
    index = int(resolver.task_id or 0)
    workers = len(resolver.cluster_spec().as_dict().get("worker", [])) or 1
    is_chief = index == 0  # no "chief" task in our clusters: worker 0 is the chief
    out: Path = args.out
    folder = out / f"worker_{index}"
    folder.mkdir(parents=True, exist_ok=True)
    say(
        index,
        f"{'chief, ' if is_chief else ''}{workers} workers,"
        f" {strategy.num_replicas_in_sync} replicas in sync",
    )

    (images, labels), (test_images, test_labels) = load_fashion_mnist()
    x = (images[: args.train_size] / 255.0).astype("float32")[..., np.newaxis]
    y = labels[: args.train_size].astype("int32")
    x_test = (test_images[: args.test_size] / 255.0).astype("float32")[..., None]
    y_test = test_labels[: args.test_size].astype("int32")
    global_batch = args.global_batch
    steps = len(x) // global_batch
    if steps < 1 or global_batch % workers:
        raise SystemExit(
            f"--global-batch {global_batch} must divide evenly among {workers}"
            f" workers and fit {len(x)} images at least once"
        )

    keras.utils.set_random_seed(args.seed)
    with strategy.scope():
        model = build_fashion_convnet()
        optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate)
        optimizer.build(model.trainable_variables)

    if args.try_fit:
        return try_fit(strategy, model, x, y, global_batch, index, folder)

    # Checkpoints: everybody saves (saving may need every worker), only the
    # chief's folder is kept; everybody restores from the chief's folder.
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    checkpoint_dir = out / "checkpoints"
    write_dir = checkpoint_dir if is_chief else out / f"tmp_worker_{index}"
    manager = tf.train.CheckpointManager(checkpoint, str(write_dir), max_to_keep=2)
    latest = tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        say(
            index,
            f"resuming from {Path(latest).name}, epochs done: {int(epoch.numpy())}",
        )
    else:
        say(index, "no checkpoint: starting from epoch 0")
    resumed_from = int(epoch.numpy())

    def distributed(epoch_number: int):
        # The same order on every worker and after a restart: seeded per epoch.
        dataset = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=args.seed + epoch_number)
            .batch(global_batch, drop_remainder=True)
        )
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return strategy.experimental_distribute_dataset(dataset.with_options(options))

    def replica_step(batch_images, batch_labels):
        with tf.GradientTape() as tape:
            probabilities = model(batch_images, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(
                batch_labels, probabilities
            )
            # mean over the GLOBAL batch: the all-reduce then sums the replicas'
            loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, model.trainable_variables, strict=True)
        )
        predicted = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        correct = tf.reduce_sum(tf.cast(predicted == batch_labels, tf.float32))
        return tf.reduce_sum(per_example), correct

    @tf.function
    def train_step(iterator):
        loss_sum, correct = strategy.run(replica_step, args=next(iterator))
        sum_ = tf.distribute.ReduceOp.SUM  # metrics reduced across all workers
        return (
            strategy.reduce(sum_, loss_sum, axis=None),
            strategy.reduce(sum_, correct, axis=None),
        )

    history = []
    for epoch_number in range(resumed_from, args.epochs):
        started = time.perf_counter()
        iterator = iter(distributed(epoch_number))
        loss_total = correct_total = 0.0
        for _ in range(steps):
            loss_sum, correct = train_step(iterator)
            loss_total += float(loss_sum)
            correct_total += float(correct)
        seconds = time.perf_counter() - started
        epoch.assign(epoch_number + 1)
        manager.save(checkpoint_number=epoch_number + 1)
        if not is_chief:
            shutil.rmtree(write_dir, ignore_errors=True)
        row = {
            "epoch": epoch_number + 1,
            "loss": loss_total / (steps * global_batch),
            "accuracy": correct_total / (steps * global_batch),
            "seconds": seconds,
            "images_per_second": steps * global_batch / seconds,
        }
        history.append(row)
        with open(folder / "progress.jsonl", "a", encoding="utf-8") as progress:
            progress.write(json.dumps(row) + "\n")
        say(
            index,
            f"epoch {row['epoch']}/{args.epochs}: loss {row['loss']:.4f},"
            f" accuracy {row['accuracy']:.4f}, {seconds:.1f} s",
        )
        if args.epoch_pause:
            time.sleep(args.epoch_pause)

    allreduce_seconds = None
    if args.allreduce_repeats:
        allreduce_seconds = time_allreduce(strategy, model, args.allreduce_repeats)
        say(index, f"one all-reduce of the gradients: {allreduce_seconds * 1e3:.2f} ms")

    _, test_accuracy = evaluate(model, x_test, y_test)
    weights = [np.asarray(w) for w in model.get_weights()]
    digest = weights_sha256(weights)
    # The saved model: the chief's is kept, the others' go to a temporary folder.
    model_dir = out if is_chief else out / f"tmp_worker_{index}"
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    if not is_chief:
        shutil.rmtree(model_dir, ignore_errors=True)
    result = {
        "index": index,
        "is_chief": is_chief,
        "workers": workers,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from_epoch": resumed_from,
        "epochs": args.epochs,
        "history": history,
        "test_accuracy": test_accuracy,
        "test_size": len(x_test),
        "weights_sha256": digest,
        "gradient_values": int(sum(int(np.prod(w.shape)) for w in weights)),
        "allreduce_seconds": allreduce_seconds,
        "pid": os.getpid(),
    }
    (folder / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    say(index, f"test accuracy {test_accuracy:.4f}, weights sha256 {digest[:16]}")
    return 0


def evaluate(model, x_test, y_test) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on the test images, on this worker alone."""
    import numpy as np

    probabilities = np.concatenate(
        [
            np.asarray(model(x_test[i : i + 500], training=False))
            for i in range(0, len(x_test), 500)
        ]
    )
    picked = probabilities[np.arange(len(y_test)), y_test]
    loss = float(-np.mean(np.log(np.maximum(picked, 1e-7))))
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
    return loss, accuracy


def time_allreduce(strategy, model, repeats: int) -> float:
    """Median seconds of one SUM all-reduce of a float32 tensor the gradients' size."""
    import numpy as np
    import tensorflow as tf

    size = sum(int(np.prod(v.shape)) for v in model.trainable_variables)

    @tf.function
    def allreduce():
        def replica_fn():
            gradients = tf.ones([size], tf.float32)
            context = tf.distribute.get_replica_context()
            return context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)

        return strategy.run(replica_fn)

    for _ in range(3):  # trace, warm up the collective
        allreduce()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = allreduce()
        _ = [np.asarray(t) for t in strategy.experimental_local_results(result)]
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))


def try_fit(strategy, model, x, y, global_batch, index, folder: Path) -> int:
    """Try ``model.fit`` under the strategy; record in result.json how it ended."""
    with strategy.scope():
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    try:
        model.fit(x, y, batch_size=global_batch, epochs=1, verbose=0)
        outcome = {"fit_failed": False, "error": None}
    except Exception as error:  # noqa: BLE001 - the point is to see which
        # one line, without the NumPy array printed inside the message
        message = re.sub(r"numpy=.*?\)>", "...>", str(error), flags=re.DOTALL)
        message = " ".join(message.split())
        outcome = {"fit_failed": True, "error": f"{type(error).__name__}: {message}"}
    say(index, f"model.fit: {outcome['error'] or 'ran'}")
    (folder / "result.json").write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    return 0


def run(argv: list[str] | None = None) -> int:
    """main(), with a failure's first line in the log where the compact log shows it."""
    try:
        return main(argv)
    except Exception as error:
        lines = str(error).strip().splitlines() or [""]
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
        say(task.get("index", 0), f"failed: {type(error).__name__}: {lines[0][:300]}")
        raise


if __name__ == "__main__":
    sys.exit(run())
