"""HAF-SVG: Hierarchical Stochastic Video Generation with Aligned Features (Lin et al., IJCAI 2020).

SVG-LP (`tfvideo.models.svg`, whose docstring gives the model, the loss and its reductions) with two changes:

1. Hierarchical latent (eq. 2-4, `--num_groups=G`): z_t = [z_t^1, ..., z_t^G], each group `--noise_size`
   dimensions (the paper's |mu_j|: 16 on Moving MNIST, 64 on BAIR, 24 on KTH), so z_t has G * noise_size.
   Group j's posterior and prior are each a one-layer LSTM (Linear -> LSTMCell -> [mu, logvar]) reading the
   frame features and the groups 1..j-1 already sampled; groups are sampled in order, in training and in
   generation. In training the prior's group j conditions on the posterior's samples of groups 1..j-1 and
   the KL is the sum of the groups' KLs.
2. Feature aligner (section 4.3, `--feature_aligner`, `tfvideo.models.aligner`): attention from the current
   decoder features to the last observed frame's encoder features replaces the plain skip concatenation,
   the decoder block reading [F_dec, F_enc, Z] (3C channels), at the `--aligner_levels` deepest skip levels
   (4 = every level, the paper). `--aligner_value=decoder` takes V from the decoder features as printed;
   `encoder` takes them from the encoder features.

Objective: eq. 1 of the paper, the ELBO of the predicted frames given the first k = P conditioning frames,

    L = sum_{t=P}^{T-1} [ E_q log p(x_t | z_t, x_0:t-1) - beta KL(q(z_t | x_0:t) || p(z_t | x_0:t-1)) ]

(frames numbered from 0 here, from 1 in the paper), with SVG-LP's reductions (module `svg`): minimised are
reconstruction = sum_{t=P}^{T-1} mean (x^_t - x_t)^2 ("reconstruction") plus beta_z * kl_z, kl_z = mean_batch
sum_{t=P}^{T-1} sum_dims KL ("kl_z"), with KL the sum of the groups' KLs. SVG's code (and `svg.SVG`) sums over
t = 1..T-1, the context frames too. The context is still read by the posterior, prior and predictor (their
states at frame P depend on it); only the terms of frames 1..P-1 are left out.

With --num_groups=1 and no aligner the model is SVG-LP's network: same variables (a checkpoint of one restores
into the other), same generation; only the loss differs, by the context frames' terms.

Action conditioning (`--action_conditioned`) is SVG-LP's: the frame predictor reads [h_{t-1}, z_t, a_{t-1}] and
each prior group j reads [h_{t-1}, a_{t-1}, z_t^1, ..., z_t^{j-1}] (`tfvideo.models.svg`, `tfvideo.models.actions`).

Initialisation (`--initialization`) is SVG-LP's (module `svg`, "Initialisation"); the parts SVG's code does not
have take the nearest original rule: each group's posterior and prior GaussianLSTM is initialised as SVG's one
(with "pytorch": Linear kernels N(0, 0.02), zero biases, nn.LSTMCell's uniform weights), and the aligner's Wq, Wk,
Wv are N(0, 0.02) in both settings, as every convolution of the model (`tfvideo.models.aligner`).

The paper's ablation "fix z^j to zero" (its Figure 8): `generate(..., zeroed_groups=(j,))`, or
`python -m tfvideo.evaluate --zeroed_groups=j`, groups numbered 1..G as in the paper. The zeroed groups are
zero at every predicted frame (the later groups condition on the zeros); the context is still read with posterior
samples.
"""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.models import aligner as aligner_lib
from tfvideo.models import base
from tfvideo.models import svg


@keras.saving.register_keras_serializable(package="tfvideo")
class HAFSVG(svg.SVG):
    """HAF-SVG as a Keras model; see the module docstring. Same contract as `SVG`."""

    config_class = config_lib.HAFSVGConfig

    def _check_variant(self, cfg) -> None:
        if cfg.feature_aligner and not cfg.skip_connections:
            raise ValueError("The feature aligner replaces the plain skip concatenation: it needs "
                             "skip_connections=True.")

    def _make_decoder(self):
        cfg = self.model_config
        if not cfg.feature_aligner:
            return super()._make_decoder()
        return aligner_lib.AlignedFrameDecoder(cfg.architecture, self.channels, cfg.base_channels,
                                               aligner_levels=cfg.aligner_levels, value_source=cfg.aligner_value,
                                               networks=cfg.networks, name="decoder")

    def first_loss_frame(self) -> int:
        """Eq. 1 sums over the predicted frames t = P..T-1 only (see the module docstring)."""
        return self.conditioning_frames

    def validate_zeroed_groups(self, zeroed_groups) -> tuple[int, ...]:
        """Sorted tuple of distinct group numbers in 1..G, from an int or an iterable of ints."""
        if isinstance(zeroed_groups, (int, np.integer)) and not isinstance(zeroed_groups, bool):
            zeroed_groups = (zeroed_groups,)
        if not isinstance(zeroed_groups, Iterable) or isinstance(zeroed_groups, (str, bytes)):
            raise base.InvalidInputError(f"zeroed_groups must be a group number or a list of them; got "
                                         f"{zeroed_groups!r}.")
        groups = tuple(zeroed_groups)
        bad = [g for g in groups if isinstance(g, bool) or not isinstance(g, (int, np.integer))
               or not 1 <= int(g) <= self.num_groups]
        if bad:
            raise base.InvalidInputError(
                f"zeroed_groups {bad!r} out of range: this model's groups of z are numbered 1..{self.num_groups} "
                "(as z^1..z^G in the paper).")
        return tuple(sorted({int(g) for g in groups}))

    def generate(self, context, num_samples: int = 1, horizon: int = 10, dt: float | None = None,
                 seed: int | None = None, include_intermediate: bool = False, zeroed_groups=(),
                 actions=None) -> tf.Tensor:
        """`VideoPredictor.generate`, plus `zeroed_groups`: groups of z (1..G) fixed to zero in every predicted
        frame (the paper's ablation). The same seed draws the same noise with and without zeroed groups."""
        zeroed = self.validate_zeroed_groups(zeroed_groups)
        if not zeroed:
            return super().generate(context, num_samples, horizon, dt, seed, include_intermediate, actions=actions)
        return self.generate_with(context, num_samples, horizon, dt, seed, include_intermediate=bool(
            include_intermediate), zeroed_groups=zeroed, actions=actions)
