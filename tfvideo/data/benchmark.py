"""`python -m tfvideo.data.benchmark`: the input pipeline benchmark CLI of `tfvideo.benchmarks.data` under the
data package."""

from tfvideo.benchmarks.data import CLI, main, run  # noqa: F401

if __name__ == "__main__":
    run()
