"""Multi-device training with tf.distribute: `--strategy=default|mirrored|multi_worker|tpu`.

- default: one device, the plain single-device path (`model.train_step` compiled as is).
- mirrored: `tf.distribute.MirroredStrategy`, one replica per local GPU (the CPU when there is none).
- multi_worker: `tf.distribute.MultiWorkerMirroredStrategy`, one process per host, the cluster read from the
  TF_CONFIG environment variable (JSON: {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker",
  "index": i}}). Every worker runs the same command; worker 0 (or the "chief" task, if the cluster has one) is
  the chief.
- tpu: `tf.distribute.TPUStrategy` on the TPU named by TPU_NAME (or the local TPU VM).

`--batch_size` is the GLOBAL batch: each step splits it across the replicas (the data stream is batched
globally and `experimental_distribute_dataset` hands replica r its r-th slice), each replica computes the
ELBO of its slice divided by the number of replicas, and the optimizer sums the gradients over replicas: the
gradient of the global batch mean, as on one device. Batch norm is synchronized across replicas (its moments
are all-reduced; `networks._several_replicas`) whenever the model is built under a strategy with several
replicas, and every replica draws the random numbers of the whole global batch and keeps its rows
(`base.per_example`), so that each example gets the draws it gets on one device: training on R replicas
matches training on one device up to rounding. Every step is the guarded update of
`tfvideo.models.guarded_step`, as on one device: a step whose loss or gradients are unsafe on ANY replica is
skipped on every replica.

Checkpoints: every worker takes part in a save (reading sync-on-read variables is collective), but only the
chief writes into the workdir; the others write to a scratch directory that is deleted right away, as TF
recommends. Every worker restores from the workdir's checkpoints, so the workdir must be on storage that
every worker can read (the same local path for workers on one host; a shared file system mounted at the
same path otherwise).
Resuming works as on one device, and across strategies: checkpoints hold one copy of each variable.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile

import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.training import checkpointing
from tfvideo.models import guarded_step

STRATEGIES = config_lib.STRATEGIES


class DistributeError(config_lib.ConfigError):
    """The strategy cannot be built or used as asked (a configuration problem: the CLI prints the message)."""


def build_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy called `name` (see the module docstring). Call it before any other TF op.

    Raises DistributeError for an unknown name, a malformed TF_CONFIG or a TPU that cannot be reached.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not read_tf_config():  # validates TF_CONFIG before TF reads it
            raise DistributeError("--strategy=multi_worker needs the cluster in the TF_CONFIG environment variable "
                                  '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": '
                                  '"worker", "index": 0}} on each host); it is unset, so this would train as one '
                                  "worker. On one machine use --strategy=default or mirrored.")
        task_info(read_tf_config())
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as error:
            raise DistributeError(f"--strategy=multi_worker could not start: {error}. It must be created before "
                                  "any other TensorFlow op of the process (use the training CLI).") from None
    if name == "tpu":
        return _tpu_strategy()
    raise DistributeError(f"Unknown --strategy={name!r}; expected one of: {', '.join(STRATEGIES)}.")


def _tpu_strategy() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DistributeError(f"--strategy=tpu: no TPU found ({reason}). Run on a Cloud TPU VM, or set TPU_NAME to "
                              "the TPU's name or grpc:// address; use --strategy=default or mirrored elsewhere.") \
            from None
    return tf.distribute.TPUStrategy(resolver)


def read_tf_config() -> dict:
    """The parsed TF_CONFIG environment variable ({} when unset); DistributeError when it is not valid JSON."""
    text = os.environ.get("TF_CONFIG", "")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({error}): expected e.g. "
                              '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                              '"task": {"type": "worker", "index": 0}}.') from None
    if not isinstance(value, dict):
        raise DistributeError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task'; got {text!r}.")
    return value


def task_info(tf_config: dict) -> dict:
    """{"type", "index", "is_chief", "num_workers"} of this process in a parsed TF_CONFIG.

    The chief is the "chief" task when the cluster has one, else worker 0. An empty TF_CONFIG is a single
    worker (the chief). Raises DistributeError when the task is missing from the cluster.
    """
    if not tf_config:
        return {"type": None, "index": 0, "is_chief": True, "num_workers": 1}
    cluster, task = tf_config.get("cluster"), tf_config.get("task")
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise DistributeError("TF_CONFIG needs a 'cluster' object and a 'task' object, e.g. "
                              '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                              '"task": {"type": "worker", "index": 0}}.')
    kind, index = task.get("type"), task.get("index", 0)
    members = cluster.get(kind)
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise DistributeError(f"TF_CONFIG task {task} is not in its cluster {cluster}: 'type' must name a list of "
                              "the cluster and 'index' a position in it.")
    is_chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)
    workers = sum(len(cluster.get(k, [])) for k in ("chief", "worker"))
    return {"type": kind, "index": index, "is_chief": is_chief, "num_workers": workers}


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (checkpoints, summaries, GIFs): True but on non-chief workers."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type or isinstance(strategy, tf.distribute.TPUStrategy):
        return True
    return task_info({"cluster": resolver.cluster_spec().as_dict(),
                      "task": {"type": resolver.task_type, "index": resolver.task_id}})["is_chief"]


def per_replica_batch(strategy: tf.distribute.Strategy, global_batch: int) -> int:
    """global_batch / replicas; ConfigError naming the fix when it does not divide evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise config_lib.ConfigError(
            f"--batch_size={global_batch} (the global batch) must be a multiple of the {replicas} replicas of "
            f"this strategy; use for example --batch_size={replicas * max(1, global_batch // replicas)}.")
    return global_batch // replicas


