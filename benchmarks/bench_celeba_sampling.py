"""Sampling speed of the paper's CelebA-size model: ``decoder(h_hat(y))``.

The model (weights random, the speed does not depend on them): ``h_hat`` an MLP
100 -> 25 hidden layers of width 1200 -> 100, LeakyReLU(0.5), BatchNorm1d after
the first 20; the decoder of :class:`sklearn_gtn.ConvAutoencoder` for 3 x 64 x 64
images and ``latent_dim=100``. The paper: 4.07 ms per image on a PC, 3.67
microseconds on a T4.

Variants, each timed on the same random codes, interleaved, best of ``--repeats``
rounds, all in this run:

- ``eager fp32 NCHW``: a bare torch forward in inference mode with the
  decoder in the default NCHW layout, as the paper's code runs it (the
  reference);
- ``eager fp32``: the same with the package's channels-last decoder;
- ``eager bf16``: that under ``torch.autocast(dtype=torch.bfloat16)``;
- ``package fp32`` / ``package bf16``: the package's path, codes from the MLP
  (float64 NumPy, as a sampler returns them) decoded by
  ``ConvAutoencoder(precision=...).inverse_transform`` into pixel units;
- ``compiled bf16`` (``--compile``): the bare bf16 forward through
  ``torch.compile`` (compilation time printed separately).

Errors are measured against ``eager fp32 NCHW`` on the decoder's ``[-1, 1]`` scale:
the maximum absolute error and the relative error
``||out - ref||_F / ||ref||_F``.

Run::

    python benchmarks/bench_celeba_sampling.py                 # 1,000 samples
    python benchmarks/bench_celeba_sampling.py --n-samples 1000 100000

Larger ``n_samples`` are processed in chunks of ``--batch-size`` rows (outputs
discarded), so memory stays bounded.

Measured on the project's 2-core AMD EPYC (AVX512-BF16) build machine, torch
2.13 CPU, 1,000 samples, while other jobs kept its load average near 3::

    variant           ms/image  speed-up  max abs err   rel err
    eager fp32 NCHW      1.213     1.00x     0.00e+00  0.00e+00
    eager fp32           0.930     1.30x     0.00e+00  0.00e+00
    eager bf16           0.398     3.04x     1.11e-03  3.27e-03
    package fp32         1.129     1.07x     7.46e-08  4.26e-07
    package bf16         0.438     2.77x     1.11e-03  3.27e-03

With ``--threads 1 --compile``: eager fp32 NCHW 2.616, package bf16 0.732
(3.58x), compiled bf16 0.622 ms/image (4.20x, after a 7.6 s compilation).
On that shared machine two-thread timings moved by up to 2x between runs
(package bf16 measured 2.1x to 2.8x); single-thread ratios were stable
(3.6x to 3.7x for package bf16).
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
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_gtn import ConvAutoencoder  # noqa: E402
from sklearn_gtn._precision import inference_precision  # noqa: E402

LATENT_DIM = 100
IMAGE_SHAPE = (3, 64, 64)


def celeba_mlp(d=LATENT_DIM, width=1200, n_hidden=25, n_batch_norm=20, seed=0):
    """The paper's CelebA ``h_hat`` in evaluation mode, with non-trivial BN stats.

    TODO(merge): build it with GTNSampler's MLP once that module can put
    BatchNorm after only the first layers, and time ``GTNSampler.sample``.
    """
    torch.manual_seed(seed)
    layers, width_in = [], d
    for i in range(n_hidden):
        layers += [nn.Linear(width_in, width), nn.LeakyReLU(0.5)]
        if i < n_batch_norm:
            bn = nn.BatchNorm1d(width)
            bn.running_mean.normal_(0.0, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
            layers.append(bn)
        width_in = width
    layers.append(nn.Linear(width_in, d))
    return nn.Sequential(*layers).eval()


def fitted_autoencoder(seed=0):
    """A ConvAutoencoder fitted for one epoch on random 0..255 images."""
    X = np.random.RandomState(seed).uniform(0, 255, size=(32, *IMAGE_SHAPE))
    return ConvAutoencoder(
        latent_dim=LATENT_DIM,
        max_epochs=1,
        validation_fraction=None,
        device="cpu",
        random_state=seed,
    ).fit(X)


def to_unit_scale(ae, images):
    """Pixel units back to the decoder's [-1, 1] scale (for error figures)."""
    return (images - ae.data_min_) * (2.0 / (ae.data_max_ - ae.data_min_)) - 1.0


