"""Grid search and model travel on a Dask cluster (and on Ray where installed).

The recipes of ``docs/scaling_out.rst``, run on a real ``dask.distributed``
``LocalCluster`` of two worker processes: the same search through the Dask
backend of joblib and through its default loky backend gives the same scores,
the same best parameters and the same samples; estimators fitted on a worker
come back to the client and sample as a local fit does; ``device="auto"``
resolves on the worker, to the CPU where the worker sees no GPU.
"""

import os

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

import sklearn_gtn
from sklearn_gtn import ConvAutoencoder, GTNSampler, make_generative_pipeline
from sklearn_gtn._utils import resolve_device

# Time limits. A result that cannot come back from a worker (say, the client
# cannot unpickle it) leaves the waits of joblib's Dask backend without an end:
# with skorch 1.0 under torch >= 2.6 a cross-validation here waited for more
# than 10 minutes. Each test of this module fails after 4 minutes instead (the
# whole module takes about 30 s on a 2-core CPU); the "signal" method ends
# the wait in this process with an error, so that the cluster is closed and the
# run goes on. The futures waited on directly have their own, shorter limit.
RESULT_TIMEOUT = 120  # seconds
pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.timeout(240, method="signal"),
]

# device="cpu": the comparison must hold on a GPU machine too (loky workers
# would otherwise train on the GPU and the Dask workers below on the CPU).
AE = dict(max_epochs=2, batch_size=64, device="cpu", random_state=0)
GTN = dict(
    hidden_layer_sizes=(16, 16), max_epochs=3, batch_size=64, lr=1e-2, random_state=0
)
GRID = {"convautoencoder__latent_dim": [2, 3]}


def _images():
    return load_digits().images[:160]


def _pipe():
    return make_generative_pipeline(
        ConvAutoencoder(latent_dim=2, **AE), GTNSampler(**GTN, device="cpu")
    )


def _search(n_jobs):
    return GridSearchCV(_pipe(), GRID, cv=2, n_jobs=n_jobs).fit(_images())


def _square(n=300):
    return np.random.RandomState(0).uniform(size=(n, 2))


def _worker_state():
    """What a task sees on the worker running it."""
    return {
        "module": sklearn_gtn.__file__,
        "torch_threads": torch.get_num_threads(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "auto": str(resolve_device("auto")),
    }


@pytest.fixture(scope="module")
def loky_search():
    """The reference: the same search on joblib's default (loky) backend."""
    # two workers, as the cluster below, each on one torch thread as the Dask
    # workers are (loky's default, cpu_count // n_jobs, is 1 on 2 cores only)
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        return _search(n_jobs=2)


@pytest.fixture(scope="module")
def dask_client():
    """A Client on a LocalCluster of two single-threaded worker processes.

    Every worker sees no GPU (``CUDA_VISIBLE_DEVICES=""``), runs torch on one
    thread and advertises one ``GPU`` resource, as a one-worker-per-GPU
    cluster does (docs/scaling_out.rst).
    """
    distributed = pytest.importorskip("distributed")
    environ = dict(os.environ)  # the Nanny writes OMP_NUM_THREADS & co. here
    try:
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""},
                resources={"GPU": 1},
            ) as cluster,
            distributed.Client(cluster, timeout=RESULT_TIMEOUT) as client,
        ):
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


def test_dask_workers_run_this_package_on_one_torch_thread(dask_client):
    states = dask_client.run(_worker_state)
    assert len(states) == 2
    for state in states.values():
        assert state["module"] == sklearn_gtn.__file__
        assert state["torch_threads"] == 1
        assert state["cuda_visible_devices"] == ""
        assert state["auto"] == "cpu"  # device="auto" with no visible GPU


def _assert_same_search(search, reference):
    """Same scores, best parameters and best model's samples, bit for bit."""
    for key in ("mean_test_score", "split0_test_score"):
        assert_array_equal(search.cv_results_[key], reference.cv_results_[key])
    assert search.best_params_ == reference.best_params_
    assert_array_equal(
        search.best_estimator_.sample(50, random_state=0),
        reference.best_estimator_.sample(50, random_state=0),
    )


