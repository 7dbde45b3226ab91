"""Benchmarks: the speed of the models (`models`: training step, sampling, A/B variants, speed levers, the papers'
models side by side), of the input pipelines (`data`) and of the exports (`export`: SavedModel and TFLite
variants). Each is a thin CLI (`python -m tfvideo.benchmarks.<name>`) over its `<name>_lib` module."""
