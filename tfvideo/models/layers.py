"""Small building blocks shared by the models: MLPs, the permutation-invariant content network, and a
recurrent-cell driver that runs a cell over time with explicit state (export-friendly)."""

from __future__ import annotations

import keras
import tensorflow as tf


def track_layers(owner: keras.layers.Layer, prefix: str, layers: list) -> int:
    """Stores `layers` on `owner` as attributes prefix_0, prefix_1, ...; returns their count.

    Keras 3 keeps layers assigned in a Python list out of `tf.train.Checkpoint` (its TrackedList is not a TF
    trackable), so their weights would silently be left out of checkpoints: sub-layers must be attributes.
    """
    for index, layer in enumerate(layers):
        setattr(owner, f"{prefix}_{index}", layer)
    return len(layers)


def tracked_layers(owner: keras.layers.Layer, prefix: str, count: int) -> list:
    """The layers stored by `track_layers(owner, prefix, ...)`, in order."""
    return [getattr(owner, f"{prefix}_{index}") for index in range(count)]


@keras.saving.register_keras_serializable(package="tfvideo")
class MLP(keras.layers.Layer):
    """`num_layers` Dense layers, ReLU between them, linear output: [..., D_in] -> [..., output_size]."""

    def __init__(self, hidden_size: int, output_size: int, num_layers: int, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        if num_layers < 1:
            raise ValueError(f"MLP needs num_layers >= 1; got {num_layers}.")
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        sizes = [hidden_size] * (num_layers - 1) + [output_size]
        track_layers(self, "dense", [
            keras.layers.Dense(size, activation="relu" if i < num_layers - 1 else None,
                               kernel_initializer=self.kernel_initializer)
            for i, size in enumerate(sizes)])

    @property
    def dense_layers(self) -> list:
        return tracked_layers(self, "dense", self.num_layers)

    def call(self, x):
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "output_size": self.output_size,
                "num_layers": self.num_layers,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable(package="tfvideo")
class ContentEncoder(keras.layers.Layer):
    """Permutation-invariant content variable w = tanh(W2 sum_i relu(W1 h_i + b1) + b2).

    Input encodings [B, K, E] of K frames; output w [B, hidden_size]. Summing over K makes w invariant to
    the order of the frames (SRVP, section 3.2).
    """

    def __init__(self, hidden_size: int = 256, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.project = keras.layers.Dense(hidden_size, activation="relu")
        self.output_layer = keras.layers.Dense(hidden_size, activation="tanh")

    def call(self, encodings):
        return self.output_layer(keras.ops.sum(self.project(encodings), axis=1))

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size}


def run_cell(cell: keras.layers.Layer, inputs: tf.Tensor, state: list[tf.Tensor]) -> tf.Tensor:
    """Runs a Keras RNN cell over time: inputs [B, T, D] -> outputs [B, T, units].

    With a static T the loop is unrolled (fast in training); with a dynamic T it is a `tf.while_loop`
    with concat accumulation, which converts to TFLite builtins (no TensorList ops).
    """
    static_t = inputs.shape[1]
    if static_t is not None:
        outputs = []
        for t in range(static_t):
            out, state = cell(inputs[:, t], state)
            outputs.append(out)
        if not outputs:
            return tf.zeros([tf.shape(inputs)[0], 0, cell.units], inputs.dtype)
        return tf.stack(outputs, axis=1)
    num_steps = tf.shape(inputs)[1]
    acc = tf.zeros([tf.shape(inputs)[0], 0, cell.units], inputs.dtype)

    def body(t, acc, *state):
        out, new_state = cell(inputs[:, t], list(state))
        return (t + 1, tf.concat([acc, out[:, None]], axis=1), *new_state)

    invariants = (tf.TensorShape([]), tf.TensorShape([None, None, cell.units]), *[s.shape for s in state])
    result = tf.while_loop(lambda t, *_: t < num_steps, body, (tf.constant(0), acc, *state),
                           shape_invariants=invariants)
    return result[1]


def lstm_zero_state(cell: keras.layers.Layer, batch_size, dtype=tf.float32) -> list[tf.Tensor]:
    """[h, c] zeros [B, units] for an `LSTMCell`."""
    return [tf.zeros([batch_size, cell.units], dtype), tf.zeros([batch_size, cell.units], dtype)]
