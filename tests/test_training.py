"""Training budget, width, schedule, checkpoint selection and residual noise."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch

from sklearn_gtn import GTNSampler, load, save
from sklearn_gtn._training import (
    MEMORISATION_FLOOR,
    Relabel,
    SampleQualityCheckpoint,
    checkpoint_epochs,
    evaluating,
    fold_into_input,
    fold_into_output,
    gaussian_transport,
    relabel_epochs,
    resolve_hidden_layer_sizes,
    resolve_max_epochs,
    resolve_noise_scale,
)

FAST = dict(hidden_layer_sizes=(8,), batch_size=64, device="cpu", random_state=0)


@pytest.mark.parametrize(
    "n_train, n_features, updates, repeats",
    [
        (124, 13, 4000, 16),  # wine: thousands of updates, 16 copies per epoch
        (3600, 16, 4002, 1),  # 29 batches per pass: 138 passes
        (20_000, 16, 60 * 157, 1),  # 60 passes are above the floor
        (1_000_000, 16, 3 * 7813, 1),  # capped: a few passes, never 0
        (10_000_000, 16, 78_125, 1),
        (5000, 2, 2400, 1),  # 2-D: 60 passes, no floor
        (600, 2, 304, 4),
    ],
)
def test_auto_budget_counts_updates(n_train, n_features, updates, repeats):
    epochs, n_updates, n_repeats = resolve_max_epochs(
        "by_updates", n_train, 128, n_features
    )
    assert (n_updates, n_repeats) == (updates, repeats)
    assert n_updates == epochs * math.ceil(repeats * n_train / 128)
    assert n_updates <= max(30_000, math.ceil(n_train / 128))
    assert math.ceil(repeats * n_train / 128) >= min(16, n_updates)


@pytest.mark.parametrize(
    "n_train, batch_size, updates",
    [
        (124, 256, 2000),  # the floor: 4,000 batches of 128 rows, 2,000 of 256
        (4000, 256, 2000),  # MNIST latents: 125 passes of 16 batches
        (124, 32, 4000),  # smaller batches keep 4,000 updates
        (20_000, 256, 60 * 79),  # 60 passes are above the floor
    ],
)
def test_auto_budget_floor_counts_rows_of_larger_batches(n_train, batch_size, updates):
    epochs, n_updates, repeats = resolve_max_epochs(
        "by_updates", n_train, batch_size, 16
    )
    assert n_updates == updates
    assert n_updates == epochs * math.ceil(repeats * n_train / batch_size)


def test_explicit_max_epochs_is_kept():
    assert resolve_max_epochs(7, 1000, 100) == (7, 70, 1)


def test_width_grows_with_dimension_and_stays_small_in_2d():
    assert resolve_hidden_layer_sizes("by_dimension", 1) == (50,) * 6
    assert resolve_hidden_layer_sizes("by_dimension", 2) == (50,) * 6
    widths = [resolve_hidden_layer_sizes("by_dimension", d)[0] for d in range(3, 40)]
    assert widths == sorted(widths) and widths[-1] == 256
    assert {len(resolve_hidden_layer_sizes("by_dimension", d)) for d in (3, 16)} == {6}
    assert resolve_hidden_layer_sizes((5, 6), 30) == (5, 6)


@pytest.mark.parametrize(
    "n_features, n_train, depth",
    [
        (16, 100_000, 6),  # d = 16: ten layers raised its C2ST
        (17, 2000, 9),
        (32, 4000, 9),  # MNIST codes of d = 32
        (64, 1999, 6),  # too few rows: small tables copy rows sooner
        (30, 398, 6),  # breast cancer's training rows
        (200, 50_000, 9),
    ],
)
def test_depth_past_16_features_needs_2000_rows(n_features, n_train, depth):
    sizes = resolve_hidden_layer_sizes("by_dimension", n_features, n_train)
    assert len(sizes) == depth
    # the deep network is narrower, the shallow one as wide as before
    width = 192 if depth == 9 else min(256, 32 * n_features)
    assert set(sizes) == {width}
    assert resolve_hidden_layer_sizes((7,), n_features, n_train) == (7,)


def test_fit_resolves_depth_on_the_training_rows():
    # 2,000 rows, 10% held out for selection: 1,800 train, 6 layers; the
    # same rows without holding out: 9 layers
    X = np.random.RandomState(0).normal(size=(2000, 17))
    kw = dict(max_epochs=1, fit_inverse=False, n_relabelings=0, device="cpu")
    held = GTNSampler(selection="energy", validation_fraction=0.1, **kw).fit(X)
    assert held.hidden_layer_sizes_ == (256,) * 6
    full = GTNSampler(selection=None, **kw).fit(X)
    assert full.hidden_layer_sizes_ == (192,) * 9
    linear = [m for m in full.net_.module_.layers if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [192] * 9 + [17]


def test_checkpoints_end_at_the_last_epoch():
    for n in (1, 2, 7, 100, 4000):
        points = checkpoint_epochs(n)
        assert points[-1] == n and points == sorted(set(points)) and points[0] >= 1


def test_fit_records_the_resolved_budget():
    X = np.random.RandomState(0).normal(size=(200, 3))
    gtn = GTNSampler(max_epochs=3, fit_inverse=False, **FAST)
    gtn.set_params(hidden_layer_sizes="auto").fit(X)
    assert gtn.hidden_layer_sizes_ == resolve_hidden_layer_sizes("by_dimension", 3)
    # 10% held out? no: selection off and no early stopping, all rows train
    assert gtn.validation_fraction_ == 0.0
    assert gtn.max_epochs_ == gtn.n_epochs_ == 3
    assert gtn.max_updates_ == 3 * math.ceil(200 / 64)
    auto = GTNSampler(selection=None, fit_inverse=False, **FAST)
    auto.set_params(hidden_layer_sizes=(4,)).fit(X[:40])
    # 40 rows: one batch per pass, 16 copies make 10 batches of 64 per epoch,
    # at least 4,000 updates
    assert auto.max_updates_ == 4000 and auto.n_epochs_ == auto.max_epochs_ == 400
    assert gtn.hidden_layer_sizes == "auto"  # the parameter is untouched


def test_paper_configuration_is_one_parameter_away():
    X = np.random.RandomState(0).normal(size=(60, 2))
    gtn = GTNSampler(labeling="algorithm1", device="cpu", random_state=0)
    gtn.set_params(fit_inverse=False, batch_size=32).fit(X)
    assert gtn.hidden_layer_sizes_ == (50,) * 6
    assert gtn.max_epochs_ == 60 or gtn.n_epochs_ < 60  # early stopping
    assert gtn.selection_ is None and gtn.noise_scale_ is None
    assert gtn.lr_schedule_ == "constant"


class _Net:
    """What the callback touches of a skorch net."""

    def __init__(self, module):
        self.module_ = module
        self.history = _History()


class _History(list):
    def record(self, key, value):
        self[-1][key] = value


def _run_scripted(scores, floor=MEMORISATION_FLOOR):
    """Feed the callback scripted (energy, memorisation) values."""
    module = torch.nn.Linear(2, 2)
    cb = SampleQualityCheckpoint(
        list(range(1, len(scores) + 1)),
        torch.zeros(5, 2),
        torch.zeros(5, 2),
        torch.zeros(5, 2),
        0.0,
        seed=0,
        floor=floor,
    ).initialize()
    net = _Net(module)
    script = iter(scores)
    cb._evaluate = lambda module: (*next(script), None)
    for epoch, _ in enumerate(scores, 1):
        net.history.append({"epoch": epoch})
        with torch.no_grad():
            module.weight.fill_(epoch)  # the weights of each epoch
        cb.on_epoch_end(net)
    cb.on_train_end(net)
    return cb.best_[0], float(module.weight[0, 0].detach())


def test_selection_keeps_the_best_checkpoint_that_does_not_copy():
    # the lowest energy (epoch 4) copies rows: never kept
    scores = [(0.5, 1.2), (0.3, 1.1), (0.2, 0.95), (0.1, 0.5), (0.25, 0.91)]
    assert _run_scripted(scores) == (3, 3.0)


def test_selection_without_a_safe_checkpoint_keeps_the_least_copying():
    scores = [(0.5, 0.6), (0.3, 0.8), (0.1, 0.7)]
    assert _run_scripted(scores) == (2, 2.0)


def test_selection_in_a_fit_respects_the_floor():
    X = np.random.RandomState(0).normal(size=(300, 2)) * [1.0, 5.0]
    gtn = GTNSampler(max_epochs=8, selection="energy", fit_inverse=False, **FAST)
    gtn.fit(X)
    assert gtn.selection_ == "energy" and gtn.validation_fraction_ == 0.1
    history = gtn.net_.history
    checked = [h for h in history if "sample_energy" in h]
    assert [h["epoch"] for h in checked] == checkpoint_epochs(8)
    kept = history[gtn.best_epoch_ - 1]
    assert kept["memorisation"] == gtn.memorisation_ratio_
    safe = [h for h in checked if h["memorisation"] >= MEMORISATION_FLOOR]
    if safe:
        assert kept["memorisation"] >= MEMORISATION_FLOOR
        assert kept["sample_energy"] == min(h["sample_energy"] for h in safe)


def test_residual_noise_off_and_on():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3)) * [1.0, 2.0, 3.0] + 5.0
    plain = GTNSampler(max_epochs=4, residual_noise=0.0, **FAST).fit(X)
    noisy = GTNSampler(max_epochs=4, residual_noise=1.0, **FAST).fit(X)
    assert plain.noise_scale_ is None
    assert noisy.noise_scale_.shape == (3,) and np.all(noisy.noise_scale_ > 0)
    # without noise a sample is the forward map of the codes
    codes = torch.randn(
        50,
        3,
        generator=torch.Generator().manual_seed(
            int(
                np.random.RandomState(1).randint(np.iinfo(np.int64).max, dtype=np.int64)
            )
        ),
    ).numpy()
    np.testing.assert_allclose(
        plain.sample(50, random_state=1), plain.inverse_transform(codes), rtol=1e-5
    )
    a = noisy.sample(50, random_state=1)
    assert a.shape == (50, 3) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, noisy.sample(50, random_state=1))
    assert not np.array_equal(a, noisy.sample(50, random_state=2))
    # the noise term is the difference to the noiseless map, in data units
    diff = (a - noisy.inverse_transform(codes)) / noisy.scale_
    assert 0.3 < np.std(diff / noisy.noise_scale_) < 2.0
    # transform and inverse_transform keep working (no noise)
    Z = noisy.transform(X[:5])
    assert Z.shape == (5, 3)
    np.testing.assert_array_equal(
        noisy.inverse_transform(Z), noisy.inverse_transform(Z)
    )


def test_batch_size_resolves_by_dimension_and_labeling():
    X = np.random.RandomState(0).normal(size=(300, 3))
    fast = dict(hidden_layer_sizes=(8,), max_epochs=1, fit_inverse=False)
    fast.update(device="cpu", random_state=0)
    wide = GTNSampler(**fast).fit(X)
    assert wide.batch_size_ == 256 and wide.batch_size == "auto"
    # 300 rows in batches of 256: two steps per pass
    assert wide.max_updates_ == 2
    assert GTNSampler(**fast).fit(X[:, :2]).batch_size_ == 128  # 2-D unchanged
    paper = GTNSampler(labeling="algorithm1", **fast).fit(X)
    assert paper.batch_size_ == 128
    assert GTNSampler(batch_size=50, **fast).fit(X).max_updates_ == 6


def test_noise_scale_resolves_by_rows_and_dimension():
    assert resolve_noise_scale("by_rows", 2000, 3) == 0.2
    assert resolve_noise_scale("by_rows", 1999, 3) == 0.0
    assert resolve_noise_scale("by_rows", 100_000, 2) == 0.0
    assert resolve_noise_scale(0.7, 10, 2) == 0.7
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 3))
    fast = dict(hidden_layer_sizes=(8,), max_epochs=1, fit_inverse=False)
    fast.update(device="cpu", random_state=0)
    np.testing.assert_array_equal(GTNSampler(**fast).fit(X).noise_scale_, [0.2] * 3)
    assert GTNSampler(**fast).fit(X[:1999]).noise_scale_ is None
    # the rows counted are the training rows, after the held-out ones
    held = GTNSampler(validation_fraction=0.1, **fast).fit(X)
    assert held.noise_scale_ is None
    assert GTNSampler(**fast).fit(X[:, :2]).noise_scale_ is None
    paper = GTNSampler(labeling="algorithm1", **fast).fit(X)
    assert paper.noise_scale_ is None
    assert GTNSampler(noise_scale=0, **fast).fit(X).noise_scale_ is None
    # an explicit residual noise sets the term instead of the automatic one
    residual = GTNSampler(residual_noise=2.0, **fast).fit(X[:300])
    assert residual.noise_scale_.shape == (3,)
    assert not np.allclose(residual.noise_scale_, 0.2)


def test_noise_scale_adds_elementwise_noise_of_that_spread(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1] + 3.0
    fast = dict(hidden_layer_sizes=(8,), max_epochs=2, device="cpu", random_state=0)
    gtn = GTNSampler(noise_scale=0.5, **fast).fit(X)
    np.testing.assert_array_equal(gtn.noise_scale_, [0.5] * 3)
    n = 20_000
    seed = int(np.random.RandomState(1).randint(np.iinfo(np.int64).max, dtype=np.int64))
    codes = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed)).numpy()
    # the reference: the forward map of the same codes, without noise
    diff = gtn.sample(n, random_state=1) - gtn.inverse_transform(codes)
    # half a standard deviation of each feature (float32 rounding aside)
    np.testing.assert_allclose(diff.std(axis=0) / X.std(axis=0), 0.5, rtol=0.03)
    np.testing.assert_allclose(diff.mean(axis=0) / X.std(axis=0), 0.0, atol=0.02)
    # the columns' noise is independent
    assert np.abs(np.corrcoef(diff, rowvar=False)[np.triu_indices(3, 1)]).max() < 0.05
    # transform and inverse_transform add none: the same without the term
    quiet = copy.deepcopy(gtn)
    quiet.noise_scale_ = None
    Z = gtn.transform(X[:5])
    np.testing.assert_array_equal(Z, quiet.transform(X[:5]))
    np.testing.assert_array_equal(gtn.inverse_transform(Z), quiet.inverse_transform(Z))
    assert not np.array_equal(
        gtn.sample(5, random_state=0), quiet.sample(5, random_state=0)
    )
    # the term survives saving and loading
    path = tmp_path / "noisy.gtn"
    save(gtn, path)
    np.testing.assert_array_equal(
        load(path).sample(5, random_state=0), gtn.sample(5, random_state=0)
    )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(noise_scale=-0.1), "noise_scale must be finite and >= 0, got -0.1"),
        (dict(noise_scale=float("nan")), "noise_scale must be finite and >= 0"),
        (dict(noise_scale="lots"), "noise_scale must be a float >= 0 or 'auto'"),
        (dict(noise_scale=True), "noise_scale must be a real number, got True"),
        (
            dict(noise_scale=0.3, residual_noise=0.5),
            "noise_scale=0.3 and residual_noise=0.5 both set",
        ),
        (dict(batch_size="big"), "batch_size must be a positive int or 'auto'"),
        (dict(batch_size=0), "batch_size must be >= 1, got 0"),
        (dict(lr_schedule="linear"), "lr_schedule must be one of"),
        (dict(selection="c2st"), "selection must be"),
        (dict(residual_noise=-1.0), "residual_noise must be finite and >= 0"),
        (dict(residual_noise="big"), "residual_noise must be"),
        (dict(selection="energy", validation_fraction=0.0), "needs held-out rows"),
        (dict(residual_noise=0.5, validation_fraction=0.0), "held-out rows"),
        (dict(hidden_layer_sizes="wide"), "hidden_layer_sizes must be"),
        (dict(max_epochs="many"), "max_epochs must be"),
        (dict(n_relabelings=-1), "n_relabelings must be >= 0, got -1"),
        (dict(n_relabelings=1.5), "n_relabelings must be an integer, got 1.5"),
        (dict(n_relabelings="often"), "n_relabelings must be"),
    ],
)
def test_bad_training_parameters(params, match):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises((ValueError, TypeError), match=match):
        GTNSampler(**{**FAST, **params}).fit(X)


def test_gaussian_transport_moves_moments():
    rng = np.random.RandomState(0)
    L = rng.normal(size=(3, 3))
    cov_from, cov_to = L @ L.T + np.eye(3), np.diag([1.0, 4.0, 0.25])
    A, b = gaussian_transport(np.ones(3), cov_from, np.zeros(3), cov_to)
    np.testing.assert_allclose(A, A.T, atol=1e-10)  # the transport map
    np.testing.assert_allclose(A @ cov_from @ A.T, cov_to, atol=1e-8)
    np.testing.assert_allclose(A @ np.ones(3) + b, np.zeros(3), atol=1e-12)


def test_folding_keeps_one_forward_pass_and_the_inverse():
    torch.manual_seed(0)
    forward, inverse = (
        torch.nn.Sequential(
            torch.nn.Linear(3, 8), torch.nn.LeakyReLU(0.5), torch.nn.Linear(8, 3)
        ),
        torch.nn.Sequential(
            torch.nn.Linear(3, 8), torch.nn.LeakyReLU(0.5), torch.nn.Linear(8, 3)
        ),
    )
    rng = np.random.RandomState(1)
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b = rng.normal(size=3)
    y = torch.randn(50, 3)
    with torch.no_grad():
        before, inv_before = forward(y).double().numpy(), inverse(forward(y))
    fold_into_output(forward, A, b)
    fold_into_input(inverse, A, b)
    with torch.no_grad():
        after, inv_after = forward(y).double().numpy(), inverse(forward(y))
    np.testing.assert_allclose(after, before @ A.T + b, rtol=1e-4, atol=1e-4)
    # the inverse map sees through the affine correction
    np.testing.assert_allclose(inv_after.numpy(), inv_before.numpy(), atol=1e-3)


def test_recalibrated_samples_have_the_data_covariance():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3)) @ np.array([[2.0, 0, 0], [1.0, 1.0, 0], [0, 0, 0.1]])
    gtn = GTNSampler(max_epochs=3, fit_inverse=True, **FAST).fit(X)
    assert gtn.recalibrate_ and gtn.lr_schedule_ == "cosine" and gtn.lr_ == 3e-3
    S = gtn.sample(20000, random_state=0)
    np.testing.assert_allclose(
        np.cov(S, rowvar=False),
        np.cov(X, rowvar=False),
        atol=0.05 * np.abs(np.cov(X, rowvar=False)).max(),
    )
    # transform still inverts inverse_transform about as well as without
    plain = GTNSampler(max_epochs=3, recalibrate=False, **FAST).fit(X)
    codes = rng.normal(size=(200, 3))
    err = np.abs(gtn.transform(gtn.inverse_transform(codes)) - codes).mean()
    err_plain = np.abs(plain.transform(plain.inverse_transform(codes)) - codes).mean()
    assert err < 2 * err_plain + 0.05


def test_selection_and_early_stopping_are_refused_together():
    # both restore weights at the end of training; the recorded epoch would
    # name one while the weights came from the other
    X = np.random.RandomState(0).normal(size=(60, 3))
    gtn = GTNSampler(labeling="algorithm1", selection="energy", patience=2)
    with pytest.raises(ValueError, match="selection='energy'.*patience=2"):
        gtn.fit(X)


# ----------------------------------------------------------------- relabeling
def test_relabel_epochs_leave_training_after_the_last():
    for max_epochs in (2, 3, 7, 125, 400):
        for n in (1, 3, 10):
            epochs = relabel_epochs(max_epochs, n)
            assert epochs == sorted(set(epochs)) and 1 <= len(epochs) <= n
            assert epochs[0] >= 1 and epochs[-1] < max_epochs
    assert relabel_epochs(400, 3) == [120, 240, 360]  # the first 9 tenths
    assert relabel_epochs(1, 3) == [] and relabel_epochs(100, 0) == []
    # at most one per epoch, whatever is asked (and without looping that often)
    assert relabel_epochs(5, 10**12) == [1, 2, 3, 4]


def _brute_force_pairs(outputs, rows):
    """The permutation of ``rows`` closest to ``outputs``, by enumeration."""
    import itertools

    best = None
    for perm in itertools.permutations(range(len(rows))):
        cost = ((outputs - rows[list(perm)]) ** 2).sum()
        if best is None or cost < best[0]:
            best = (cost, perm)
    return best


def test_relabel_pairs_outputs_optimally_and_permutes_every_copy():
    # a map that is not the identity: outputs of 6 draws, 3 copies per epoch
    rng = np.random.RandomState(3)
    inputs = torch.as_tensor(rng.normal(size=(6, 2)), dtype=torch.float32)
    rows = torch.as_tensor(rng.normal(size=(6, 2)), dtype=torch.float32)
    module = torch.nn.Linear(2, 2)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[0.0, 1.5], [-1.0, 0.3]]))
        module.bias.fill_(0.2)
    pairs, copies = rows.clone(), rows.repeat(3, 1)
    cb = Relabel([1], [inputs], [pairs, copies], share=lambda m: m, seed=0, fresh=False)
    net = _Net(module.train())
    net.history.append({"epoch": 1})
    cb.initialize().on_epoch_end(net)
    outputs = module(inputs).detach().double().numpy()
    cost, perm = _brute_force_pairs(outputs, rows.double().numpy())
    new = pairs.double().numpy()
    assert ((outputs - new) ** 2).sum() == pytest.approx(cost, rel=1e-6)
    np.testing.assert_array_equal(new, rows.numpy()[list(perm)])
    np.testing.assert_array_equal(copies.numpy(), np.tile(new, (3, 1)))
    ((epoch, before, after),) = cb.costs_
    assert epoch == 1 and after <= before and after == pytest.approx(cost / 6)
    assert module.training  # the mode it had
    cb.on_train_end(net)
    assert cb.inputs is None and cb.targets is None  # no data kept


def test_relabel_with_fresh_draws_pairs_the_new_draws_optimally():
    rng = np.random.RandomState(4)
    draws = torch.as_tensor(rng.normal(size=(5, 3)), dtype=torch.float32)
    rows = torch.as_tensor(rng.normal(size=(5, 3)), dtype=torch.float32)
    draw_copies, row_copies = draws.repeat(2, 1), rows.repeat(2, 1)
    old_draws, pairs = draws.clone(), rows.clone()
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh())
    cb = Relabel(
        [2], [draws, draw_copies], [pairs, row_copies], share=lambda m: m, seed=7
    ).initialize()
    net = _Net(module)
    for epoch in (1, 2, 3):  # only epoch 2 relabels
        net.history.append({"epoch": epoch})
        cb.on_epoch_end(net)
    assert len(cb.costs_) == 1
    new_draws = draws.clone()
    assert not torch.equal(new_draws, old_draws)  # fresh draws, in place
    assert torch.equal(draw_copies, new_draws.repeat(2, 1))
    # the rows themselves are kept, only their order changes
    np.testing.assert_array_equal(
        np.sort(pairs.numpy(), axis=0), np.sort(rows.numpy(), axis=0)
    )
    outputs = module(new_draws).detach().double().numpy()
    cost, perm = _brute_force_pairs(outputs, rows.double().numpy())
    np.testing.assert_array_equal(pairs.numpy(), rows.numpy()[list(perm)])
    assert torch.equal(row_copies, pairs.repeat(2, 1))
    assert cb.costs_[0][2] == pytest.approx(cost / 5)


def test_relabeling_resolves_by_dimension_and_keeps_the_rows():
    X = np.random.RandomState(0).standard_t(3, size=(150, 3))
    gtn = GTNSampler(max_epochs=8, **FAST).fit(X)
    assert gtn.n_relabelings_ == 6
    relabel = dict(gtn.net_.callbacks_)["relabel"]
    assert [c[0] for c in relabel.costs_] == relabel_epochs(8, 6)
    assert len(relabel.costs_) >= 5 and max(relabel_epochs(8, 6)) < 8
    assert relabel.inputs is None  # the fitted model keeps no training data
    clone = pickle.loads(pickle.dumps(gtn))
    np.testing.assert_array_equal(
        clone.sample(4, random_state=0), gtn.sample(4, random_state=0)
    )
    off = GTNSampler(max_epochs=8, n_relabelings=0, **FAST).fit(X)
    assert off.n_relabelings_ == 0 and "relabel" not in dict(off.net_.callbacks_)
    flat = GTNSampler(max_epochs=8, **FAST).fit(X[:, :2])
    assert flat.n_relabelings_ == 0  # the 2-D recipe is unchanged
    paper = GTNSampler(labeling="algorithm1", max_epochs=2, **FAST).fit(X)
    assert paper.n_relabelings_ == 0
    assert gtn.n_relabelings == "auto"  # the parameter is untouched


def test_relabeling_is_off_next_to_early_stopping_and_refused_explicitly():
    # early stopping and residual noise judge held-out pairs, which keep
    # their first pairing: a relabeling would look like a worse model
    X = np.random.RandomState(0).normal(size=(120, 3))
    stopped = GTNSampler(max_epochs=4, patience=2, fit_inverse=False, **FAST).fit(X)
    assert stopped.n_relabelings_ == 0
    assert "relabel" not in dict(stopped.net_.callbacks_)
    noisy = GTNSampler(max_epochs=4, residual_noise=0.5, fit_inverse=False, **FAST)
    assert noisy.fit(X).n_relabelings_ == 0
    with pytest.raises(ValueError, match="n_relabelings=2 re-pairs.*patience=2"):
        GTNSampler(n_relabelings=2, patience=2, **FAST).fit(X)
    with pytest.raises(ValueError, match="residual_noise=0.5"):
        GTNSampler(n_relabelings=1, residual_noise=0.5, **FAST).fit(X)
    # the selection compares samples with held-out rows, not pairs: kept
    chosen = GTNSampler(max_epochs=4, selection="energy", fit_inverse=False, **FAST)
    assert chosen.fit(X).n_relabelings_ == 6


def test_evaluating_restores_the_mode_the_module_had():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    for mode in (True, False):
        net.train(mode)
        with evaluating(net):
            assert not net.training and not net[1].training
        assert net.training is mode and net[1].training is mode
    net.train()
    with pytest.raises(RuntimeError), evaluating(net):
        raise RuntimeError("a failed forward pass")
    assert net.training  # restored on the way out of an error too
