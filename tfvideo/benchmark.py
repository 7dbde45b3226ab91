"""`python -m tfvideo.benchmark`: the model benchmark CLI of `tfvideo.benchmarks.models` under its short name."""

from tfvideo.benchmarks.models import CLI, main, run, run_compare_models  # noqa: F401

if __name__ == "__main__":
    run()
