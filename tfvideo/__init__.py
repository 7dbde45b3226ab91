"""tfvideo: stochastic video prediction (SRVP, SVG-LP, HAF-SVG) in TensorFlow / Keras 3."""

__version__ = "0.1.0"
