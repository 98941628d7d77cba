"""Data-parallel fits on several processes, run by tests/test_accelerate.py.

Launched on every process (``accelerate launch --cpu --num_processes 2
tests/_accelerate_script.py OUTDIR``). Each process fits a GTNSampler and a
ConvAutoencoder with the same data and an ``Accelerator(cpu=True)``, and
writes what the test compares into ``OUTDIR/rank<i>.npz``: the epochs run,
the kept epoch, the validation losses and the final weights. The main process
also saves both models with :func:`sklearn_gtn.save`.
"""

import os
import sys

import numpy as np
from accelerate import Accelerator

from sklearn_gtn import ConvAutoencoder, GTNSampler, save


def main(outdir):
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(800, 2))
    # random_state=None: the processes must still agree (seed from the main one);
    # a large learning rate makes the noisy validation loss (80 rows) stall
    # within a few epochs whatever the seed, so early stopping is exercised
    gtn = GTNSampler(
        hidden_layer_sizes=(16, 16),
        lr=3e-2,
        batch_size=64,
        max_epochs=30,
        patience=1,
        accelerator=accelerator,
    ).fit(X)
    images = rng.uniform(size=(300, 1, 8, 8))
    ae = ConvAutoencoder(
        latent_dim=3, max_epochs=3, patience=1, random_state=0, accelerator=accelerator
    ).fit(images)

    arrays = {
        "num_processes": accelerator.num_processes,
        "device": gtn.device_,
        "gtn_epochs": gtn.n_epochs_,
        "gtn_best": gtn.best_epoch_,
        "gtn_valid": np.asarray(gtn.net_.history[:, "valid_loss"]),
        # rows per training step of this process, in the last epoch
        "gtn_batches": np.asarray(
            gtn.net_.history[-1, "batches", :, "train_batch_size"]
        ),
        "ae_epochs": ae.n_epochs_,
        "ae_valid": np.asarray(ae.history_[:, "valid_loss"]),
        "gtn_samples": gtn.sample(200, random_state=1),
        "images": images[:20],
        "ae_codes": ae.transform(images[:20]),
    }
    for prefix, module in (
        ("gtn", gtn.net_.module_),
        ("gtn_inverse", gtn.inverse_net_.module_),
        ("ae", ae.module_),
    ):
        for name, tensor in module.state_dict().items():
            arrays[f"{prefix}.{name}"] = tensor.numpy()
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **arrays)
    if accelerator.is_main_process:
        save(gtn, os.path.join(outdir, "gtn.gtn"))
        save(ae, os.path.join(outdir, "ae.gtn"))
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1])
