"""Small building blocks shared by the models: MLPs, the permutation-invariant content network, a
recurrent-cell driver that runs a cell over time with explicit state (export-friendly), the original codes'
initial distributions: Dense / LSTM layers initialised as PyTorch's nn.Linear / nn.LSTM (`dense`, `lstm_cell`
pick them by `initialization`) and the N(0, 0.02) of their `init_weights` (`init_weights_normal`,
`init_weights_dense`)."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfvideo import config as config_lib


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


def check_initialization(initialization: str) -> str:
    """`initialization` if it is one of config.INITIALIZATIONS ("keras", "pytorch"), else ValueError."""
    if initialization not in config_lib.INITIALIZATIONS:
        raise ValueError(f"Unknown initialization {initialization!r}; expected one of "
                         f"{', '.join(config_lib.INITIALIZATIONS)}.")
    return initialization


def fan_in_uniform(fan_in: int) -> keras.initializers.Initializer:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with a seed of its own: PyTorch's default for nn.Linear and nn.LSTM.

    Each weight needs its own instance: an initializer's integer seed gives the same draw on every call.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def init_weights_normal(mean: float = 0.0) -> keras.initializers.Initializer:
    """N(mean, 0.02): the original codes' `init_weights` for convolution and nn.Linear weights (mean 0) and
    batch-norm scales (mean 1). A new instance per weight: an initializer's seed is drawn when it is made (from the
    Python RNG that keras.utils.set_random_seed seeds) and gives the same draw on every call, so a shared one would
    start equal-shape kernels equal and tie the weights to when a module was imported."""
    return keras.initializers.RandomNormal(mean, 0.02)


def reseeded(initializer: keras.initializers.Initializer) -> keras.initializers.Initializer:
    """A copy of `initializer` with a new seed (the same object if it takes no seed), for independent draws."""
    config = initializer.get_config()
    if "seed" not in config:
        return initializer
    return type(initializer).from_config({**config, "seed": None})


@keras.saving.register_keras_serializable(package="tfvideo")
class PyTorchDense(keras.layers.Dense):
    """keras.layers.Dense initialised as PyTorch's nn.Linear: kernel [fan_in, units] and bias [units] each
    ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn independently when the layer is built. Same computation."""

    def __init__(self, units: int, **kwargs):
        for name in ("kernel_initializer", "bias_initializer"):
            if name in kwargs:
                raise ValueError(f"PyTorchDense draws its weights as nn.Linear does; it takes no {name} "
                                 "(use keras.layers.Dense for another initializer).")
        super().__init__(units, **kwargs)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel_initializer = fan_in_uniform(fan_in)
        self.bias_initializer = fan_in_uniform(fan_in)
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        for name in ("kernel_initializer", "bias_initializer"):
            config.pop(name)
        return config


@keras.saving.register_keras_serializable(package="tfvideo")
class PyTorchLSTMCell(keras.layers.Layer):
    """One LSTM layer's cell computed and initialised as PyTorch's nn.LSTM, stepped like a keras LSTMCell by
    `run_cell` / `lstm_zero_state`: call(x [B, D], [h, c] each [B, units]) -> (h' [B, units], [h', c']).

    Gates in PyTorch's (and Keras') order i, f, g, o:
        [i, f, g, o] = x K + b_ih + h R + b_hh
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g),   h' = sigmoid(o) * tanh(c')
    with kernel K [D, 4 units], recurrent_kernel R [units, 4 units] and two trainable bias vectors b_ih
    (input_bias) and b_hh (recurrent_bias) [4 units], every one ~ U(-1/sqrt(units), 1/sqrt(units)) independently.
    Both biases receive the same gradient, so under Adam their sum moves about twice as fast per step as a single
    bias would. Plain matmul, add, sigmoid and tanh: TFLite builtins.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        gates = 4 * self.units
        shapes = {"kernel": (int(input_shape[-1]), gates), "recurrent_kernel": (self.units, gates),
                  "input_bias": (gates,), "recurrent_bias": (gates,)}
        for name, shape in shapes.items():
            setattr(self, name, self.add_weight(shape=shape, initializer=fan_in_uniform(self.units), name=name))

    def call(self, inputs, states):
        h, c = states
        gates = (keras.ops.matmul(inputs, self.kernel) + self.input_bias
                 + keras.ops.matmul(h, self.recurrent_kernel) + self.recurrent_bias)
        i, f, g, o = keras.ops.split(gates, 4, axis=-1)
        c = keras.ops.sigmoid(f) * c + keras.ops.sigmoid(i) * keras.ops.tanh(g)
        h = keras.ops.sigmoid(o) * keras.ops.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def dense(units: int, initialization: str = "keras", **kwargs) -> keras.layers.Dense:
    """A Dense layer initialised by Keras (glorot-uniform kernel, zero bias) or as nn.Linear (`PyTorchDense`)."""
    cls = PyTorchDense if check_initialization(initialization) == "pytorch" else keras.layers.Dense
    return cls(units, **kwargs)


