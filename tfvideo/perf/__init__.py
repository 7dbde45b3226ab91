"""The measured CPU/GPU speed levers: convolution kernel gradients, fused batch norm, mixed precision."""
