"""Data-parallel training through Hugging Face Accelerate (``accelerator=``)."""

import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch import NeuralNetRegressor

from sklearn_gtn import ConvAutoencoder, GTNSampler, load, save
from sklearn_gtn._accelerate import ShardedBatches
from sklearn_gtn._batching import _TensorBatches

accelerate = pytest.importorskip("accelerate")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


def _gtn(**params):
    # with early stopping, so that validation losses are reduced across processes
    base = dict(
        hidden_layer_sizes=(8, 8),
        max_epochs=6,
        patience=3,
        device="cpu",
        random_state=0,
    )
    base.update(params)
    return GTNSampler(**base)


def _ae(**params):
    base = dict(latent_dim=2, max_epochs=2, device="cpu", random_state=0)
    base.update(params)
    return ConvAutoencoder(**base)


def _images():
    return np.random.RandomState(0).uniform(size=(60, 1, 8, 8))


def test_single_process_fit_equals_the_plain_fit(accelerator):
    # one process: Accelerate neither wraps the module nor changes the batches
    # or the random streams, so the fit is bit-identical on the CPU
    X = np.random.RandomState(0).uniform(size=(400, 2))
    plain = _gtn().fit(X)
    accel = _gtn(accelerator=accelerator).fit(X)
    assert accel.n_epochs_ == plain.n_epochs_
    np.testing.assert_array_equal(
        accel.net_.history[:, "valid_loss"], plain.net_.history[:, "valid_loss"]
    )
    np.testing.assert_array_equal(
        accel.sample(50, random_state=1), plain.sample(50, random_state=1)
    )
    np.testing.assert_array_equal(accel.transform(X[:20]), plain.transform(X[:20]))
    # the fitted nets are plain skorch nets with plain modules and optimisers
    for net in (accel.net_, accel.inverse_net_):
        assert type(net) is NeuralNetRegressor
        assert net.device == "cpu"
        assert type(net.optimizer_) is torch.optim.Adam
        assert not hasattr(net, "accelerator")
        assert "reduce_losses" not in dict(net.callbacks_)
    assert accel.accelerator is accelerator  # the parameter is left as given


def test_single_process_autoencoder_equals_the_plain_fit(accelerator):
    images = _images()
    plain = _ae().fit(images)
    accel = _ae(accelerator=accelerator).fit(images)
    np.testing.assert_array_equal(
        accel.history_[:, "valid_loss"], plain.history_[:, "valid_loss"]
    )
    np.testing.assert_array_equal(accel.transform(images), plain.transform(images))
    assert type(accel.module_).__name__ == "ConvAutoencoderModule"
    assert accel.device_ == "cpu"  # a str, as for GTNSampler


@pytest.mark.parametrize("make", [_gtn, _ae], ids=["GTNSampler", "ConvAutoencoder"])
@pytest.mark.parametrize("value", ["cpu", object()], ids=["str", "object"])
def test_accelerator_of_the_wrong_type_is_refused(make, value):
    data = _images() if make is _ae else np.ones((30, 2))
    with pytest.raises(TypeError, match=r"accelerator must be an accelerate\.Acc"):
        make(accelerator=value).fit(data)
    with pytest.raises(TypeError, match=repr(value).replace("(", r"\(")[:20]):
        make(accelerator=value).fit(data)


def test_device_must_agree_with_the_accelerator(accelerator, monkeypatch):
    fake = types.SimpleNamespace(device=torch.device("cuda", 1))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    from sklearn_gtn._accelerate import accelerated_device

    assert accelerated_device(fake, "auto") == torch.device("cuda", 1)
    assert accelerated_device(fake, "cuda") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="device='cpu' conflicts with the acc"):
        accelerated_device(fake, "cpu")
    assert accelerated_device(accelerator, "cpu") == torch.device("cpu")


def test_pickle_clone_and_save_keep_the_model_but_not_the_accelerator(
    accelerator, tmp_path
):
    X = np.random.RandomState(1).normal(size=(200, 2))
    gtn = _gtn(max_epochs=2, accelerator=accelerator).fit(X)
    expected = gtn.sample(20, random_state=3)

    again = pickle.loads(pickle.dumps(gtn))
    assert again.accelerator is None
    np.testing.assert_array_equal(again.sample(20, random_state=3), expected)

    twin = clone(gtn)  # Accelerate's deepcopy returns the same accelerator
    assert twin.accelerator is accelerator

    save(gtn, tmp_path / "gtn.gtn")
    loaded = load(tmp_path / "gtn.gtn")
    assert loaded.accelerator is None
    assert loaded.get_params() == {**gtn.get_params(), "accelerator": None}
    np.testing.assert_array_equal(loaded.sample(20, random_state=3), expected)

    ae = _ae(max_epochs=1, accelerator=accelerator).fit(_images())
    save(ae, tmp_path / "ae.gtn")
    assert load(tmp_path / "ae.gtn").accelerator is None
    save(_gtn(accelerator=accelerator), tmp_path / "unfitted.gtn")
    assert load(tmp_path / "unfitted.gtn").accelerator is None


