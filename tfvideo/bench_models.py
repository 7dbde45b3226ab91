"""`python -m tfvideo.bench_models [--skip_timing] [--output=FILE.json]`: the model comparison, i.e.
`python -m tfvideo.benchmarks.models --compare_models` (see tfvideo/benchmarks/models_lib.py)."""

from tfvideo.benchmarks import models

if __name__ == "__main__":
    models.run_compare_models()
