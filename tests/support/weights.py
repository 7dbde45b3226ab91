"""Random tiny LPIPS (AlexNet-lin) and I3D weights in their PyTorch names and layouts, written as .npz files."""

from __future__ import annotations

import numpy as np


def lpips_weights(seed: int = 0, widths=(4, 5, 6, 3, 2)) -> dict[str, np.ndarray]:
    """Random AlexNet-lin weights with tiny widths (torchvision / LPIPS names, PyTorch OIHW layout)."""
    from tfvideo.evaluation import lpips
    rng = np.random.default_rng(seed)
    out, channels = {}, 3
    for (name, _, _), width, kernel, lin in zip(lpips.CONVS, widths, (11, 5, 3, 3, 3), lpips.LIN_KEYS):
        out[f"{name}.weight"] = rng.normal(0, 0.2, size=(width, channels, kernel, kernel)).astype(np.float32)
        out[f"{name}.bias"] = rng.normal(0, 0.1, size=(width,)).astype(np.float32)
        out[lin] = rng.uniform(0.1, 1.0, size=(1, width, 1, 1)).astype(np.float32)
        channels = width
    return out


def i3d_weights(seed: int = 0, classes: int = 6) -> dict[str, np.ndarray]:
    """Random InceptionI3d weights (piergiaj names) with tiny widths."""
    from tfvideo.evaluation import fvd
    rng = np.random.default_rng(seed)
    out, channels = {}, 3

    def unit(name, cin, cout, k):
        out[f"{name}.conv3d.weight"] = rng.normal(0, 0.3, size=(cout, cin, *k)).astype(np.float32)
        out[f"{name}.bn.weight"] = rng.uniform(0.5, 1.5, size=cout).astype(np.float32)
        out[f"{name}.bn.bias"] = rng.normal(0, 0.1, size=cout).astype(np.float32)
        out[f"{name}.bn.running_mean"] = rng.normal(0, 0.1, size=cout).astype(np.float32)
        out[f"{name}.bn.running_var"] = rng.uniform(0.5, 1.5, size=cout).astype(np.float32)

    widths = {"b0": 2, "b1a": 2, "b1b": 3, "b2a": 1, "b2b": 2, "b3b": 2}
    for kind, name, kernel, _ in fvd.LAYERS:
        if kind == "conv":
            cout = {"Conv3d_1a_7x7": 4, "Conv3d_2b_1x1": 4, "Conv3d_2c_3x3": 5}[name]
            unit(name, channels, cout, kernel)
            channels = cout
        elif kind == "mixed":
            for branch, size in fvd.BRANCHES:
                cin = widths[branch[:2] + "a"] if branch in ("b1b", "b2b") else channels
                unit(f"{name}.{branch}", cin, widths[branch], (size,) * 3)
            channels = widths["b0"] + widths["b1b"] + widths["b2b"] + widths["b3b"]
    out["logits.conv3d.weight"] = rng.normal(0, 0.3, size=(classes, channels, 1, 1, 1)).astype(np.float32)
    out["logits.conv3d.bias"] = rng.normal(0, 0.1, size=classes).astype(np.float32)
    return out


def write_npz(path, weights: dict[str, np.ndarray]) -> str:
    """Writes `weights` to the .npz file `path`; returns its path as a string."""
    np.savez(path, **weights)
    return str(path)
