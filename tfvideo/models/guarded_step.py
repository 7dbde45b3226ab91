"""The guarded update: a gradient step applied only when it is safe, and skipped without a trace otherwise.

One rule for every training path: `VideoPredictor.train_step` (one device) and
`tfvideo.training.distribute.make_train_function` (every tf.distribute strategy) both run

    result = forward_backward(model, videos)          # in each replica under a strategy
    skipped = guarded_update(safe, apply, restore, model.optimizer)

A step is safe when its loss is finite and the global norm of its gradients is finite (`gradients_are_safe`:
NaN/Inf gradients, and finite ones whose squares overflow Adam's second moment). Under a strategy with several
replicas the replicas agree by an all-reduce: a step unsafe on ANY replica is skipped on all of them. A skipped
step leaves the weights and the optimizer state untouched, puts back the batch-norm statistics its forward pass
moved, and halves a LossScaleOptimizer's dynamic loss scale; the seed generators move on.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def forward_backward(model, videos) -> dict:
    """The loss terms, gradients and safety of one batch [B, T, H, W, C], and the statistics before the pass.

    Runs in a replica context under a strategy (through `strategy.run`) or directly on one device. With R
    replicas in sync each replica differentiates its slice's loss / R, so that the sum over replicas is the
    gradient of the global batch mean.

    Returns:
      {"terms": dict of scalar loss terms, "grads": list aligned with `model.trainable_variables` (None for
       variables the loss does not reach), "safe": bool scalar agreed by every replica (`agreed_safety`),
       "saved": the values of `statistics(model)` before the forward pass}.
    """
    replicas = _replicas_in_sync()
    saved = [tf.identity(v.value) for v in statistics(model)]
    with tf.GradientTape() as tape:
        terms = model.compute_loss_terms(videos, training=True)
        loss = model.optimizer.scale_loss(terms["loss"])  # loss scaling (mixed_float16); the identity otherwise
        if replicas > 1:
            loss = loss / replicas
    grads = tape.gradient(loss, model.trainable_variables)
    return {"terms": terms, "grads": grads, "safe": agreed_safety(grads, terms["loss"]), "saved": saved}


def agreed_safety(grads, loss) -> tf.Tensor:
    """bool scalar: `loss` is finite and `gradients_are_safe(grads)`, on this replica and (all-reduced) on every
    other replica in sync. Without a strategy, or with one replica, this replica's own answer."""
    safe = gradients_are_safe(grads) & tf.math.is_finite(loss)
    if _replicas_in_sync() == 1:
        return safe
    failures = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM,
                                                              1.0 - tf.cast(safe, tf.float32))
    return tf.equal(failures, 0.0)


def guarded_update(safe, apply, restore, optimizer) -> tf.Tensor:
    """Runs `apply()` when `safe` (a bool scalar), else `restore()` and `halve_loss_scale(optimizer)`.

    Call it where the branches may run: in the model's step on one device, in the cross-replica context under a
    strategy (the branches then call `strategy.run`). Returns "skipped": float32 scalar, 1.0 when skipped.
    """
    def apply_branch():
        apply()
        return tf.constant(0.0)

    def skip_branch():
        restore()
        halve_loss_scale(optimizer)
        return tf.constant(1.0)

    return tf.cond(safe, apply_branch, skip_branch)


def apply_gradients(model, grads, terms) -> None:
    """The update of a safe step: the optimizer applies `grads`, the model's metrics track the loss `terms`."""
    model.optimizer.apply(grads, model.trainable_variables)
    for metric in model.metrics:
        metric.update_state(terms[metric.name])


def step_logs(model, skipped) -> dict:
    """What a training step returns: the running mean of each metric over the applied steps, and "skipped"."""
    return {**{metric.name: metric.result() for metric in model.metrics}, "skipped": skipped}


def statistics(model) -> list:
    """Float non-trainable variables: the batch-norm moving statistics that a forward pass updates."""
    return [v for v in model.non_trainable_variables if "float" in str(v.dtype)]


def restore_statistics(model, saved) -> None:
    """Puts back the values `saved` (from `forward_backward`) into `statistics(model)`."""
    for variable, value in zip(statistics(model), saved):
        variable.assign(value)


def gradients_are_safe(grads) -> tf.Tensor:
    """True when the global norm of `grads` (a list; None entries ignored) is finite: a bool scalar.

    This catches NaN/Inf gradients and also finite ones above sqrt(float32 max) ~ 1.8e19, whose squares
    overflow: Adam's second moment would become inf, and inf + (g^2 - inf) * (1 - beta_2) is NaN on the next
    step, turning the weights NaN one step after a step that looked finite (seen when a prior scale
    collapses to its 1e-8 floor early in training).
    """
    present = [tf.cast(g, tf.float32) for g in grads if g is not None]
    if not present:
        return tf.constant(True)
    return tf.math.is_finite(tf.linalg.global_norm(present))


def halve_loss_scale(optimizer) -> None:
    """After a skipped step: halves a LossScaleOptimizer's dynamic loss scale (mixed_float16 overflow)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer.step_counter.assign(0)
        optimizer.dynamic_scale.assign(optimizer.dynamic_scale * 0.5)


def _replicas_in_sync() -> int:
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync
