"""``Case.loglik_draws``: the log-likelihood at S draws at once equals the per-draw loop that SBC
used, on every built-in case (vectorized) and on a user's case (looped). Numpy only, fast."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmcheck.cases import BUILTIN, Case, get_case
from glmcheck.cases.linear import Linear
from glmcheck.errors import PluginError, UsageError

PROPERTY = settings(max_examples=5, deadline=None, derandomize=True, database=None)


def _prior_draws(case: Case, rng: np.random.Generator, n_draws: int) -> dict[str, np.ndarray]:
    """``n_draws`` draws of every parameter from the case's own prior, stacked: (S, *shape)."""
    draws = [case.draw_params(rng) for _ in range(n_draws)]
    return {p: np.stack([np.asarray(d[p], dtype=float) for d in draws]) for p in case.params}


def _loop(case: Case, draws: dict[str, np.ndarray], data) -> np.ndarray:
    """The reference: :meth:`Case.loglik` once per draw, as SBC called it."""
    n_draws = len(next(iter(draws.values())))
    return np.array([
        case.loglik({p: (a[i].item() if a.ndim == 1 else a[i]) for p, a in draws.items()}, data)
        for i in range(n_draws)
    ])


@pytest.mark.parametrize("name", BUILTIN)
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n_draws=st.integers(1, 60))
def test_builtin_case_equals_the_loop(name, seed, n_draws):
    case = get_case(name)
    rng = np.random.default_rng(seed)
    data = case.simulate_data(case.draw_params(rng), rng)
    draws = _prior_draws(case, rng, n_draws)
    with np.errstate(all="ignore"):  # a wild prior draw may overflow; both paths must agree
        vectorized, looped = case.loglik_draws(draws, data), _loop(case, draws, data)
    assert vectorized.shape == (n_draws,)
    np.testing.assert_allclose(vectorized, looped, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_case_evaluates_expected_once(name, monkeypatch):
    """Every built-in case broadcasts: one call of ``expected`` for all draws, not one per draw."""
    case = get_case(name)
    assert case.expected_broadcasts is True
    rng = np.random.default_rng(0)
    data = case.simulate_data(case.draw_params(rng), rng)
    draws = _prior_draws(case, rng, 7)
    calls = []
    expected = type(case).expected
    monkeypatch.setattr(type(case), "expected", lambda self, *a: calls.append(1) or expected(self, *a))
    case.loglik_draws(draws, data)
    assert len(calls) == 1


@pytest.mark.parametrize("name", BUILTIN)
def test_expected_keeps_its_scalar_shape(name):
    """Scalar parameters still give one mean per row; a draws axis adds a leading axis."""
    case = get_case(name)
    data = case.reference_data()
    one = case.expected(dict(case.true_params), data)
    assert one.shape == (len(data),)
    stacked = {p: np.stack([np.asarray(v, dtype=float)] * 3) for p, v in case.true_params.items()}
    np.testing.assert_array_equal(case.expected(stacked, data), np.stack([one] * 3))


def test_user_case_that_does_not_broadcast_loops(monkeypatch):
    """tests/userland's line through the origin only knows scalar parameters. With S equal to
    the number of rows its ``expected`` would broadcast silently into a wrong (n,) answer; the
    default keeps it on the loop."""
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent / "userland"))
    case = get_case("through_origin:CASE")
    assert case.expected_broadcasts is False
    rng = np.random.default_rng(1)
    data = case.simulate_data(case.draw_params(rng), rng)
    draws = _prior_draws(case, rng, len(data))
    np.testing.assert_array_equal(case.loglik_draws(draws, data), _loop(case, draws, data))


class ScalarLine(Linear):
    """A user's copy of ``linear`` whose ``expected`` handles one draw only (and says nothing)."""

    name = "scalar_line"

    def expected(self, params, design):
        return params["Intercept"] + params["slope"] * design["x"].to_numpy()


class ClaimsToBroadcast(ScalarLine):
    """The same, wrongly declaring that its ``expected`` broadcasts."""

    name = "claims_to_broadcast"
    expected_broadcasts = True


class StudentT(Linear):
    """A user's own likelihood: Student-t(4) noise instead of the family's Gaussian."""

    name = "student_t"

    def loglik(self, params, data):
        from scipy import stats

        resid = data["y"].to_numpy(float) - self.expected(params, data)
        return float(np.sum(stats.t.logpdf(resid, df=4, scale=params["sigma"])))


class VectorizedStudentT(StudentT):
    """Provides its own vectorized version of its likelihood."""

    name = "vectorized_student_t"

    def loglik_draws(self, draws, data):
        from scipy import stats

        resid = data["y"].to_numpy(float) - self.expected(draws, data)
        return np.sum(stats.t.logpdf(resid, df=4, scale=np.asarray(draws["sigma"])[:, None]), axis=-1)


class Laplace(VectorizedStudentT):
    """Overrides the likelihood again but not the vectorized version it inherits."""

    name = "laplace"

    def loglik(self, params, data):
        resid = data["y"].to_numpy(float) - self.expected(params, data)
        b = params["sigma"]
        return float(np.sum(-np.abs(resid) / b - np.log(2 * b)))


def _linear_setting(case: Case, n_draws: int = 200):
    rng = np.random.default_rng(2)
    data = case.simulate_data(dict(case.true_params), rng)
    return _prior_draws(case, rng, n_draws), data


def test_subclass_redefining_expected_does_not_inherit_broadcasting():
    case = ScalarLine()
    assert Linear.expected_broadcasts is True and case.expected_broadcasts is False
    draws, data = _linear_setting(case)  # S = n = 200: a broadcast would not even fail
    np.testing.assert_array_equal(case.loglik_draws(draws, data), _loop(case, draws, data))


def test_false_claim_to_broadcast_is_an_error_not_a_wrong_answer():
    case = ClaimsToBroadcast()
    draws, data = _linear_setting(case)
    with pytest.raises(PluginError, match=r"returned shape \(200,\), not \(200, 200\)"):
        case.loglik_draws(draws, data)


@pytest.mark.parametrize("case", [StudentT(), Laplace()], ids=lambda c: c.name)
def test_case_with_its_own_loglik_keeps_it(case):
    """An overridden ``loglik`` is what ``loglik_draws`` evaluates, draw by draw, even where the
    parent broadcasts (StudentT) or vectorized the parent's likelihood (Laplace)."""
    assert case.expected_broadcasts is True
    draws, data = _linear_setting(case, 20)
    looped = _loop(case, draws, data)
    np.testing.assert_array_equal(case.loglik_draws(draws, data), looped)
    assert not np.allclose(looped, Linear().loglik_draws(draws, data))


def test_case_with_its_own_vectorized_loglik_uses_it():
    case = VectorizedStudentT()
    draws, data = _linear_setting(case, 20)
    np.testing.assert_allclose(case.loglik_draws(draws, data), _loop(case, draws, data), rtol=1e-12)


def test_method_patched_onto_an_instance_loops():
    case = Linear()
    case.expected = lambda params, design: ScalarLine.expected(case, params, design)
    draws, data = _linear_setting(case)
    np.testing.assert_array_equal(case.loglik_draws(draws, data), _loop(case, draws, data))


@pytest.mark.parametrize("case", [get_case("linear"), ScalarLine()], ids=lambda c: c.name)
def test_non_finite_draws_give_non_finite_entries_in_place(case):
    """sigma = 0, a NaN or an infinite coefficient: non-finite exactly there (SBC counts the
    simulation as failed), finite and equal to the loop elsewhere, vectorized or looped."""
    draws, data = _linear_setting(case, 12)
    draws["sigma"][3] = 0.0
    draws["sigma"][7] = np.nan
    draws["Intercept"][5] = np.inf
    with np.errstate(all="ignore"):
        vectorized, looped = case.loglik_draws(draws, data), _loop(case, draws, data)
    assert np.flatnonzero(~np.isfinite(vectorized)).tolist() == [3, 5, 7]
    np.testing.assert_array_equal(vectorized, looped)


def test_non_finite_bernoulli_mean():
    """A probability of exactly 0 or 1 against an observed 1 or 0 is -inf in both paths."""
    case = get_case("logistic")
    rng = np.random.default_rng(4)
    data = case.simulate_data(dict(case.true_params), rng)
    draws = _prior_draws(case, rng, 6)
    draws["Intercept"][[1, 4]] = [np.inf, -np.inf]
    with np.errstate(all="ignore"):
        vectorized = case.loglik_draws(draws, data)
        np.testing.assert_array_equal(vectorized, _loop(case, draws, data))
    assert vectorized[1] == vectorized[4] == -np.inf and np.isfinite(vectorized[[0, 2, 3, 5]]).all()


def test_no_draws_and_ragged_draws():
    case = get_case("linear")
    data = case.reference_data()
    empty = {p: np.empty(0) for p in case.params}
    assert case.loglik_draws(empty, data).shape == (0,)
    assert ScalarLine().loglik_draws(empty, data).shape == (0,)
    with pytest.raises(UsageError, match="same leading draws axis"):
        case.loglik_draws({"Intercept": np.zeros(3), "slope": np.zeros(2), "sigma": np.ones(3)}, data)
    with pytest.raises(UsageError, match="same leading draws axis"):
        case.loglik_draws({"Intercept": 0.0, "slope": 1.0, "sigma": 1.0}, data)
