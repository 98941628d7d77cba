"""scikit-learn's common estimator checks on ConvAutoencoder (flat input)."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gtn import ConvAutoencoder

# Every genuine exception, with its reason; an empty dict means none is needed.
EXPECTED_FAILED_CHECKS = {}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cheap():
    return ConvAutoencoder(latent_dim=2, max_epochs=2, batch_size=64, device="cpu")


@parametrize_with_checks(
    [_cheap()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
