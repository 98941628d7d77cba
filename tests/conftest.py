import os

# Before torch (and scikit-learn's OpenMP code) load: torch and scikit-learn
# each bring their own OpenMP runtime (two libgomp copies in one process), and
# by default each one's idle threads spin, waiting for work. On a busy 2-core
# machine the two sets of spinning threads starve each other: the
# HistGradientBoosting fits of examples/plot_disconnected.py (quick settings)
# ran for more than 10 minutes under a load of 12, against 36 s with passive
# waits. Passive threads sleep until there is work.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default="cpu",
        help="torch device the device-parametrised tests run on (cpu or cuda)",
    )


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def device(request):
    dev = request.config.getoption("--device")
    if dev.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("--device cuda given but CUDA is not available")
    return dev


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread, then restore the setting.

    Tiny networks gain nothing from threads, and on a shared 2-core machine
    two OpenMP threads competing with another process run several times
    slower. Test modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
