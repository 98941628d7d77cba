"""GPU entry point of the CelebA-size sampling benchmark (run by gpu_check.sh).

Runs ``bench_celeba_sampling.py --device cuda`` for 1,000 and 100,000 samples
with 20,000-row eager batches, then once more with ``torch.compile``. Without
a CUDA device it prints a message and exits 0.

    python benchmarks/bench_celeba_sampling_gpu.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from bench_celeba_sampling import main  # noqa: E402

if __name__ == "__main__":
    common = ["--device", "cuda", "--n-samples", "1000", "100000"]
    rc = main([*common, "--batch-size", "20000"])
    if rc == 0 and torch.cuda.is_available() and "--no-compile" not in sys.argv:
        rc = main([*common, "--batch-size", "20000", "--repeats", "3", "--compile"])
    sys.exit(rc)