def test_dask_grid_search_matches_loky(dask_client, loky_search):
    from distributed import get_task_stream

    with get_task_stream(dask_client) as stream:
        with joblib.parallel_config(backend="dask"):
            search = _search(n_jobs=-1)
    # the fits ran on the cluster's workers, not in this process (which of
    # the two took them is the scheduler's choice: on a busy machine one
    # worker took all of them once)
    used = {task["worker"] for task in stream.data}
    assert used and used <= set(dask_client.scheduler_info()["workers"])
    # bit-identical: each fit is seeded by random_state and runs on one torch
    # thread in both backends, so the floating-point operations are the same
    _assert_same_search(search, loky_search)


def test_pipeline_fitted_on_a_worker_samples_as_a_local_fit(dask_client):
    X = _images()
    future = dask_client.submit(_pipe().fit, X)
    # pickled on the worker, unpickled here
    remote = future.result(timeout=RESULT_TIMEOUT)
    assert future.key in {
        key for keys in dask_client.has_what().values() for key in keys
    }  # it lived on a worker
    local = _pipe().fit(X)
    assert_array_equal(
        remote.sample(50, random_state=0), local.sample(50, random_state=0)
    )
    images = X[:2]
    assert_array_equal(
        remote.interpolate(images[0], images[1], n_steps=4),
        local.interpolate(images[0], images[1], n_steps=4),
    )


def test_gpu_resource_recipe_returns_worker_fits_with_device_auto(dask_client):
    X = _square()
    # one task per worker at a time, as with one worker per GPU
    with joblib.parallel_config(backend="dask", resources={"GPU": 1}):
        result = cross_validate(
            GTNSampler(**GTN, device="auto"),
            X,
            cv=KFold(2),
            n_jobs=-1,
            return_estimator=True,
        )
    folds = KFold(2).split(X)
    for estimator, (train, _) in zip(result["estimator"], folds, strict=True):
        assert estimator.device_ == "cpu"  # resolved on the GPU-less worker
        local = GTNSampler(**GTN, device="cpu").fit(X[train])
        assert_array_equal(
            estimator.sample(50, random_state=0), local.sample(50, random_state=0)
        )


def _fit_on_worker(estimator, X):
    """Fit where the task runs; report the device before the trip back."""
    estimator.fit(X)
    return estimator.device_, estimator


@pytest.mark.cuda
def test_model_fitted_on_a_worker_gpu_comes_back_on_the_cpu():
    distributed = pytest.importorskip("distributed")
    X = _square()
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"CUDA_VISIBLE_DEVICES": "0"},
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            estimator = GTNSampler(**GTN, device="auto")
            future = client.submit(_fit_on_worker, estimator, X)
            device, remote = future.result(timeout=RESULT_TIMEOUT)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    assert device.startswith("cuda")  # "auto" found the worker's GPU
    assert remote.device_ == "cpu"  # a pickle holds no CUDA tensors
    for net in (remote.net_, remote.inverse_net_):
        assert {p.device.type for p in net.module_.parameters()} == {"cpu"}
    samples = remote.sample(50, random_state=0)
    assert samples.shape == (50, 2) and np.isfinite(samples).all()


# module scope: set up (or skipped) before the module-scoped loky_search
@pytest.fixture(scope="module")
def ray_session():
    """A local Ray instance with two CPUs, shut down after the module."""
    ray = pytest.importorskip("ray")
    from joblib.pool import PicklingPool
    from ray.util.joblib import register_ray

    bases = PicklingPool.__bases__  # the Ray backend swaps joblib's pool base
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        yield ray
    finally:
        ray.shutdown()
        PicklingPool.__bases__ = bases


def test_ray_grid_search_matches_loky(ray_session, loky_search):
    with joblib.parallel_config(backend="ray"):
        search = _search(n_jobs=-1)
    _assert_same_search(search, loky_search)
