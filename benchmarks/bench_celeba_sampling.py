"""Sampling speed of the paper's CelebA-size model through ``pipe.sample``.

The model is a :class:`sklearn_gtn.GenerativePipeline` of a
:class:`sklearn_gtn.ConvAutoencoder` (3 x 64 x 64 images, ``latent_dim=100``)
and a :class:`sklearn_gtn.GTNSampler` with the paper's CelebA network
(``hidden_layer_sizes=(1200,) * 25``, LeakyReLU(0.5), ``batch_norm=20``:
BatchNorm1d after the first 20 hidden layers). Both are fitted for one epoch on
64 random images: every weight and BatchNorm statistic is initialised and the
objects are ordinary fitted estimators, but nothing is learned (the speed does
not depend on the weights). The paper: 4.07 ms per image on a PC, 3.67
microseconds on a T4.

Variants, each timed on the same codes, interleaved, best of ``--repeats``
rounds, all in this run:

- ``eager fp32 NCHW``: the reference, a bare torch forward in inference mode
  of the same two fitted modules (``gtn.net_.module_``, then the
  un-standardisation, then ``ae.module_.decoder``) with the decoder in the
  default NCHW layout, as the paper's code runs it; ``--batch-size`` rows per
  pass, outputs left as torch tensors;
- ``eager fp32``: the same with the package's channels-last decoder;
- ``eager bf16``: that under ``torch.autocast(dtype=torch.bfloat16)``;
- ``pipe fp32`` / ``pipe bf16``: ``pipe.sample(n_samples, random_state=0)``
  after ``pipe.set_params(convautoencoder__precision=...,
  gtnsampler__precision=...)``, which returns float64 images in pixel units;
- ``compiled bf16`` (``--compile``): the eager bf16 forward through
  ``torch.compile`` (compilation time printed separately).

``speed-up`` is the reference's time over the variant's. Errors are measured
on 1,000 samples against ``pipe fp32`` on the decoder's ``[-1, 1]`` scale: the
maximum absolute error and the relative error ``||out - ref||_F / ||ref||_F``
(the eager variants see exactly the codes ``pipe.sample`` draws).

Run::

    python benchmarks/bench_celeba_sampling.py                        # 1,000
    python benchmarks/bench_celeba_sampling.py --n-samples 1000 100000
    python benchmarks/bench_celeba_sampling.py --device cuda --batch-size 20000

With ``--device cuda`` and no CUDA device the script prints a message and exits
0 (``benchmarks/bench_celeba_sampling_gpu.py`` is the GPU entry point run by
``benchmarks/gpu_check.sh``). ``pipe.sample(100000)`` returns 9.8 GB of
float64 pixels; it needs about 16 GB of free memory.

Measured on the project's 2-core AMD EPYC (AVX512-BF16) build machine, torch
2.13 CPU, 2 threads, ``--n-samples 1000`` (best of 5) with the machine quiet
(load average 1.4 at the end)::

    n_samples  variant           ms/image  speed-up  max abs err   rel err
         1000  eager fp32 NCHW     1.1094     1.00x     4.03e-07  3.75e-07
         1000  eager fp32          0.8883     1.25x     4.03e-07  3.75e-07
         1000  eager bf16          0.3639     3.05x     3.72e-03  5.16e-03
         1000  pipe fp32           1.0794     1.03x     0.00e+00  0.00e+00
         1000  pipe bf16           0.3967     2.80x     3.72e-03  5.16e-03

``--n-samples 100000 --variants "pipe bf16"`` (one round) ran while other
sessions' jobs kept the load average at 4-8, so its absolute times are
inflated; the interleaved ratio is the figure to read::

       100000  eager fp32 NCHW     3.5840     1.00x
       100000  pipe bf16           1.7541     2.04x

Under the same load, 1,000 samples measured 2.27x for ``pipe bf16`` (and
1.58x for ``pipe fp32``: two-thread timings on a loaded machine move a lot).
``pipe.sample`` also returns float64 pixels (9.8 GB for 100,000 images),
which the eager variants never build.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import check_random_state

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_gtn import (  # noqa: E402
    ConvAutoencoder,
    GTNSampler,
    make_generative_pipeline,
)
from sklearn_gtn._precision import inference_precision  # noqa: E402

LATENT_DIM = 100
IMAGE_SHAPE = (3, 64, 64)


def celeba_pipeline(device="cpu", seed=0):
    """The paper's CelebA-size pipeline, fitted one epoch on 64 random images."""
    X = np.random.RandomState(seed).uniform(0, 255, size=(64, *IMAGE_SHAPE))
    pipe = make_generative_pipeline(
        ConvAutoencoder(
            latent_dim=LATENT_DIM,
            max_epochs=1,
            validation_fraction=None,
            device=device,
            random_state=seed,
        ),
        GTNSampler(
            hidden_layer_sizes=(1200,) * 25,
            batch_norm=20,
            lr=5e-5,
            batch_size=200,
            max_epochs=1,
            validation_fraction=0.0,
            fit_inverse=False,
            device=device,
            random_state=seed,
        ),
    )
    return pipe.fit(X)


