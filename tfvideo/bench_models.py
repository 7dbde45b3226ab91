"""`python -m tfvideo.bench_models [--skip_timing] [--output=FILE.json]`: the model comparison, i.e.
`python -m tfvideo.benchmark --compare_models` (see tfvideo/benchmark.py)."""

from tfvideo import benchmark

if __name__ == "__main__":
    benchmark.run_compare_models()
