"""Speed: oneDNN switched on at import (onednn), what the machine can do (machine), the auto levers (precision,
GEMM kernel gradients in conv_ops, fused batch norm; speed applies them), and convolution FLOP counts (flops)."""
