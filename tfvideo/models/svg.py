"""SVG-LP: Stochastic Video Generation with a Learned Prior (Denton & Fergus, ICML 2018).

This module is also the one implementation of the SVG family: HAF-SVG (`tfvideo.models.hafsvg`) is this
model with z split into G groups, a feature aligner in the decoder, and a loss over the predicted frames only
(`first_loss_frame`). With G = 1 and no aligner HAF-SVG has this model's variables (a checkpoint of one
restores into the other) and generation.

Frames x_0 .. x_{T-1}; h_t = E(x_t) is the frame encoder's output (g_dim = `encoding_size`, tanh). For t >= 1:

    q(z_t | x_0:t)   = N(mu, exp(logvar)),  [mu, logvar] = Linear(LSTM_q(Linear(h_t)))        posterior
    p(z_t | x_0:t-1) = N(mu, exp(logvar)),  [mu, logvar] = Linear(LSTM_p(Linear(h_{t-1})))    learned prior
    g_t  = tanh(Linear(LSTM_L(... LSTM_1(Linear([h_{t-1}, z_t])))))                             frame predictor
    x^_t = D(g_t, skips of E(x_s)),  s = min(t - 1, P - 1)                                        decoder

P is the number of conditioning frames. The skips come from the last *observed* frame: x_{t-1} while the
context is read, then x_{P-1}, the last conditioning frame, for every future frame (the original code keeps
the skips of x_{P-2} for the future: an off-by-one we do not copy).

Training uses teacher forcing: h_{t-1} is always the encoding of the true frame and z_t comes from the
posterior; every frame x_1 .. x_{T-1} is reconstructed. Generation is autoregressive: through the context,
z_t is sampled from the posterior and the prior LSTM is stepped too (as in the original generation code), so
every recurrent state has read the context; then z_t ~ prior, and each predicted frame is decoded and
re-encoded to give h_t for the next step.

Objective (minimised), with the reductions of the original code (`nn.MSELoss()` averages over every element;
`kl_criterion` sums over dimensions and divides by the batch size):

    reconstruction = sum_{t=1}^{T-1} mean_{batch, height, width, channels} (x^_t - x_t)^2     ("reconstruction")
    kl_z           = mean_batch sum_{t=1}^{T-1} sum_dims KL(q(z_t | x_0:t) || p(z_t | x_0:t-1))   ("kl_z")
    loss           = reconstruction + beta_z * kl_z

Action conditioning (`--action_conditioned`, `tfvideo.models.actions`): with a_t [A] the action taken at frame
x_t (it moves x_t to x_{t+1}), normalised by the training set's statistics, the learned prior and the frame
predictor read the action of the step into frame t, the posterior does not (it sees x_t):

    p(z_t | x_0:t-1, a_t-1) = N(...(LSTM_p(Linear([h_{t-1}, a_{t-1}]))))                       learned prior
    g_t  = tanh(Linear(LSTM_L(... LSTM_1(Linear([h_{t-1}, z_t, a_{t-1}])))))                   frame predictor

and kl_z compares q(z_t | x_0:t) with that prior; the objective is otherwise unchanged.

The reconstruction is a per-pixel MEAN, not a sum: that is why SVG's beta (1e-4, 1e-6) is so small.

Gaussians use SVG's (mean, log variance) parameterisation, `distributions.normal_from_mean_logvar`; SVG's two
heads `mu_net` and `logvar_net` are one Dense layer of 2 * nz units here (same function and parameter count).

HAF-SVG's groups (eq. 2-4): z_t = [z_t^1, ..., z_t^G], each of `noise_size` dims; group j's posterior (prior)
is its own GaussianLSTM reading [h_t (h_{t-1}), z_t^1, ..., z_t^{j-1}], sampled in order. In training the
prior's groups condition on the posterior's samples of the earlier groups, so that
KL(q || p) = sum_j KL(q_j(. | z^<j) || p_j(. | z^<j)) with z^<j ~ q. In generation each group conditions on
the samples just drawn (from the posterior in the context, from the prior afterwards).

Encoder and decoder: `model_config.networks` = "svg" builds SVG's own dcgan_64 / vgg_64 (the paper configs),
"srvp" SRVP's versions of the same families (`tfvideo.models.networks`). Differences from the original left in
place: all frames of a batch are encoded in one call (batch norm statistics over B * T frames rather than per
frame), and generation runs batch norm in inference mode (the original's generation script puts the encoder and
decoder in training mode).

Initialisation (ModelConfig.initialization). In both settings the encoder and decoder convolutions and transposed
convolutions are ~ N(0, 0.02) with zero biases, batch-norm scales ~ N(1, 0.02) with zero offsets
(`tfvideo.models.networks`), as the original's `init_weights`. The Linear and LSTM layers of the frame predictor,
posterior and prior:
- "keras" (default): Keras' defaults. Dense kernels glorot-uniform, zero biases; LSTMCell: glorot-uniform kernel,
  orthogonal recurrent kernel, one bias, zero but 1 on the forget gate.
- "pytorch" (the paper configs): the original's, which applies `init_weights` to every module after PyTorch built
  it. Linear layers (embeddings, heads): kernel ~ N(0, 0.02), bias 0 (`layers_lib.init_weights_dense`); the
  LSTMCells, which `init_weights` leaves alone, keep nn.LSTMCell's default (`layers_lib.PyTorchLSTMCell`): kernel,
  recurrent kernel and two trainable bias vectors b_ih, b_hh ~ U(-1/sqrt(rnn_size), 1/sqrt(rnn_size)).
  Checkpoints of the two settings have different LSTM variables.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.models import actions as actions_lib
from tfvideo.models import base
from tfvideo.models import distributions as dist_lib
from tfvideo.models import layers as layers_lib
from tfvideo.models import networks


@keras.saving.register_keras_serializable(package="tfvideo")
class GaussianLSTM(keras.layers.Layer):
    """Linear embedding -> one LSTMCell -> Linear to [mu, logvar]: SVG's `gaussian_lstm` with one layer.
    `initialization`: see the module docstring, "Initialisation"."""

    def __init__(self, hidden_size: int, output_size: int, initialization: str = "keras", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.initialization = layers_lib.check_initialization(initialization)
        self.embed = layers_lib.init_weights_dense(hidden_size, initialization, name="embed")
        self.cell = layers_lib.lstm_cell(hidden_size, initialization, name="lstm")
        self.head = layers_lib.init_weights_dense(2 * output_size, initialization, name="head")

    def zero_state(self, batch_size, dtype=tf.float32) -> list[tf.Tensor]:
        return layers_lib.lstm_zero_state(self.cell, batch_size, dtype)

    def step(self, inputs, state):
        """One step: inputs [N, D], state [h, c] -> (params [N, 2 d], new state)."""
        out, state = self.cell(self.embed(inputs), state)
        return self.head(out), list(state)

    def call(self, inputs):
        """A whole sequence from the zero state: inputs [B, T, D] -> params [B, T, 2 d]."""
        state = self.zero_state(tf.shape(inputs)[0], inputs.dtype)
        return self.head(layers_lib.run_cell(self.cell, self.embed(inputs), state))

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "output_size": self.output_size,
                "initialization": self.initialization}


@keras.saving.register_keras_serializable(package="tfvideo")
class GroupedGaussianLSTM(keras.layers.Layer):
    """z = [z^1, ..., z^G] from G GaussianLSTMs; group j reads [h, z^1, ..., z^{j-1}] (HAF-SVG eq. 4).

    With G = 1 this is SVG-LP's posterior / prior. Recurrent states are flat lists [h_1, c_1, ..., h_G, c_G].
    Every method returns the Normal over all G * d dimensions and the z that was used: either the given `z`
    (to condition the later groups on someone else's samples, e.g. the prior on the posterior's in training)
    or samples drawn group by group as mu_j + sigma_j * noise_j, with the groups listed in `zeroed` (numbered
    1..G as in the paper) fixed to zero.
    """

    def __init__(self, hidden_size: int, group_size: int, num_groups: int = 1, initialization: str = "keras",
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.group_size = group_size
        self.num_groups = num_groups
        self.initialization = layers_lib.check_initialization(initialization)
        layers_lib.track_layers(self, "group", [GaussianLSTM(hidden_size, group_size, initialization,
                                                             name=f"group{j + 1}") for j in range(num_groups)])

    @property
    def groups(self) -> list[GaussianLSTM]:
        return layers_lib.tracked_layers(self, "group", self.num_groups)

    def zero_state(self, batch_size, dtype=tf.float32) -> list[tf.Tensor]:
        return [s for group in self.groups for s in group.zero_state(batch_size, dtype)]

    def step(self, h, state, z=None, noise=None, zeroed=()):
        """One time step. h [N, D]; z or noise [N, G d]. Returns (Normal [N, G d], z [N, G d], new state)."""
        new_state = []

        def run(j, group, inputs):
            params, group_state = group.step(inputs, state[2 * j:2 * j + 2])
            new_state.extend(group_state)
            return params

        dist, z = self._run(h, run, z, noise, zeroed)
        return dist, z, new_state

    def call(self, h, z=None, noise=None, zeroed=()):
        """A whole sequence from the zero state. h [B, T, D]; z or noise [B, T, G d] -> (Normal, z)."""
        return self._run(h, lambda j, group, inputs: group(inputs), z, noise, zeroed)

    def _run(self, h, run_group, z, noise, zeroed):
        if (z is None) == (noise is None):
            raise ValueError("Give exactly one of z (to condition on) and noise (to sample).")
        d = self.group_size
        params, chosen = [], []
        for j, group in enumerate(self.groups):
            p = run_group(j, group, tf.concat([h, *chosen], axis=-1) if chosen else h)
            params.append(p)
            if z is not None:
                z_j = z[..., j * d:(j + 1) * d]
            elif j + 1 in zeroed:
                z_j = tf.zeros_like(p[..., :d])
            else:
                z_j = dist_lib.sample_with_noise(dist_lib.normal_from_mean_logvar(p), noise[..., j * d:(j + 1) * d])
            chosen.append(z_j)
        if len(params) == 1:
            return dist_lib.normal_from_mean_logvar(params[0]), chosen[0]
        means = tf.concat([p[..., :d] for p in params], axis=-1)
        logvars = tf.concat([p[..., d:] for p in params], axis=-1)
        return dist_lib.normal_from_mean_logvar(tf.concat([means, logvars], axis=-1)), tf.concat(chosen, axis=-1)

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "group_size": self.group_size,
                "num_groups": self.num_groups, "initialization": self.initialization}


@keras.saving.register_keras_serializable(package="tfvideo")
class FramePredictor(keras.layers.Layer):
    """SVG's frame predictor: Linear embedding -> `num_layers` stacked LSTMCells -> Linear -> tanh.
    `initialization`: see the module docstring, "Initialisation"."""

    def __init__(self, hidden_size: int, output_size: int, num_layers: int = 2, initialization: str = "keras",
                 **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.initialization = layers_lib.check_initialization(initialization)
        self.embed = layers_lib.init_weights_dense(hidden_size, initialization, name="embed")
        layers_lib.track_layers(self, "lstm", [layers_lib.lstm_cell(hidden_size, initialization, name=f"lstm{i + 1}")
                                               for i in range(num_layers)])
        self.head = layers_lib.init_weights_dense(output_size, initialization, activation="tanh", name="head")

    @property
    def cells(self) -> list[keras.layers.Layer]:
        return layers_lib.tracked_layers(self, "lstm", self.num_layers)

    def zero_state(self, batch_size, dtype=tf.float32) -> list[tf.Tensor]:
        return [s for cell in self.cells for s in layers_lib.lstm_zero_state(cell, batch_size, dtype)]

    def step(self, inputs, state):
        """One step: inputs [N, D], state [h_1, c_1, ..., h_L, c_L] -> (g [N, output_size], new state)."""
        x, new_state = self.embed(inputs), []
        for i, cell in enumerate(self.cells):
            x, cell_state = cell(x, state[2 * i:2 * i + 2])
            new_state.extend(cell_state)
        return self.head(x), new_state

    def call(self, inputs):
        """A whole sequence from the zero state: inputs [B, T, D] -> g [B, T, output_size]."""
        x = self.embed(inputs)
        for cell in self.cells:
            x = layers_lib.run_cell(cell, x, layers_lib.lstm_zero_state(cell, tf.shape(inputs)[0], inputs.dtype))
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size, "output_size": self.output_size,
                "num_layers": self.num_layers, "initialization": self.initialization}


@keras.saving.register_keras_serializable(package="tfvideo")
class SVG(base.VideoPredictor):
    """SVG-LP as a Keras model. Videos are float32 [B, T, H, W, C] in [0, 1], H = W = 64.

    `conditioning_frames` (P) is the training context length: it chooses which frame's skips decode the training
    frames (`skip_frame_indices`) and, in HAF-SVG, the first frame of the loss (`first_loss_frame`); at
    generation the context is whatever is given.
    """

    loss_term_names = ("loss", "reconstruction", "kl_z")
    needs_conditioning_frames = True  # build_model passes config.data.conditioning_frames
    config_class = config_lib.SVGConfig

    def __init__(self, model_config, image_size: int = 64, channels: int = 1, conditioning_frames: int = 5,
                 **kwargs):
        super().__init__(model_config, image_size=image_size, channels=channels, **kwargs)
        if image_size != networks.IMAGE_SIZE:
            raise ValueError(f"{type(self).__name__}'s encoders and decoders take {networks.IMAGE_SIZE}x"
                             f"{networks.IMAGE_SIZE} frames; got image_size={image_size}. Resize the dataset to 64.")
        if isinstance(conditioning_frames, bool) or int(conditioning_frames) < 1:
            raise ValueError(f"conditioning_frames must be >= 1; got {conditioning_frames!r}.")
        self._check_variant(model_config)
        cfg = model_config
        self.conditioning_frames = int(conditioning_frames)
        self.group_size = cfg.noise_size
        self.num_groups = getattr(cfg, "num_groups", 1)  # SVG-LP: one group (HAFSVGConfig has num_groups)
        self.encoder = networks.FrameEncoder(cfg.architecture, cfg.encoding_size, cfg.base_channels, cfg.networks,
                                             name="encoder")
        self.decoder = self._make_decoder()
        init = cfg.initialization  # module docstring, "Initialisation"
        self.posterior = GroupedGaussianLSTM(cfg.rnn_size, cfg.noise_size, self.num_groups, init, name="posterior")
        self.prior = GroupedGaussianLSTM(cfg.rnn_size, cfg.noise_size, self.num_groups, init, name="prior")
        self.predictor = FramePredictor(cfg.rnn_size, cfg.encoding_size, cfg.predictor_layers, init,
                                        name="predictor")

    def _check_variant(self, cfg) -> None:
        """ValueError for a config the model cannot build (HAF-SVG: the aligner without skip connections)."""

    def _make_decoder(self) -> keras.layers.Layer:
        cfg = self.model_config
        return networks.FrameDecoder(cfg.architecture, self.channels, cfg.base_channels, cfg.skip_connections,
                                     cfg.networks, name="decoder")

    def get_config(self):
        return {**super().get_config(), "conditioning_frames": self.conditioning_frames}

    @property
    def z_size(self) -> int:
        return self.num_groups * self.group_size

    # ------------------------------------------------------------------------------------ contract
    def noise_shapes(self, batch_size, num_samples, context_length, num_steps):
        """{"z": [B*S, num_steps, G * nz]}: entry t is the noise of the step into frame t + 1 (posterior in the
        context, t < Tc - 1; prior afterwards)."""
        return {"z": tf.stack([batch_size * num_samples, num_steps, self.z_size])}

    # ------------------------------------------------------------------------------------ building blocks
    def encode(self, videos, training=False):
        """videos [B, T, H, W, C] -> {"encoding": [B, T, g], "skips": list of [B, T, h, w, c], deepest first}."""
        shape = tf.shape(videos)
        flat = tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0))
        out = self.encoder(flat, training=training)
        # ensure_shape: the reshapes lose the static sizes, without which TFLite's converter cannot lower the
        # decoder's convolutions of concat[h, skip] to builtins (as in SRVP.decode).
        unflat = lambda t: tf.ensure_shape(tf.reshape(t, tf.concat([shape[:2], tf.shape(t)[1:]], axis=0)),
                                           [None, None, *t.shape[1:]])
        return {"encoding": unflat(out["encoding"]), "skips": [unflat(s) for s in out["skips"]]}

    def decode(self, g, skips=None, training=False):
        """Frames [B, F, H, W, C] from predictor outputs g [B, F, g] and skips (list of [B, F, h, w, c]) or None."""
        shape = tf.shape(g)
        flat = tf.reshape(g, [-1, g.shape[-1]])
        flat_skips = None if skips is None else [
            tf.ensure_shape(tf.reshape(s, tf.concat([[-1], tf.shape(s)[2:]], 0)), [None, *s.shape[2:]]) for s in skips]
        frames = self.decoder(flat, flat_skips, training=training)
        return tf.reshape(frames, tf.concat([shape[:2], tf.shape(frames)[1:]], axis=0))

    def skip_frame_indices(self, num_frames):
        """[T - 1] int32: the frame whose skips decode frame t = 1..T-1, the last observed one, min(t - 1, P - 1)."""
        return tf.minimum(tf.range(num_frames - 1), self.conditioning_frames - 1)

    # ------------------------------------------------------------------------------------ training
    def compute_loss_terms(self, videos, training=False):
        """Negative ELBO terms of videos [B, T, H, W, C], or {"frames": videos, "actions": [B, T, A]} for an
        action-conditioned model (module docstring), posterior noise from the seed generator."""
        videos, actions = actions_lib.split_batch(videos)
        shape = tf.shape(videos)
        noise = base.per_example(keras.random.normal, tf.stack([shape[0], shape[1] - 1, self.z_size]),
                                 seed=self.noise_seed)
        return self.elbo_terms(videos, noise, training=training, actions=actions)

    def first_loss_frame(self) -> int:
        """The first frame t (0-based) whose reconstruction and KL enter the loss: 1, every frame but the first,
        as SVG's code (HAF-SVG: the first predicted frame)."""
        return 1

    def elbo_terms(self, videos, z_noise, training=False, actions=None):
        """Loss terms with explicit posterior noise z_noise [B, T - 1, G * nz] (entry t - 1 for frame t) and raw
        actions [B, T, A] (action-conditioned models only; a_{t-1} enters the step into frame t)."""
        encoded = self.encode(videos, training=training)
        h = encoded["encoding"]
        a = self.model_actions(actions)
        a = None if a is None else a[:, :-1]
        q, z = self.posterior(h[:, 1:], noise=z_noise)
        p, _ = self.prior(actions_lib.with_action(h[:, :-1], a), z=z)
        g = self.predictor(actions_lib.with_action(tf.concat([h[:, :-1], z], axis=-1), a))
        # Entry of the first frame in the loss among the [T - 1] per-frame terms; videos with no frame after it
        # (the 2-frame videos `initialize` creates the variables with) are scored on their last frame.
        first = tf.minimum(self.first_loss_frame(), tf.shape(videos)[1] - 1) - 1
        skips = None
        if self.model_config.skip_connections:
            index = self.skip_frame_indices(tf.shape(videos)[1])[first:]
            skips = [tf.gather(s, index, axis=1) for s in encoded["skips"]]
        frames = self.decode(g[:, first:], skips, training=training)  # only the frames the loss reads
        squared = tf.square(frames - videos[:, 1 + first:])
        reconstruction = tf.reduce_sum(tf.reduce_mean(squared, axis=[0, 2, 3, 4]))
        kl_z = tf.reduce_mean(tf.reduce_sum(dist_lib.kl_summed(q, p)[:, first:], axis=1))
        loss = reconstruction + self.model_config.beta_z * kl_z
        return {"loss": loss, "reconstruction": reconstruction, "kl_z": kl_z}

    # ------------------------------------------------------------------------------------ generation
    def sample_futures(self, context, num_samples, horizon, steps_per_frame, noise, include_intermediate=False,
                       zeroed_groups=(), actions=None):
        """Futures [B, S, horizon, H, W, C] of context [B, Tc, H, W, C]; see `VideoPredictor.generate`.

        noise: {"z": [B*S, >= Tc - 1 + horizon, G * nz]} standard normal, row b*S + s for sample s of video b.
        steps_per_frame and include_intermediate are ignored: this discrete-time model only runs at dt = 1
        (`generate` rejects any other dt). zeroed_groups: groups of z (1..G) fixed to zero in the future frames
        (HAF-SVG's ablation; `HAFSVG.generate`). actions: raw [B, >= Tc - 1 + horizon, A] for an
        action-conditioned model (`tfvideo.models.actions`), else None.
        """
        del steps_per_frame, include_intermediate
        batch, num_context = tf.shape(context)[0], tf.shape(context)[1]
        encoded = self.encode(context)
        tile = lambda t: tf.repeat(t, num_samples, axis=0)
        h = tile(encoded["encoding"])
        skips = [tile(s[:, -1]) for s in encoded["skips"]] if self.model_config.skip_connections else None
        a = self.model_actions(actions, num_samples)
        prior_state, predictor_state = self.read_context(h, noise["z"], a)
        frames = self.rollout(h[:, -1], prior_state, predictor_state, skips, horizon,
                              noise["z"][:, num_context - 1:], tuple(zeroed_groups),
                              None if a is None else a[:, num_context - 1:])
        return tf.reshape(frames, tf.concat([[batch, num_samples], tf.shape(frames)[1:]], axis=0))

    def read_context(self, h, z_noise, actions=None):
        """Steps the posterior, prior and predictor through context encodings h [N, Tc, g] with z from the
        posterior (noise z_noise[:, t] for the step into frame t + 1) and normalised actions [N, >= Tc - 1, A]
        (None without actions). Returns (prior state, predictor state)."""
        rows = tf.shape(h)[0]

        def body(t, posterior_state, prior_state, predictor_state):
            action = actions_lib.at(actions, t)
            _, z, posterior_state = self.posterior.step(h[:, t + 1], posterior_state, noise=z_noise[:, t])
            _, _, prior_state = self.prior.step(actions_lib.with_action(h[:, t], action), prior_state, z=z)
            _, predictor_state = self.predictor.step(
                actions_lib.with_action(tf.concat([h[:, t], z], axis=-1), action), predictor_state)
            return t + 1, posterior_state, prior_state, predictor_state

        init = (tf.constant(0), self.posterior.zero_state(rows), self.prior.zero_state(rows),
                self.predictor.zero_state(rows))
        _, _, prior_state, predictor_state = tf.while_loop(lambda t, *_: t < tf.shape(h)[1] - 1, body, init)
        return prior_state, predictor_state

    def rollout(self, h, prior_state, predictor_state, skips, horizon, z_noise, zeroed_groups=(), actions=None):
        """Autoregressive future of `horizon` frames [N, horizon, H, W, C] from h [N, g], the encoding of the last
        observed frame, and the states after the context; z_noise [N, >= horizon, G * nz]; normalised actions
        [N, >= horizon, A] (entry t into future frame t + 1) or None. Each predicted frame is decoded with the
        fixed `skips` (list of [N, h, w, c] or None) and re-encoded for the next step."""
        size = self.image_size
        acc = tf.zeros([tf.shape(h)[0], 0, size, size, self.channels], h.dtype)

        def body(t, h, prior_state, predictor_state, acc):
            action = actions_lib.at(actions, t)
            _, z, prior_state = self.prior.step(actions_lib.with_action(h, action), prior_state, noise=z_noise[:, t],
                                                zeroed=zeroed_groups)
            g, predictor_state = self.predictor.step(actions_lib.with_action(tf.concat([h, z], axis=-1), action),
                                                     predictor_state)
            frame = self.decoder(g, skips)
            h = tf.cond(t + 1 < horizon, lambda: self.encoder(frame)["encoding"], lambda: h)  # none after the last
            return t + 1, h, prior_state, predictor_state, tf.concat([acc, frame[:, None]], axis=1)

        shapes = lambda states: [tf.TensorShape([None, s.shape[-1]]) for s in states]
        invariants = (tf.TensorShape([]), tf.TensorShape([None, h.shape[-1]]), shapes(prior_state),
                      shapes(predictor_state), tf.TensorShape([None, None, size, size, self.channels]))
        result = tf.while_loop(lambda t, *_: t < horizon, body, (tf.constant(0), h, prior_state, predictor_state, acc),
                               shape_invariants=invariants)
        return result[-1]
