"""`python -m tfvideo.export.benchmark`: the export benchmark CLI of `tfvideo.benchmarks.export` under the export
package."""

from tfvideo.benchmarks.export import CLI, DEFAULT_VARIANTS, VARIANTS, main, run, run_benchmark  # noqa: F401

if __name__ == "__main__":
    run()
