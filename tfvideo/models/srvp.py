"""SRVP: Stochastic Latent Residual Video Prediction (Franceschi et al., ICML 2020).

Generative model (paper eq. 1-3), with Euler step dt = 1/k and frames x_1..x_T:

    y_1 ~ N(0, I)
    z_{t+1} ~ p(z | y_t) = N(mu(y_t), diag sigma(y_t)^2)                  (prior MLP)
    y_{t+dt} = y_t + dt * f(y_t, z_{floor(t)+1})   (k sub-steps per frame, z fixed between frames)
    w = c(x_{i_1}, ..., x_{i_K}) = tanh(W2 sum_j relu(W1 h(x_{i_j})))    (content, permutation invariant)
    x_t ~ N(g(y_t, w), obs_scale^2 I)                                    (decoder g)

Inference (eq. 6): q(y_1 | x_1:K) = N(MLP([h(x_1), ..., h(x_K)])), q(z_t | x_1:t) = N(Linear(LSTM(h(x_1:t)))).
In training the K content frames are drawn at random from the whole sequence; at test time they are the
last K conditioning frames. Skip connections (optional) come from one random frame in training and from
the last conditioning frame at test time.

Objective (eq. 7-8), summed over frames and pixels and averaged over the batch, minimised:

    loss = -sum_t log N(x_t | g(y_t, w), obs_scale)              ("nll")
           + beta_y * KL(q(y_1) || N(0, I))                       ("kl_y")
           + beta_z * sum_{t>=2} KL(q(z_t | x_1:t) || p(z_t | y_{t-1}))   ("kl_z")
           + l2_residual * sum_{sub-steps} ||y_{s+dt} - y_s||_2    ("l2_residual", un-squared as in the code)

Action conditioning (`--action_conditioned`, `tfvideo.models.actions`): with a_t [A] the action taken at frame
x_t (it moves x_t to x_{t+1}), normalised by the training set's statistics, the prior and f read it:

    z_{t+1} ~ p(z | y_t, a_t) = N(mu(y_t, a_t), diag sigma(y_t, a_t)^2)        (prior MLP on [y_t, a_t])
    y_{t+dt} = y_t + dt * f(y_t, z_{floor(t)+1}, a_{floor(t)})                  (f on [y_t, z, a_t])

a_t is held over the k Euler steps from frame t to t + 1, as z is. The ELBO is the one above with
KL(q(z_t | x_1:t) || p(z_t | y_{t-1}, a_{t-1})) in kl_z and the states rolled out with the actions; q(y_1), q(z)
and the content do not read them (they see the frames). The mlp and gru ablations take [.., a_t] as extra input.
With actions the model exports `predict` and the streaming pair (`stream_next` takes the next action), not
latents, decode or content_swap.

Ablations: `dynamics` = residual (above) | mlp (y_{t+1} = f(y_t, z)) | gru (y_{t+1} = GRU(z, y_t));
`use_content=False` decodes g(y_t) alone; `stochastic=False` drops z (f(y_t) only, no kl_z).

Initialisation (ModelConfig.initialization). In both settings the encoder and decoder convolutions are
~ N(0, 0.02) and batch-norm gammas ~ N(1, 0.02) (tfvideo.models.networks), f's kernels are orthogonal with gain
residual_gain and its biases zero, as the original code's `init` sets them; the GRU ablation keeps Keras' GRUCell.
The other layers, which the original leaves at PyTorch's defaults:
- "keras" (default): Keras' defaults. Dense kernels glorot-uniform U(-sqrt(6 / (fan_in + fan_out)), +...), zero
  biases; the q(z) LSTMCell: glorot-uniform kernel, orthogonal recurrent kernel, one bias, zero but 1 on the forget
  gate. Every layer of an MLP draws its kernel independently (`layers_lib.reseeded`), equal-shaped ones too.
- "pytorch": the original's. Content network, q(y_1) MLP, q(z) head and p(z|y) MLP: kernel and bias
  ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (nn.Linear; layers_lib.PyTorchDense); q(z) LSTM (layers_lib.PyTorchLSTMCell):
  kernel, recurrent kernel and two bias vectors b_ih, b_hh ~ U(-1/sqrt(hidden), 1/sqrt(hidden)), both biases
  trainable, so the effective bias b_ih + b_hh gets two Adam updates per step (nn.LSTM). Every layer of f draws
  its own orthogonal matrix. Checkpoints of the two settings have different variables.
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
from tfvideo.models import serving
from tfvideo.models import srvp_streaming


@keras.saving.register_keras_serializable(package="tfvideo")
class SRVP(base.VideoPredictor):
    """SRVP as a Keras model. Videos are float32 [B, T, H, W, C] in [0, 1], H = W = 64."""

    loss_term_names = ("loss", "nll", "kl_y", "kl_z", "l2_residual")
    config_class = config_lib.SRVPConfig

    def __init__(self, model_config, image_size: int = 64, channels: int = 1, **kwargs):
        super().__init__(model_config, image_size=image_size, channels=channels, **kwargs)
        if image_size != networks.IMAGE_SIZE:
            raise ValueError(f"SRVP's encoders and decoders take {networks.IMAGE_SIZE}x{networks.IMAGE_SIZE} "
                             f"frames; got image_size={image_size}. Resize the dataset to 64.")
        cfg = model_config
        self.frame_seed = keras.random.SeedGenerator(name="frame_seed")
        self.encoder = networks.FrameEncoder(cfg.architecture, cfg.encoding_size, cfg.base_channels, name="encoder")
        self.decoder = networks.FrameDecoder(cfg.architecture, channels, cfg.base_channels, cfg.skip_connections,
                                             name="decoder")
        init = cfg.initialization  # module docstring, "Initialisation"
        self.content = layers_lib.ContentEncoder(cfg.inference_hidden_size, init, name="content") \
            if cfg.use_content else None
        self.initial_state_posterior = layers_lib.MLP(cfg.inference_hidden_size, 2 * cfg.latent_size,
                                                      cfg.inference_layers, initialization=init, name="q_y1")
        res_init = keras.initializers.Orthogonal(gain=cfg.residual_gain)
        if cfg.stochastic:
            self.posterior_lstm = layers_lib.lstm_cell(cfg.inference_hidden_size, init, name="q_z_lstm")
            self.posterior_head = layers_lib.dense(2 * cfg.noise_size, init, name="q_z")
            self.prior = layers_lib.MLP(cfg.dynamics_hidden_size, 2 * cfg.noise_size, cfg.dynamics_layers,
                                        initialization=init, name="p_z")
        if cfg.dynamics == "gru":
            self.transition = keras.layers.GRUCell(cfg.latent_size, name="dynamics")
        else:
            self.transition = layers_lib.MLP(cfg.dynamics_hidden_size, cfg.latent_size, cfg.dynamics_layers,
                                             kernel_initializer=res_init, initialization=init, name="dynamics")

    # ------------------------------------------------------------------------------------ contract
    def noise_shapes(self, batch_size, num_samples, context_length, num_steps):
        """{"y1": [B*S, ny], "z": [B*S, num_steps, nz]} (no "z" without stochastic dynamics)."""
        rows = batch_size * num_samples
        shapes = {"y1": tf.stack([rows, self.model_config.latent_size])}
        if self.model_config.stochastic:
            shapes["z"] = tf.stack([rows, num_steps, self.model_config.noise_size])
        return shapes

    # ------------------------------------------------------------------------------------ building blocks
    def encode(self, videos, training=False):
        """videos [B, T, H, W, C] -> {"encoding": [B, T, E], "skips": list of [B, T, h, w, c]}."""
        shape = tf.shape(videos)
        flat = tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0))
        out = self.encoder(flat, training=training)
        unflat = lambda t: tf.reshape(t, tf.concat([shape[:2], tf.shape(t)[1:]], axis=0))
        return {"encoding": unflat(out["encoding"]), "skips": [unflat(s) for s in out["skips"]]}

    def infer_content(self, encoding):
        """Content w [B, W] from the encodings [B, K, E] of K frames (None when the model has no content)."""
        return None if self.content is None else self.content(encoding)

    def infer_initial_state(self, encoding) -> dist_lib.tfd.Normal:
        """q(y_1 | x_1:K) with batch shape [B, ny], from the first K = inference_frames encodings [B, >=K, E]."""
        first = encoding[:, :self.model_config.inference_frames]
        flat = tf.reshape(first, [tf.shape(first)[0], self.model_config.inference_frames * first.shape[-1]])
        return dist_lib.normal_from_params(self.initial_state_posterior(flat))

    def posterior_params(self, encoding):
        """Parameters [B, T, 2 nz] of q(z_t | x_1:t); entry t serves the step into frame t (t >= 1)."""
        state = layers_lib.lstm_zero_state(self.posterior_lstm, tf.shape(encoding)[0], encoding.dtype)
        return self.posterior_head(layers_lib.run_cell(self.posterior_lstm, encoding, state))

    def prior_distribution(self, y, action=None) -> dist_lib.tfd.Normal:
        """p(z_{t+1} | y_t (, a_t)), batch shape [B, nz], from states y [B, ny] and normalised actions [B, A]
        (action-conditioned models only)."""
        return dist_lib.normal_from_params(self.prior(actions_lib.with_action(y, action)))

    def advance(self, y, z, steps_per_frame, record_substeps=False, action=None):
        """Moves y [B, ny] by one frame in `steps_per_frame` Euler steps with z [B, nz] (or None) and the frame's
        normalised action [B, A] (None without actions), both held over the k steps.

        Returns {"y": [B, ny], "increment_norm": [B] (sum over sub-steps of ||y_{s+dt} - y_s||),
                 "substeps": [B, k, ny] states after each sub-step (only with record_substeps)}.
        """
        if isinstance(steps_per_frame, int):
            return self._advance_unrolled(y, z, steps_per_frame, record_substeps, action)
        dt = 1.0 / tf.cast(steps_per_frame, y.dtype)
        acc = tf.zeros([tf.shape(y)[0], 0, y.shape[-1]], y.dtype)

        def body(s, y, norm, acc):
            y_next = self.euler_step(y, z, dt, action)
            norm += euclidean_norm(y_next - y)
            if record_substeps:
                acc = tf.concat([acc, y_next[:, None]], axis=1)
            return s + 1, y_next, norm, acc

        _, y, norm, acc = tf.while_loop(
            lambda s, *_: s < steps_per_frame, body, (tf.constant(0), y, tf.zeros(tf.shape(y)[:1], y.dtype), acc),
            shape_invariants=(tf.TensorShape([]), y.shape, tf.TensorShape([None]),
                              tf.TensorShape([None, None, y.shape[-1]])))
        return {"y": y, "increment_norm": norm, "substeps": acc}

    def _advance_unrolled(self, y, z, steps_per_frame: int, record_substeps: bool, action=None):
        dt = 1.0 / steps_per_frame
        norm, states = 0.0, []
        for _ in range(steps_per_frame):
            y_next = self.euler_step(y, z, dt, action)
            norm += euclidean_norm(y_next - y)
            y = y_next
            states.append(y)
        return {"y": y, "increment_norm": norm, "substeps": tf.stack(states, 1) if record_substeps else None}

    def euler_step(self, y, z, dt, action=None):
        """One Euler step of the chosen dynamics: y [B, ny], z [B, nz] (or None), normalised action [B, A] (or
        None) -> [B, ny] (dt ignored by the discrete mlp and gru dynamics)."""
        kind = self.model_config.dynamics
        if kind == "gru":
            return self.transition(actions_lib.with_action(y if z is None else z, action), [y])[0]
        inputs = actions_lib.with_action(y if z is None else tf.concat([y, z], axis=-1), action)
        if kind == "mlp":
            return self.transition(inputs)
        return y + dt * self.transition(inputs)

    def decode(self, states, content, skips=None, training=False):
        """Frames [B, F, H, W, C] from states [B, F, ny], content [B, W] (or None), skips list of [B, h, w, c]."""
        shape = tf.shape(states)
        inputs = states
        if content is not None:
            tiled = tf.broadcast_to(content[:, None], tf.concat([shape[:2], tf.shape(content)[1:]], axis=0))
            inputs = tf.concat([tiled, states], axis=-1)
        flat_inputs = tf.reshape(inputs, [-1, inputs.shape[-1]])
        flat_skips = None
        if skips is not None:
            # ensure_shape: the reshape loses the static channel counts, without which TFLite's converter cannot
            # lower the decoder's convolutions of concat[h, skip] to builtins.
            flat_skips = [tf.ensure_shape(
                tf.reshape(tf.broadcast_to(s[:, None], tf.concat([shape[:2], tf.shape(s)[1:]], 0)),
                           tf.concat([[-1], tf.shape(s)[1:]], 0)), [None, *s.shape[1:]]) for s in skips]
        frames = self.decoder(flat_inputs, flat_skips, training=training)
        return tf.reshape(frames, tf.concat([shape[:2], tf.shape(frames)[1:]], axis=0))

    # ------------------------------------------------------------------------------------ training
    def compute_loss_terms(self, videos, training=False):
        """Negative ELBO terms of videos [B, T, H, W, C] (T static), each a scalar averaged over the batch."""
        cfg = self.model_config
        k = cfg.steps_per_frame
        videos, actions = actions_lib.split_batch(videos)
        actions = self.model_actions(actions)
        encoded = self.encode(videos, training=training)
        encoding = encoded["encoding"]
        skips = self._select_skips(encoded["skips"], training) if cfg.skip_connections else None
        content = self.infer_content(self._select_content_frames(encoding, training))
        q_y = self.infer_initial_state(encoding)
        noise = base.per_example(keras.random.normal, tf.shape(q_y.loc), seed=self.noise_seed)
        y = dist_lib.sample_with_noise(q_y, noise)
        rollout = self._posterior_rollout(y, encoding, k, actions)
        reconstruction = self.decode(rollout["states"], content, skips, training=training)
        nll = tf.reduce_mean(dist_lib.gaussian_nll(reconstruction, videos, cfg.obs_scale))
        kl_y = tf.reduce_mean(dist_lib.kl_summed(q_y, dist_lib.standard_normal_like(q_y)))
        kl_z = tf.reduce_mean(rollout["kl_z"])
        l2_residual = tf.reduce_mean(rollout["increment_norm"])
        loss = nll + cfg.beta_y * kl_y + cfg.beta_z * kl_z + cfg.l2_residual * l2_residual
        return {"loss": loss, "nll": nll, "kl_y": kl_y, "kl_z": kl_z, "l2_residual": l2_residual}

    def _posterior_rollout(self, y, encoding, steps_per_frame: int, actions=None):
        """States [B, T, ny] with z from the posterior (and normalised actions [B, T, A], a_{t-1} into frame t);
        also per-video kl_z [B] and increment norms [B]."""
        num_frames = encoding.shape[1]
        post = self.posterior_params(encoding) if self.model_config.stochastic else None
        states, kl_z, norm = [y], 0.0, 0.0
        for t in range(1, num_frames):
            z, action = None, actions_lib.at(actions, t - 1)
            if post is not None:
                q_z = dist_lib.normal_from_params(post[:, t])
                noise = base.per_example(keras.random.normal, tf.shape(q_z.loc), seed=self.noise_seed)
                z = dist_lib.sample_with_noise(q_z, noise)
                kl_z += dist_lib.kl_summed(q_z, self.prior_distribution(y, action))
            step = self.advance(y, z, steps_per_frame, action=action)
            y, norm = step["y"], norm + step["increment_norm"]
            states.append(y)
        kl_z = kl_z if post is not None else tf.zeros(tf.shape(y)[:1])
        return {"states": tf.stack(states, axis=1), "kl_z": kl_z, "increment_norm": norm}

    def _select_content_frames(self, encoding, training):
        """[B, K, E]: K random distinct frames per video in training, the last K otherwise."""
        num = self.model_config.inference_frames
        if not training:
            return encoding[:, -num:]
        scores = base.per_example(keras.random.uniform, tf.shape(encoding)[:2], seed=self.frame_seed)
        order = tf.argsort(scores, axis=1)[:, :num]
        return tf.gather(encoding, order, batch_dims=1)

    def _select_skips(self, skips, training):
        """Skip tensors [B, h, w, c] of one random frame per video in training, of the last frame otherwise."""
        if not training:
            return [s[:, -1] for s in skips]
        shape = tf.shape(skips[0])
        index = base.per_example(keras.random.randint, shape[:1], 0, shape[1], seed=self.frame_seed)
        return [tf.gather(s, index, batch_dims=1) for s in skips]

    # ------------------------------------------------------------------------------------ generation
    def infer(self, context):
        """Everything SRVP infers from context [B, Tc, H, W, C] (Tc >= inference_frames).

        Returns {"encoding": [B, Tc, E], "y1": q(y_1) Normal with batch shape [B, ny], "content": [B, W] or None,
                 "skips": list of [B, h, w, c] or None, "posterior": [B, Tc - 1, 2 nz] or None}.
        """
        encoded = self.encode(context, training=False)
        encoding = encoded["encoding"]
        return {
            "encoding": encoding,
            "y1": self.infer_initial_state(encoding),
            "content": self.infer_content(self._select_content_frames(encoding, training=False)),
            "skips": self._select_skips(encoded["skips"], False) if self.model_config.skip_connections else None,
            "posterior": self.posterior_params(encoding)[:, 1:] if self.model_config.stochastic else None,
        }

    def sample_futures(self, context, num_samples, horizon, steps_per_frame, noise, include_intermediate=False,
                       actions=None):
        """Futures [B, S, F, H, W, C] of context [B, Tc, H, W, C]; see `VideoPredictor.generate`.

        noise: {"y1": [B*S, ny], "z": [B*S, >= Tc - 1 + horizon, nz]} standard normal, row b*S + s for sample s
        of video b. F = horizon, or horizon * steps_per_frame with include_intermediate. actions: raw
        [B, >= Tc - 1 + horizon, A] for an action-conditioned model (`tfvideo.models.actions`), else None.
        """
        inferred = self.infer(context)
        states = self.sample_states(inferred, num_samples, horizon, steps_per_frame, noise, include_intermediate,
                                    self.model_actions(actions, num_samples))
        return self.render(states, inferred, num_samples)

    def sample_states(self, inferred, num_samples, horizon, steps_per_frame, noise, include_intermediate=False,
                      actions=None):
        """Future latent states [B*S, F, ny] (row b*S + s: sample s of video b) from `infer(context)`: y_1 drawn
        from q(y_1), z from the posterior through the Tc context frames, then from the prior; `noise` and F as
        in `sample_futures`; actions: normalised [B*S, >= Tc - 1 + horizon, A] (`model_actions`) or None."""
        tile = lambda t: None if t is None else tf.repeat(t, num_samples, axis=0)
        y = self.initial_state(inferred, num_samples, noise["y1"])
        length = inferred["encoding"].shape[1]
        if not (isinstance(horizon, int) and length is not None):  # a Python horizon unrolls the loops (`rollout`)
            length = tf.shape(inferred["encoding"])[1]
        return self.rollout(y, length - 1, horizon, steps_per_frame, tile(inferred["posterior"]), noise.get("z"),
                            include_intermediate, actions)

    def initial_state(self, inferred, num_samples, y1_noise):
        """y_1 [B*S, ny] drawn from q(y_1) of `infer(context)` with standard-normal y1_noise [B*S, ny]."""
        y1 = inferred["y1"]
        tile = lambda t: tf.repeat(t, num_samples, axis=0)
        return dist_lib.sample_with_noise(dist_lib.tfd.Normal(tile(y1.loc), tile(y1.scale)), y1_noise)

    def streaming_functions(self) -> serving.StreamingFunctions:
        """Frame-by-frame sampling with predict's futures (`tfvideo.models.srvp_streaming`)."""
        return srvp_streaming.streaming_functions(self)

    def render(self, states, inferred, num_samples):
        """Frames [B, S, F, H, W, C] of states [B*S, F, ny] (row b*S + s: sample s of video b), decoded with the
        content w and skips of `infer(context)` for B videos, each used for its S rows."""
        tile = lambda t: None if t is None else tf.repeat(t, num_samples, axis=0)
        skips = None if inferred["skips"] is None else [tile(s) for s in inferred["skips"]]
        frames = self.decode(states, tile(inferred["content"]), skips)
        batch = tf.shape(inferred["encoding"])[0]
        return tf.reshape(frames, tf.concat([[batch, num_samples], tf.shape(frames)[1:]], axis=0))

    def rollout(self, y, num_context, horizon, steps_per_frame, posterior=None, z_noise=None,
                include_intermediate=False, actions=None):
        """Latent trajectory from y_1 [N, ny]: `num_context` = Tc - 1 steps through the context with z from
        `posterior` [N, Tc - 1, 2 nz] (`context_state`), then `horizon` future steps with z ~ p(z | y)
        (`future_states`); z_noise [N, >= Tc - 1 + horizon, nz]. Returns the future states [N, F, ny],
        F = horizon (* steps_per_frame with include_intermediate). actions: normalised [N, >= num_context + horizon,
        A] (action t moves frame t to t + 1) or None.

        Which dt applies where: the context is integrated at the TRAINING dt (`model_config.dt`), whatever
        `steps_per_frame` asks, as the SRVP code infers the state at the last context frame; dt = 1 /
        steps_per_frame applies to the predicted frames only. So the state at the last context frame, and the
        first future frame's z, do not depend on the requested frame rate.

        Python ints for `num_context` and `horizon` (and `steps_per_frame`) unroll the loops: a graph of static
        shapes, as the fixed-shape TFLite export needs (`tfvideo.export.static_shape`)."""
        y = self.context_state(y, num_context, posterior, z_noise, actions)
        return self.future_states(y, num_context, horizon, steps_per_frame, z_noise, include_intermediate, actions)

    def context_state(self, y, num_context, posterior=None, z_noise=None, actions=None):
        """y [N, ny] at the last context frame: y_1 moved through `num_context` frames at the training dt, with z
        from `posterior` [N, >= num_context, 2 nz] and z_noise [N, >= num_context, nz] (None without z), and
        normalised actions [N, >= num_context, A] (None without actions)."""
        training_steps = self.model_config.steps_per_frame

        def context_body(t, y):
            z = None
            if posterior is not None:
                q_z = dist_lib.normal_from_params(posterior[:, t])
                z = dist_lib.sample_with_noise(q_z, z_noise[:, t])
            return t + 1, self.advance(y, z, training_steps, action=actions_lib.at(actions, t))["y"]

        if isinstance(num_context, int):
            for t in range(num_context):
                y = context_body(t, y)[1]
            return y
        return tf.while_loop(lambda t, _: t < num_context, context_body, (tf.constant(0), y))[1]

    def future_states(self, y, first_step, horizon, steps_per_frame, z_noise=None, include_intermediate=False,
                      actions=None):
        """States [N, F, ny] of `horizon` frames after y [N, ny], z ~ p(z | y, a) drawn with
        z_noise[:, first_step + t] for future frame t, with the normalised action actions[:, first_step + t]
        (actions [N, >= first_step + horizon, A], or None), in steps_per_frame Euler steps each; F = horizon
        (* steps_per_frame with include_intermediate)."""
        ny = y.shape[-1]
        acc = tf.zeros([tf.shape(y)[0], 0, ny], y.dtype)

        def future_body(t, y, acc):
            z, action = None, actions_lib.at(actions, first_step + t)
            if self.model_config.stochastic:
                z = dist_lib.sample_with_noise(self.prior_distribution(y, action), z_noise[:, first_step + t])
            step = self.advance(y, z, steps_per_frame, record_substeps=include_intermediate, action=action)
            new = step["substeps"] if include_intermediate else step["y"][:, None]
            return t + 1, step["y"], tf.concat([acc, new], axis=1)

        if isinstance(horizon, int) and isinstance(first_step, int):
            for t in range(horizon):
                _, y, acc = future_body(t, y, acc)
            return acc
        _, _, acc = tf.while_loop(lambda t, *_: t < horizon, future_body, (tf.constant(0), y, acc),
                                  shape_invariants=(tf.TensorShape([]), y.shape, tf.TensorShape([None, None, ny])))
        return acc

    # ------------------------------------------------------------------------------------ serving
    def extra_serving_functions(self) -> list[serving.ServingFunction]:
        """SRVP's exported functions besides `predict` (cheap: they reuse `infer`, `sample_states`, `render`):

        - `latents`: the latent trajectory behind `predict`'s frames for the same inputs and seed, with q(y_1)
          and the content variable w (latent-space analysis, interpolation, custom decoding).
        - `decode`: frames of latent states [B, S, F, ny], with w and skips from a context; `decode(context,
          latents(context, ...).states)` equals `predict(context, ...)`.
        - `content_swap`: futures with the dynamics (y_1, z) of `dynamics_context` and the content (w, and the
          skip tensors when the model has them) of `content_context` (paper, section 4.5); content_swap(x, x,
          ...) equals predict(x, ...). Only for models with content or skip connections.

        An action-conditioned model's `latents` and `content_swap` take `actions` [B, >= Tc - 1 + horizon, A] as
        `predict` does (the dynamics read them: for content_swap, the actions of `dynamics_context`); `decode`
        reads no dynamics and takes none.
        """
        cfg = self.model_config
        actions = (serving.ACTIONS,) if cfg.action_conditioned else ()
        swap_actions = (serving.ServingInput("actions", "actions", same_batch_as="dynamics_context"),) \
            if cfg.action_conditioned else ()
        latent_outputs = {
            "states": f"float32 [B, num_samples, horizon * k, {cfg.latent_size}]: y after each Euler step of the "
                      "future",
            "y1_mean": f"float32 [B, {cfg.latent_size}]: mean of q(y_1 | context)",
            "y1_scale": f"float32 [B, {cfg.latent_size}]: standard deviation of q(y_1 | context)"}
        if self.content is not None:
            latent_outputs["content"] = (f"float32 [B, {cfg.inference_hidden_size}]: content variable w of the last "
                                         f"{cfg.inference_frames} context frames")
        states = serving.ServingInput("states", "states", same_batch_as="context", size=cfg.latent_size)
        functions = [
            serving.ServingFunction(
                "latents", self._serve_latents, (serving.CONTEXT, *serving.SAMPLING, *actions),
                "The latent trajectory behind predict's frames (same inputs, same seed), q(y_1) and w.",
                latent_outputs),
            serving.ServingFunction(
                "decode", self._serve_decode, (serving.CONTEXT, states),
                "Frames of given latent states, with the content (and skips) of a context.",
                {"frames": "float32 [B, S, F, H, W, C] in [0, 1] for states [B, S, F, ny]"})]
        if self.content is not None or cfg.skip_connections:
            functions.append(serving.ServingFunction(
                "content_swap", self._serve_content_swap,
                (serving.ServingInput("content_context", "frames", same_batch_as="dynamics_context"),
                 serving.ServingInput("dynamics_context", "frames"), *serving.SAMPLING, *swap_actions),
                "Futures with the motion of dynamics_context and the appearance (w, skips) of content_context.",
                {"frames": "float32 [B, num_samples, horizon * k, H, W, C] in [0, 1]"}))
        return functions

    def _seeded_states(self, inferred, num_samples, horizon, steps_per_frame, seed, actions=None):
        """`sample_states` with every Euler step recorded, for the noise `predict` draws for `seed`; raw actions
        [B, >= Tc - 1 + horizon, A] of an action-conditioned model."""
        shape = tf.shape(inferred["encoding"])
        noise = self.draw_noise(shape[0], num_samples, shape[1], shape[1] - 1 + horizon, seed=seed)
        return self.sample_states(inferred, num_samples, horizon, steps_per_frame, noise, include_intermediate=True,
                                  actions=self.model_actions(actions, num_samples))

    def _serve_latents(self, context, num_samples, steps_per_frame, horizon, seed, actions=None):
        inferred = self.infer(context)
        states = self._seeded_states(inferred, num_samples, horizon, steps_per_frame, seed, actions)
        batch = tf.shape(context)[0]
        out = {"states": tf.reshape(states, tf.concat([[batch, num_samples], tf.shape(states)[1:]], axis=0)),
               "y1_mean": inferred["y1"].loc, "y1_scale": inferred["y1"].scale}
        if inferred["content"] is not None:
            out["content"] = inferred["content"]
        return out

    def _serve_decode(self, context, states):
        shape = tf.shape(states)
        flat = tf.reshape(states, tf.concat([[shape[0] * shape[1]], shape[2:3], [self.model_config.latent_size]], 0))
        return {"frames": self.render(flat, self.infer(context), shape[1])}

    def _serve_content_swap(self, content_context, dynamics_context, num_samples, steps_per_frame, horizon, seed,
                            actions=None):
        states = self._seeded_states(self.infer(dynamics_context), num_samples, horizon, steps_per_frame, seed,
                                     actions)
        return {"frames": self.render(states, self.infer(content_context), num_samples)}


def euclidean_norm(x: tf.Tensor) -> tf.Tensor:
    """||x||_2 over the last axis, [..., d] -> [...], with gradient 0 where x = 0.

    tf.norm's gradient is x / ||x||, NaN at x = 0; an increment y_{s+dt} - y_s is exactly 0 whenever every
    ReLU unit of f is off, which made whole training steps non-finite. PyTorch's norm (the reference code's)
    uses the subgradient 0 there; so does this.
    """
    squared = tf.reduce_sum(tf.square(x), axis=-1)
    positive = squared > 0.0
    return tf.where(positive, tf.sqrt(tf.where(positive, squared, tf.ones_like(squared))), tf.zeros_like(squared))