def lstm_cell(units: int, initialization: str = "keras", **kwargs) -> keras.layers.Layer:
    """keras.layers.LSTMCell (glorot-uniform kernel, orthogonal recurrent kernel, one zero bias with forget-gate
    bias 1) for "keras", `PyTorchLSTMCell` for "pytorch"."""
    cls = PyTorchLSTMCell if check_initialization(initialization) == "pytorch" else keras.layers.LSTMCell
    return cls(units, **kwargs)


def init_weights_dense(units: int, initialization: str = "keras", **kwargs) -> keras.layers.Dense:
    """SVG's Linear layers: Keras' Dense defaults (glorot-uniform kernel, zero bias) for "keras"; for "pytorch" the
    original SVG code's, an nn.Linear re-drawn by its `init_weights`: kernel ~ N(0, 0.02), bias 0."""
    if check_initialization(initialization) == "pytorch":
        kwargs["kernel_initializer"] = init_weights_normal()
    return keras.layers.Dense(units, **kwargs)


@keras.saving.register_keras_serializable(package="tfvideo")
class MLP(keras.layers.Layer):
    """`num_layers` Dense layers, ReLU between them, linear output: [..., D_in] -> [..., output_size].

    kernel_initializer None takes the `initialization`'s own: glorot-uniform kernels and zero biases ("keras") or
    nn.Linear's (`PyTorchDense`, "pytorch"). A given kernel_initializer comes with zero biases. Each layer draws
    its kernel independently (a copy of the initializer with a seed of its own, `reseeded`).
    """

    def __init__(self, hidden_size: int, output_size: int, num_layers: int, kernel_initializer=None,
                 initialization: str = "keras", **kwargs):
        super().__init__(**kwargs)
        if num_layers < 1:
            raise ValueError(f"MLP needs num_layers >= 1; got {num_layers}.")
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.initialization = check_initialization(initialization)
        if kernel_initializer is None and initialization == "keras":
            kernel_initializer = "glorot_uniform"
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        sizes = [hidden_size] * (num_layers - 1) + [output_size]
        track_layers(self, "dense", [self._dense(size, "relu" if i < num_layers - 1 else None)
                                     for i, size in enumerate(sizes)])

    def _dense(self, units: int, activation: str | None) -> keras.layers.Dense:
        if self.kernel_initializer is None:
            return PyTorchDense(units, activation=activation)
        return keras.layers.Dense(units, activation=activation, kernel_initializer=reseeded(self.kernel_initializer))

    @property
    def dense_layers(self) -> list:
        return tracked_layers(self, "dense", self.num_layers)

    def call(self, x):
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "output_size": self.output_size,
                "num_layers": self.num_layers, "initialization": self.initialization,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable(package="tfvideo")
class ContentEncoder(keras.layers.Layer):
    """Permutation-invariant content variable w = tanh(W2 sum_i relu(W1 h_i + b1) + b2).

    Input encodings [B, K, E] of K frames; output w [B, hidden_size]. Summing over K makes w invariant to
    the order of the frames (SRVP, section 3.2). `initialization`: see `dense`.
    """

    def __init__(self, hidden_size: int = 256, initialization: str = "keras", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initialization = check_initialization(initialization)
        self.project = dense(hidden_size, initialization, activation="relu")
        self.output_layer = dense(hidden_size, initialization, activation="tanh")

    def call(self, encodings):
        return self.output_layer(keras.ops.sum(self.project(encodings), axis=1))

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "initialization": self.initialization}


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
    """[h, c] zeros [B, units] for a keras `LSTMCell` or a `PyTorchLSTMCell`."""
    return [tf.zeros([batch_size, cell.units], dtype), tf.zeros([batch_size, cell.units], dtype)]