def make_variants(mlp, ae, compile_model):
    decoder = ae.module_.decoder
    decoder_nchw = copy.deepcopy(decoder)
    decoder_nchw.channels_last = False
    cpu = torch.device("cpu")

    def eager(precision, dec=decoder):
        def run(y):
            with inference_precision(precision, cpu):
                return dec(mlp(y)).float()

        return run

    def package(precision):
        ae_p = copy.copy(ae)
        ae_p.precision = precision

        def run(y):
            with inference_precision(precision, cpu):
                codes = mlp(y).float().numpy().astype(np.float64)
            return ae_p.inverse_transform(codes)

        return run

    variants = {
        "eager fp32 NCHW": (eager("float32", decoder_nchw), False),
        "eager fp32": (eager("float32"), False),
        "eager bf16": (eager("bfloat16"), False),
        "package fp32": (package("float32"), True),
        "package bf16": (package("bfloat16"), True),
    }
    if compile_model:
        model = nn.Sequential(mlp, decoder)
        compiled = torch.compile(model)
        start = time.perf_counter()
        with inference_precision("bfloat16", cpu):
            compiled(torch.randn(8, LATENT_DIM))
        print(f"torch.compile warm-up: {time.perf_counter() - start:.1f} s")

        def run_compiled(y):
            with inference_precision("bfloat16", cpu):
                return compiled(y).float()

        variants["compiled bf16"] = (run_compiled, False)
    return variants


def bench(n_samples, batch_size, repeats, variants, ae):
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(min(n_samples, batch_size), LATENT_DIM, generator=gen)
    n_chunks = -(-n_samples // batch_size)
    outputs, times = {}, {name: [] for name in variants}
    for name, (run, pixel_units) in variants.items():  # warm-up and outputs
        out = run(y[:batch_size])
        out = torch.as_tensor(to_unit_scale(ae, out) if pixel_units else out)
        outputs[name] = out.to(torch.float64).reshape(len(y), -1)
    for _ in range(repeats):
        for name, (run, _) in variants.items():
            start = time.perf_counter()
            for c in range(n_chunks):
                rows = min(batch_size, n_samples - c * batch_size)
                run(y[:rows])
            times[name].append(time.perf_counter() - start)
    ref = outputs["eager fp32 NCHW"]
    base = min(times["eager fp32 NCHW"])
    rows = []
    for name in variants:
        best = min(times[name])
        err = (outputs[name] - ref).abs().max().item()
        rel = ((outputs[name] - ref).norm() / ref.norm()).item()
        rows.append((name, 1000.0 * best / n_samples, base / best, err, rel))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, nargs="+", default=[1000])
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    mlp, ae = celeba_mlp(), fitted_autoencoder()
    variants = make_variants(mlp, ae, args.compile)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"batch {args.batch_size}, best of {args.repeats}"
    )
    header = (
        f"{'n_samples':>9}  {'variant':<16} {'ms/image':>9} {'speed-up':>9} "
        f"{'max abs err':>12} {'rel err':>9}"
    )
    print(header)
    print("-" * len(header))
    for n in args.n_samples:
        for name, ms, ratio, err, rel in bench(
            n, args.batch_size, args.repeats, variants, ae
        ):
            print(
                f"{n:>9}  {name:<16} {ms:>9.3f} {ratio:>8.2f}x {err:>12.2e} "
                f"{rel:>9.2e}"
            )
    print("load average (1, 5, 15 min):", os.getloadavg())


if __name__ == "__main__":
    main()
