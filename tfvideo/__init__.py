"""tfvideo: stochastic video prediction (SRVP, SVG-LP, HAF-SVG) in TensorFlow / Keras 3.

Importing tfvideo switches TensorFlow's oneDNN CPU kernels on where TensorFlow would leave them off (x86-64 CPUs
without AVX-512 VNNI/BF16), unless TF_ENABLE_ONEDNN_OPTS is set: see `tfvideo.perf.onednn`. It must run before
TensorFlow is imported, so import tfvideo first.
"""

from tfvideo.perf import onednn as _onednn

_onednn.configure_once()

__version__ = "0.1.0"
