#!/usr/bin/env bash
# One prepared run for a GPU machine (the `device` tool): the GPU tests, the
# CPU-suite rerun on CUDA, and the GPU benchmarks, ending in short tables.
#
#   bash benchmarks/gpu_check.sh            # from the repository root
#
# skorch is not installed on the GPU machine: carry it as a wheel in .whl/
# (ignored by git via .git/info/exclude), made here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp -d .whl skorch==1.4.0
# (its other needs, scikit-learn, scipy, tabulate, tqdm and torch, are there);
# the wheels are installed into /tmp/site below. Run it through the device
# tool with carry [".whl"] and a timeout that leaves time for a rerun.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

echo "== GPU-only tests (marker cuda)"
python3 -m pytest -q -p no:cacheprovider -m cuda tests 2>&1 | tail -n 15
echo "== labeling exactness suite rerun with --device cuda"
python3 -m pytest -q -p no:cacheprovider tests/test_labeling.py --device cuda 2>&1 | tail -n 5
echo "== labeling benchmark (GPU)"
python3 benchmarks/bench_labeling.py --device cuda --repeat 5
for b in benchmarks/bench_*_gpu.py; do
    [ -e "$b" ] || continue
    echo "== $b"
    python3 "$b"
done
echo "== labeling 2,000,000 x 50 from a memmap (resident, then streamed from host memory)"
python3 benchmarks/bench_memmap.py --n 2000000 --d 50 --device cuda --skip-in-ram
python3 benchmarks/bench_memmap.py --n 2000000 --d 50 --device cuda --skip-in-ram --force-stream