def distribute_stream(strategy: tf.distribute.Strategy, dataset: tf.data.Dataset):
    """`dataset` of global batches, split across the replicas (unchanged for a single-replica default strategy).

    Replica r of step s gets the r-th slice of global batch s: the same videos as on one device.
    """
    if _is_single_device(strategy):
        return dataset
    return DistributedStream(strategy, dataset)


class DistributedStream:
    """A stream of global batches for a multi-replica strategy; `take(n)` gives its first n steps, each a
    per-replica value (replica r: the r-th slice of the global batch)."""

    def __init__(self, strategy: tf.distribute.Strategy, dataset: tf.data.Dataset):
        self.strategy, self.dataset = strategy, dataset

    def take(self, count: int):
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(self.dataset.take(count).with_options(options))


def make_train_function(strategy: tf.distribute.Strategy, model, jit_compile: bool = False):
    """A compiled step: (distributed) global batch -> logs, as `model.train_step` returns them.

    Under the default strategy this is `tf.function(model.train_step)` itself. Otherwise it is the same guarded
    update (`tfvideo.models.guarded_step`) across replicas: each replica runs `forward_backward` on its
    slice (the gradient of its slice's loss / replicas, and the safety agreed by every replica), then the step
    is applied on every replica or skipped on all of them (the batch-norm statistics of the forward pass put
    back). The logs are the running means over replicas and applied steps, and "skipped".
    """
    if _is_single_device(strategy):
        return tf.function(model.train_step, jit_compile=jit_compile)
    if not model.optimizer.built:
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)

    def step(videos):
        result = strategy.run(guarded_step.forward_backward, args=(model, videos))
        skipped = guarded_step.guarded_update(
            strategy.experimental_local_results(result["safe"])[0],  # agreed: the same on every replica
            apply=lambda: strategy.run(guarded_step.apply_gradients, args=(model, result["grads"], result["terms"])),
            restore=lambda: strategy.run(guarded_step.restore_statistics, args=(model, result["saved"])),
            optimizer=model.optimizer)
        return guarded_step.step_logs(model, skipped)

    return tf.function(step, jit_compile=jit_compile)


_DEFAULT_STRATEGY_TYPE = type(tf.distribute.get_strategy())  # no strategy scope is open at import time


def _is_single_device(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, _DEFAULT_STRATEGY_TYPE)


def saving_checkpoint(strategy: tf.distribute.Strategy, state: checkpointing.RunCheckpoint, model, optimizer):
    """The checkpoint this worker saves with: `state` (the workdir's) on the chief, a ScratchCheckpoint on the
    other workers (they take part in every save, which is collective, but keep nothing). Call it out of the
    strategy scope."""
    if not is_chief(strategy):
        state = ScratchCheckpoint(tempfile.mkdtemp(prefix="tfvideo_worker_"), model, optimizer)
    # Every worker creates its save counter here, out of the strategy scope: created lazily by the first save
    # inside the scope, it would be a mirrored variable whose creation is a collective op on some workers only.
    state.checkpoint.save_counter  # noqa: B018 - the property creates the variable
    return state


class ScratchCheckpoint(checkpointing.RunCheckpoint):
    """A non-chief worker's checkpoint: written to a scratch directory, whose files are deleted after each save."""

    def __init__(self, scratch_dir: str, model, optimizer=None):
        super().__init__(scratch_dir, model, optimizer, max_to_keep=1)
        self.scratch_dir = scratch_dir
        atexit.register(self.cleanup)

    def save(self, step: int) -> str:
        path = super().save(step)
        for name in os.listdir(self.directory):
            target = os.path.join(self.directory, name)
            shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        return path

    def check_space(self) -> None:
        """Nothing is kept: no space to check."""

    def cleanup(self) -> None:
        """Removes the scratch directory (at the end of training)."""
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