@pytest.mark.parametrize("split_batches", [False, True])
@pytest.mark.parametrize("n_rows", [200, 131, 129])
def test_sharded_batches_cover_each_row_once_in_equal_steps(split_batches, n_rows):
    data = types.SimpleNamespace(
        X=torch.arange(n_rows, dtype=torch.float32)[:, None],
        y=torch.zeros(n_rows, 1),
    )
    batches = _TensorBatches(data, batch_size=32, shuffle=True)
    shards = []
    for rank in range(2):
        acc = types.SimpleNamespace(
            num_processes=2, process_index=rank, split_batches=split_batches
        )
        torch.manual_seed(0)  # every process draws the same shuffle
        shards.append(
            [X[:, 0].long().tolist() for X, _ in ShardedBatches(batches, acc)]
        )
    assert len(shards[0]) == len(shards[1])  # same number of steps
    seen = sorted(i for shard in shards for batch in shard for i in batch)
    assert seen == list(range(n_rows))  # each row once per epoch
    per_process = 16 if split_batches else 32
    for shard in shards:
        assert all(len(batch) >= 2 for batch in shard)  # BatchNorm can train
        assert all(len(batch) == per_process for batch in shard[:-1])


def test_sharded_batches_on_one_process_are_the_plain_batches():
    data = types.SimpleNamespace(X=torch.randn(129, 2), y=torch.randn(129, 2))
    batches = _TensorBatches(data, batch_size=32, shuffle=True)
    acc = types.SimpleNamespace(num_processes=1, process_index=0, split_batches=False)
    torch.manual_seed(0)
    plain = list(batches)
    torch.manual_seed(0)
    sharded = list(ShardedBatches(batches, acc))
    assert len(sharded) == len(plain) == 4  # the single trailing row is merged
    for (a, b), (c, d) in zip(plain, sharded, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)


def test_fit_without_accelerator_does_not_import_accelerate(monkeypatch):
    monkeypatch.setitem(sys.modules, "accelerate", None)  # any import fails
    monkeypatch.setitem(sys.modules, "skorch.hf", None)
    X = np.random.RandomState(0).uniform(size=(60, 2))
    _gtn(max_epochs=1).fit(X)
    _ae(max_epochs=1).fit(_images())


def test_two_processes_stop_together_with_the_same_weights(tmp_path):
    # two CPU processes (gloo), launched as `accelerate launch` or torchrun would
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        os.path.join(ROOT, "tests", "_accelerate_script.py"),
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{i}.npz") for i in range(2)]
    assert int(ranks[0]["num_processes"]) == 2
    assert str(ranks[0]["device"]) == "cpu"
    for key in ranks[0].files:  # epochs, losses, weights, samples, codes
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=key)
    # early stopping ended the GTN's training before max_epochs=30
    assert int(ranks[0]["gtn_epochs"]) < 30
    # each process trained on half of every batch: 720 training rows, 64 per
    # process and step, so 6 steps of 2 x 64 rows (the last 2 x 40)
    assert list(ranks[0]["gtn_batches"]) == [64] * 5 + [40]
    assert list(ranks[1]["gtn_batches"]) == [64] * 5 + [40]
    # the models saved by the main process load here, on one process
    gtn, ae = load(tmp_path / "gtn.gtn"), load(tmp_path / "ae.gtn")
    assert gtn.accelerator is None and ae.accelerator is None
    np.testing.assert_array_equal(
        gtn.sample(200, random_state=1), ranks[0]["gtn_samples"]
    )
    np.testing.assert_array_equal(
        ae.transform(ranks[0]["images"]), ranks[0]["ae_codes"]
    )


def test_verbose_accelerated_fit_prints_titled_tables(accelerator, capsys):
    X = np.random.RandomState(0).uniform(size=(200, 2))
    gtn = _gtn(accelerator=accelerator, verbose=1, max_epochs=2).fit(X)
    out = capsys.readouterr().out
    assert out.index("forward network:") < out.index("inverse network:")
    assert "valid_loss" in out and "\x1b[" not in out
    # the fitted nets keep no reference to the accelerator
    assert "accelerator" not in vars(gtn.net_)
