"""scikit-learn's common estimator checks on cheap GTNSampler instances."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gtn import GTNSampler


def _cheap(**params):
    base = dict(hidden_layer_sizes=(4,), max_epochs=2, device="cpu", random_state=0)
    return GTNSampler(**{**base, **params})


# Every common check passes today, for both instances. A check that has to be
# skipped goes here as {check name: reason}, with the reason spelled out.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks(
    [
        # the paper's shape (BatchNorm, early stopping, inverse map)
        _cheap(),
        # a sampler only: no inverse map (hence no transform), no validation
        _cheap(batch_norm=False, fit_inverse=False, validation_fraction=0.0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