def sample_codes(n_samples, random_state):
    """The normal codes ``GTNSampler.sample(n_samples, random_state)`` draws."""
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo(np.int64).max, dtype=np.int64))
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n_samples, LATENT_DIM, generator=gen)


def set_precision(pipe, precision):
    pipe.set_params(
        convautoencoder__precision=precision, gtnsampler__precision=precision
    )


def make_variants(pipe, device, batch_size, compile_model):
    ae, gtn = pipe[0], pipe[-1]
    mlp = gtn.net_.module_.eval()
    decoder = ae.module_.decoder.eval()
    decoder_nchw = copy.deepcopy(decoder)
    decoder_nchw.channels_last = False
    scale = torch.as_tensor(gtn.scale_, dtype=torch.float32, device=device)
    mean = torch.as_tensor(gtn.mean_, dtype=torch.float32, device=device)

    def forward(dec):
        return lambda y: dec((mlp(y) * scale + mean).float())

    def eager(precision, fn):
        def run(codes):
            outs = []
            with inference_precision(precision, device):
                for start in range(0, len(codes), batch_size):
                    y = codes[start : start + batch_size].to(device)
                    outs.append(fn(y))
            return outs

        return run

    def through_pipe(precision):
        def run(codes):
            set_precision(pipe, precision)
            return pipe.sample(len(codes), random_state=0)

        return run

    variants = {
        "eager fp32 NCHW": (eager("float32", forward(decoder_nchw)), False),
        "eager fp32": (eager("float32", forward(decoder)), False),
        "eager bf16": (eager("bfloat16", forward(decoder)), False),
        "pipe fp32": (through_pipe("float32"), True),
        "pipe bf16": (through_pipe("bfloat16"), True),
    }
    if compile_model:
        compiled = torch.compile(forward(decoder))
        start = time.perf_counter()
        with inference_precision("bfloat16", device):
            compiled(torch.randn(batch_size, LATENT_DIM, device=device))
        synchronize(device)
        print(f"torch.compile warm-up: {time.perf_counter() - start:.1f} s")
        variants["compiled bf16"] = (eager("bfloat16", compiled), False)
    return variants


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_unit_scale(ae, images):
    """Pixel units back to the decoder's [-1, 1] scale (for error figures)."""
    return (images - ae.data_min_) * (2.0 / (ae.data_max_ - ae.data_min_)) - 1.0


def errors(pipe, variants, n=1000):
    """Max abs and relative error of each variant vs ``pipe fp32``, n samples."""
    codes = sample_codes(n, random_state=0)
    outputs = {}
    for name, (run, pixel_units) in variants.items():
        out = run(codes)
        if pixel_units:
            out = torch.from_numpy(to_unit_scale(pipe[0], out))
        else:
            out = torch.cat([o.float().cpu() for o in out])
        outputs[name] = out.to(torch.float64).reshape(n, -1)
    ref = outputs["pipe fp32"]
    return {
        name: (
            (out - ref).abs().max().item(),
            ((out - ref).norm() / ref.norm()).item(),
        )
        for name, out in outputs.items()
    }


def bench(n_samples, repeats, variants, device):
    codes = sample_codes(n_samples, random_state=0)
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, (run, _) in variants.items():
            synchronize(device)
            start = time.perf_counter()
            out = run(codes)
            synchronize(device)
            times[name].append(time.perf_counter() - start)
            del out
    return {name: min(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, nargs="+", default=[1000])
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        help="rows per pass of the eager variants",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="rounds for n <= 10,000 (one round above)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="time only these (the reference is always kept)",
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("--device cuda: no CUDA device available; skipping.")
            return 0
        torch.backends.cudnn.benchmark = True
    if args.threads:
        torch.set_num_threads(args.threads)

    pipe = celeba_pipeline(device=str(device))
    variants = make_variants(pipe, device, args.batch_size, args.compile)
    errs = errors(pipe, variants)
    if args.variants:
        keep = {"eager fp32 NCHW", *args.variants}
        variants = {k: v for k, v in variants.items() if k in keep}
    print(
        f"torch {torch.__version__}, device {device}"
        + (
            f" ({torch.cuda.get_device_name(device)})"
            if device.type == "cuda"
            else f", {torch.get_num_threads()} threads"
        )
        + f", eager batch {args.batch_size}"
    )
    header = (
        f"{'n_samples':>9}  {'variant':<16} {'ms/image':>9} {'speed-up':>9} "
        f"{'max abs err':>12} {'rel err':>9}"
    )
    print(header)
    print("-" * len(header))
    for n in args.n_samples:
        repeats = args.repeats if n <= 10_000 else 1
        best = bench(n, repeats, variants, device)
        base = best["eager fp32 NCHW"]
        for name, seconds in best.items():
            err, rel = errs[name]
            print(
                f"{n:>9}  {name:<16} {1000.0 * seconds / n:>9.4f} "
                f"{base / seconds:>8.2f}x {err:>12.2e} {rel:>9.2e}",
                flush=True,
            )
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min):", os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
