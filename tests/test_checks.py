"""Every check catches the planted error it exists for, and passes the correct model.

Planted errors (slow tests, real nutpie fits of ``linear``):

- exact:       a PyMC model whose likelihood uses ``sigma * 1.1`` (a 10 % noise-scale bug);
- agreement:   a sampler that pulls its draws 10 % toward their mean, and a Bambi model whose
               Intercept prior is Normal(0, 0.5) instead of Normal(0, 20);
- recovery:    a data set simulated at slope 3 checked against the case's slope 2;
- coverage:    a sampler whose draws are pulled 75 % toward their mean, and one whose refits
               keep the previous data set, over 20 prior simulations (``glmcheck check``'s
               route; the statistics of the test itself are in ``test_coverage.py``);
- convergence: chains stuck in different places, divergences, NaN diagnostics, tree-depth
               saturation, diagnostics the sampler does not provide (constructed draws, fast).

Bad input (fast, no sampling): posteriors built directly from small xarray Datasets.

Power, at the default alpha = 1e-4 and these settings (measured on the seed data): the wrong
noise scale gives |z| ~ 100 on sigma; the ×0.9 shrinkage |z| ~ 5-6.5 on sds and quantiles with
1000 draws per chain (threshold 4.50), so the agreement tests use 3000 draws per chain
(|z| ~ 9-11); the Intercept prior |z| ~ 7-9 already at 1000. A slope of 2.6 (instead of 2) is
only ~4.7 posterior sds away on average, under the threshold 4.15 about a third of the time,
so the recovery test uses slope 3.0 (~7.8 sds). Coverage with draws shrunk ×0.25 would spread every
parameter's PIT z-scores with sd 4 (about 2.5 once ranks among L = 200 draws cap |z| near 3):
the spread statistic, 6 χ²(19) or more, stays under the check's bound (52.8) with probability
below P(χ²(19) < 8.8) = 0.03 per parameter, so the test (some parameter fails) misses with
probability about 3e-5 (the three are nearly independent here).
"""

import json
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from glmcheck.cases.linear import Linear
from glmcheck.checks import (
    ALPHA, CheckResult, check_agreement, check_convergence, check_coverage, check_exact,
    check_recovery,
)
from glmcheck.errors import UsageError
from glmcheck.posterior import Posterior, Timing
from glmcheck.results import summarize
from glmcheck.stats.multiplicity import beta_interval, bonferroni_z, two_sided_p

from conftest import require_modules
from userland.planted import WideNoise

CASE = Linear()
TRUTH = dict(CASE.true_params)
#: 4 chains × (500 warm-up + 3000 draws): enough power for a 10 % shrinkage (see above).
CHAINS, TUNE, DRAWS = 4, 500, 3000
COVERAGE_SETS = 20
PROPERTY = settings(max_examples=50, deadline=None, derandomize=True, database=None)


# ---------------------------------------------------------------- planted errors


class WrongNoise(WideNoise):
    """The linear case with a bug in its PyMC model: the likelihood's noise sd is 10 % too big."""

    name = "linear_wrong_noise"
    scale_error = 1.1


class WrongBambiPrior(Linear):
    """The linear case (same name) with a bug in ``bambi_priors``: a plausible-looking but
    different Intercept prior, Normal(0, 0.5) instead of the PyMC model's Normal(0, 20)."""

    def bambi_priors(self):
        import bambi as bmb

        priors = super().bambi_priors()
        priors["Intercept"] = bmb.Prior("Normal", mu=0, sigma=0.5)
        return priors


def shrink_toward_mean(draws: xr.Dataset, factor: float) -> xr.Dataset:
    """Every draw pulled toward the mean over chains and draws: deviations × ``factor``."""
    mean = draws.mean(("chain", "draw"))
    return (mean + factor * (draws - mean)).transpose("chain", "draw", ...)


def _shrinking_nutpie():
    from glmcheck.fitters.nutpie import NutpieFitter

    class ShrinkingNutpie(NutpieFitter):
        """A user sampler with a planted bug: nutpie whose draws are under-dispersed.

        ``share``: an honest nutpie fitter of the same spec whose compiled model is reused
        (nutpie's compiled model is immutable; ``with_data`` makes a new one per refit).
        """

        name = "nutpie-shrunk"

        def __init__(self, spec, settings=None, *, factor: float, share=None):
            self.factor = factor
            self._share = share
            super().__init__(spec, settings)

        def _compile(self):
            if self._share is None:
                super()._compile()
                return
            assert self._share.spec is self.spec
            self._compiled = self._share._compiled

        def _sample(self, y, seed):
            raw = super()._sample(y, seed)
            raw.posterior = shrink_toward_mean(raw.posterior, self.factor)
            return raw

    return ShrinkingNutpie


# ---------------------------------------------------------------- fixtures (compile once)


def _settings():
    from glmcheck.fitters import FitSettings

    return FitSettings(chains=CHAINS, tune=TUNE, draws=DRAWS)


def _nutpie(case, frontend):
    require_modules("nutpie")
    from glmcheck.fitters import make_fitter
    from glmcheck.frontends import build

    return make_fitter("nutpie", build(case, frontend, CASE.reference_data()), _settings())


@pytest.fixture(scope="module")
def data():
    return CASE.reference_data()


@pytest.fixture(scope="module")
def exact(data):
    return CASE.exact_posterior(data)


@pytest.fixture(scope="module")
def pymc_fitter():
    return _nutpie(CASE, "pymc")


@pytest.fixture(scope="module")
def pymc_fit(pymc_fitter):
    return pymc_fitter.fit(seed=1)


@pytest.fixture(scope="module")
def bambi_fitter():
    return _nutpie(CASE, "bambi")


def _shrinking(fitter, factor):
    return _shrinking_nutpie()(fitter.spec, fitter.settings, factor=factor, share=fitter)


def _worst(result: CheckResult) -> dict:
    return max(result.rows, key=lambda r: abs(r["z"]))


# ---------------------------------------------------------------- a. exact


@pytest.mark.slow
def test_exact_passes_the_correct_model(pymc_fit, exact):
    result = check_exact(pymc_fit, exact)
    assert result.passed, str(result)
    assert result.threshold["k"] == 15 and result.threshold["alpha"] == ALPHA


@pytest.mark.slow
def test_exact_catches_a_wrong_noise_scale(exact):
    wrong = _nutpie(WrongNoise(), "pymc").fit(seed=1)
    result = check_exact(wrong, exact)
    assert result.passed is False, str(result)
    assert _worst(result)["param"] == "sigma"
    # sigma is estimated 1/1.1 of the truth; the coefficients are (nearly) unaffected
    failing = {r["param"] for r in result.rows if not r["passed"]}
    assert failing == {"sigma"}, str(result)


# ---------------------------------------------------------------- b. agreement: samplers


@pytest.mark.slow
def test_agreement_passes_two_honest_fits(pymc_fitter, pymc_fit):
    other = pymc_fitter.fit(seed=2)
    result = check_agreement(pymc_fit, other)
    assert result.passed, str(result)


@pytest.mark.slow
def test_agreement_catches_an_under_dispersed_sampler(pymc_fitter, pymc_fit):
    shrunk = _shrinking(pymc_fitter, 0.9).fit(seed=2)
    assert shrunk.sampler == "nutpie-shrunk"
    result = check_agreement(pymc_fit, shrunk)
    assert result.passed is False, str(result)
    # a shrinkage leaves the means alone and moves sds and outer quantiles
    assert {r["statistic"] for r in result.rows if not r["passed"]} <= {"sd", "q05", "q95"}


# ---------------------------------------------------------------- c. agreement: frontends


@pytest.mark.slow
def test_agreement_passes_bambi_with_the_same_priors(pymc_fit, bambi_fitter, exact):
    bambi = bambi_fitter.fit(seed=3)
    assert bambi.frontend == "bambi"
    result = check_agreement(pymc_fit, bambi)
    assert result.passed, str(result)
    assert check_exact(bambi, exact).passed


@pytest.mark.slow
def test_agreement_catches_a_different_bambi_prior(pymc_fit):
    wrong = _nutpie(WrongBambiPrior(), "bambi").fit(seed=3)
    assert wrong.case == pymc_fit.case and wrong.frontend == "bambi"
    result = check_agreement(pymc_fit, wrong)
    assert result.passed is False, str(result)
    assert "Intercept" in {r["param"] for r in result.rows if not r["passed"]}


# ---------------------------------------------------------------- d. recovery and coverage


@pytest.mark.slow
def test_recovery_passes_the_reference_data(pymc_fit):
    result = check_recovery(pymc_fit, TRUTH)
    assert result.passed, str(result)


@pytest.mark.slow
def test_recovery_catches_data_simulated_at_other_parameters(pymc_fitter):
    off = CASE.simulate_data({**TRUTH, "slope": 3.0}, np.random.default_rng(11))
    posterior = pymc_fitter.fit(off[CASE.response].to_numpy(), seed=4)
    result = check_recovery(posterior, TRUTH)
    assert result.passed is False, str(result)
    assert _worst(result)["param"] == "slope"


def _coverage(fitter, outcome_of, k=COVERAGE_SETS):
    """``glmcheck check``'s coverage of ``fitter`` (the runner's own code path)."""
    from glmcheck.runner import CheckRequest, _coverage

    outcome = outcome_of
    outcome.fitter = fitter
    request = CheckRequest(cases=[CASE], frontends=["pymc"], checks=["coverage"],
                           coverage_sets=k)
    (result,) = list(_coverage(request, outcome, lambda *a: None))
    return result


@pytest.fixture(scope="module")
def outcome(pymc_fitter, pymc_fit):
    from glmcheck.runner import FitOutcome

    return FitOutcome(case=CASE, data=CASE.reference_data(), truth=TRUTH, spec=pymc_fitter.spec,
                      fitter=pymc_fitter, posterior=pymc_fit, result=summarize(pymc_fit, {}))


@pytest.mark.slow
def test_coverage_passes_the_correct_model(pymc_fitter, outcome):
    result = _coverage(pymc_fitter, outcome)
    assert result.passed, str(result)
    assert [r["param"] for r in result.rows] == ["Intercept", "slope", "sigma", "loglik"]
    assert all(r["of"] == COVERAGE_SETS for r in result.rows)


@pytest.mark.slow
def test_coverage_catches_an_under_dispersed_sampler(pymc_fitter, outcome):
    result = _coverage(_shrinking(pymc_fitter, 0.25), outcome)
    assert result.passed is False, str(result)
    # z-scores spread wider than N(0, 1) (by less than ×4: ranks among L = 200 draws cap |z|)
    spread = {r["param"]: r["z_sd"] for r in result.rows if not r["passed"]}
    assert any(spread.get(p, 0) > 1.5 for p in ("Intercept", "slope", "sigma")), spread


@pytest.mark.slow
def test_coverage_catches_refits_that_keep_the_old_data(pymc_fitter, outcome):
    class Stale(type(pymc_fitter)):
        def __init__(self, share):
            self.__dict__.update(share.__dict__)

        def fit(self, y=None, *, seed, settings=None):
            return super().fit(None, seed=seed, settings=settings)  # the compiled data

    result = _coverage(Stale(pymc_fitter), outcome)
    assert result.passed is False, str(result)


# ---------------------------------------------------------------- convergence


@pytest.mark.slow
def test_convergence_passes_an_honest_fit(pymc_fit):
    result = check_convergence(pymc_fit)
    assert result.passed, str(result)


def _posterior(draws: dict, *, stats: dict | None = None, case="linear", sampler="fake",
               frontend="pymc", **extra) -> Posterior:
    """A Posterior built directly from arrays of shape (chain, draw)."""
    ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, float)) for k, v in draws.items()})
    st_ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v)) for k, v in (stats or {}).items()})
    return Posterior(case=case, frontend=frontend, sampler=sampler, seed=0, draws=ds, stats=st_ds,
                     timing=Timing(compile=0.0, fit=0.0), **extra)


def _iid(exact, seed=0, chains=4, n=1000, **scale) -> Posterior:
    """Independent draws from the exact posterior (a perfect sampler), optionally scaled."""
    draws = exact.draws(chains * n, np.random.default_rng(seed))
    draws = {k: np.reshape(v * scale.get(k, 1.0), (chains, n)) for k, v in draws.items()}
    rng = np.random.default_rng(seed + 1)
    return _posterior(draws, stats={"diverging": np.zeros((chains, n), bool),
                                    "energy": rng.normal(size=(chains, n))})


def test_convergence_catches_stuck_chains_and_divergences(exact):
    good = _iid(exact)
    assert check_convergence(good).passed
    stuck = good.draws.copy(deep=True)
    stuck["slope"].values[3] += 0.5  # one chain ~4 posterior sds away
    result = check_convergence(_posterior({k: v.values for k, v in stuck.items()}))
    assert result.passed is False and "R-hat" in result.message, str(result)
    diverging = np.zeros((4, 1000), bool)
    diverging[1, :3] = True
    bad = _posterior({k: v.values for k, v in good.draws.items()}, stats={"diverging": diverging})
    result = check_convergence(bad)
    assert result.passed is False and "3 divergent" in result.message, str(result)


def _arrays(post: Posterior) -> dict:
    return {k: v.values.copy() for k, v in post.draws.items()}


def _all_stats(chains=4, n=1000, seed=1) -> dict:
    """Every statistic a NUTS sampler reports, healthy: no divergences, E-BFMI ~2 (independent
    energies), tree depth 3 of at most 10."""
    rng = np.random.default_rng(seed)
    return {"diverging": np.zeros((chains, n), bool), "energy": rng.normal(size=(chains, n)),
            "tree_depth": np.full((chains, n), 3)}


def test_a_nan_rhat_fails_the_row_and_the_fit_whatever_its_place(exact):
    values = _arrays(_iid(exact))
    values["slope"][:] = 2.0  # constant draws: R-hat is 0/0 = NaN
    post = _posterior(values, stats=_all_stats())
    summary = summarize(post)
    assert [p.name for p in summary.params] == ["Intercept", "slope", "sigma"]
    assert math.isnan(next(p.r_hat for p in summary.params if p.name == "slope"))
    # Python's max() skips a NaN that is not first: the fit read as converged
    assert math.isnan(summary.max_rhat)
    assert summary.converged is False and summary.to_dict()["converged"] is False
    for order in (["slope", "Intercept", "sigma"], ["Intercept", "sigma", "slope"]):
        summary.params.sort(key=lambda p: order.index(p.name))
        assert math.isnan(summary.max_rhat) and summary.converged is False, order
    result = check_convergence(post)
    assert result.passed is False, str(result)
    assert [r["param"] for r in result.rows if not r["passed"]] == ["slope"]
    assert "NaN" in result.message and "slope" in result.message
    assert result.details["gates"]["R-hat/ESS"] == "failed"
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_nan_ess_fails_the_fit_result():
    from glmcheck.results import FitResult, ParamSummary

    def param(name, ess):
        return ParamSummary(name=name, native=name, mean=0.0, sd=1.0, q05=-1.6, q95=1.6,
                            mcse_mean=0.01, ess_bulk=ess, ess_tail=2000.0, r_hat=1.001)

    fit = FitResult(case="c", frontend="pymc", sampler="s", seed=0, settings={},
                    params=[param("a", 1500.0), param("b", math.nan)], divergences=0,
                    gradient_evals=None, timing={})
    assert math.isnan(fit.min_ess)


def test_a_nan_ebfmi_fails(exact):
    stats_ = _all_stats()
    stats_["energy"] = stats_["energy"].astype(float)
    stats_["energy"][2, 17] = np.nan
    result = check_convergence(_posterior(_arrays(_iid(exact)), stats=stats_))
    assert result.passed is False, str(result)
    assert result.details["gates"]["E-BFMI"] == "failed"
    assert math.isnan(result.details["ebfmi"][2])
    assert all(v > 0.3 for i, v in enumerate(result.details["ebfmi"]) if i != 2)
    assert "E-BFMI" in result.message
    assert result.to_dict()["details"]["ebfmi"][2] is None  # JSON: NaN -> null


def test_diagnostics_the_sampler_does_not_provide_are_listed_never_passed(exact):
    good = _iid(exact)
    full = check_convergence(_posterior(_arrays(good), stats=_all_stats(), max_tree_depth=10))
    assert full.passed, str(full)
    assert full.details["not_available"] == []
    assert set(full.details["gates"].values()) == {"passed"}
    assert "not available" not in full.message

    # a user's sampler that reports only divergences: E-BFMI and tree depth cannot be computed
    only_div = {"diverging": np.zeros((4, 1000), bool)}
    result = check_convergence(_posterior(_arrays(good), stats=only_div))
    assert result.details["not_available"] == ["E-BFMI", "tree depth"]
    assert result.details["gates"]["E-BFMI"] == result.details["gates"]["tree depth"] == (
        "not available")
    assert result.details["ebfmi"] is None and result.details["saturated_draws"] is None
    # the gates that were computed decide the verdict; the message names what was not
    assert result.passed, str(result)
    assert "not available" in result.message
    assert "E-BFMI" in result.message and "tree depth" in result.message
    assert "E-BFMI" in str(result) and "E-BFMI" in check_table_text([result])

    # a tree_depth statistic without the sampler's maximum cannot be judged either
    no_max = check_convergence(_posterior(_arrays(good), stats=_all_stats()))
    assert no_max.details["not_available"] == ["tree depth"]
    assert "maximum tree depth" in no_max.message

    # no statistics at all: divergences are not available, not zero
    bare = _posterior(_arrays(good))
    assert bare.divergences is None
    summary = summarize(bare)
    assert summary.divergences is None and summary.to_dict()["divergences"] is None
    assert summary.not_available == ["divergences", "tree depth"]
    result = check_convergence(bare)
    assert result.details["not_available"] == ["divergences", "E-BFMI", "tree depth"]
    assert "no divergences" not in result.message

    # a computed gate that fails still fails; the unavailable ones are listed beside it
    stuck = _arrays(good)
    stuck["slope"][3] += 0.5
    result = check_convergence(_posterior(stuck, stats=only_div))
    assert result.passed is False and "R-hat" in result.message
    assert "not available" in result.message


def test_tree_depth_saturation_fails(exact):
    values = _arrays(_iid(exact))
    healthy = _all_stats()
    result = check_convergence(_posterior(values, stats=healthy, max_tree_depth=10))
    assert result.passed and result.details["saturated_draws"] == 0
    assert result.details["deepest_draw"] == 3 and "tree depth 3 of 10" in result.message

    saturated = _all_stats()
    saturated["tree_depth"][1, [5, 700]] = 10
    post = _posterior(values, stats=saturated, max_tree_depth=10)
    assert post.saturated_draws == 2
    result = check_convergence(post)
    assert result.passed is False, str(result)
    assert result.details["gates"]["tree depth"] == "failed"
    assert result.details["saturated_draws"] == 2
    assert "2 of 4000 draws reached the maximum tree depth 10" in result.message
    # the rule is a parameter: with room for 2 saturated draws this fit passes
    assert check_convergence(post, max_saturated=2).passed
    summary = summarize(post)
    assert summary.max_tree_depth == 10 and summary.saturated_draws == 2

    nan_depth = _all_stats()
    nan_depth["tree_depth"] = nan_depth["tree_depth"].astype(float)
    nan_depth["tree_depth"][0, 0] = np.nan
    result = check_convergence(_posterior(values, stats=nan_depth, max_tree_depth=10))
    assert result.passed is False and result.details["gates"]["tree depth"] == "failed"


def check_table_text(results) -> str:
    import io

    from rich.console import Console

    from glmcheck.report import check_table

    console = Console(width=300, record=True, file=io.StringIO(), color_system=None)
    console.print(check_table(results))
    return console.export_text()


def test_exact_with_independent_draws(exact):
    """No sampling: draws from the exact posterior pass; sigma scaled by 1.1 fails."""
    assert check_exact(_iid(exact), exact).passed
    result = check_exact(_iid(exact, sigma=1.1), exact)
    assert result.passed is False and _worst(result)["param"] == "sigma"


# ---------------------------------------------------------------- e. results and bad input


def _fewest_sets_that_can_fail(alpha=ALPHA, params=3, prob=0.9) -> int:
    """The smallest K at which coverage 0 of K would fail a binomial test of 90 % intervals:
    P(X = 0 | K, prob) <= alpha / params, i.e. 0.1**K <= 1e-4 / 3: K = 5."""
    return next(k for k in range(1, 100) if stats.binom.pmf(0, k, prob) <= alpha / params)


def _cover(sims):
    return check_coverage(sims, case="linear", frontend="pymc", sampler="nutpie")


def test_results_round_trip_to_json_and_print_a_verdict(exact):
    good, other = _iid(exact, seed=0), _iid(exact, seed=5)
    shifted = _iid(exact, seed=5, slope=1.5)
    k = _fewest_sets_that_can_fail()
    assert k == 5
    # the true slope 2 lies ~0.5 posterior sds from the exact posterior's mean (covered in
    # every set: passes) and ~5 sds from the slope scaled x1.5 (covered in none: p = 1e-5 <
    # 1e-4 / 3, fails whatever the draws)
    calibrated = [{"ok": True, "L": 200, "ranks": {"slope": r}} for r in (10, 190, 60, 140, 100)]
    stuck = [{"ok": True, "L": 200, "ranks": {"slope": 0}} for _ in range(k)]
    results = [
        check_exact(good, exact), check_exact(shifted, exact),
        check_agreement(good, other), check_agreement(good, shifted),
        check_recovery(good, TRUTH), check_recovery(good, {**TRUTH, "slope": 3.0}),
        check_convergence(good), _cover(calibrated), _cover(stuck),
    ]
    assert [r.passed for r in results] == [True, False, True, False, True, False, True, True, False]
    assert [r["param"] for r in results[-1].rows if not r["passed"]] == ["slope"]
    for result in results:
        d = result.to_dict()
        assert json.loads(json.dumps(d, allow_nan=False)) == d
        assert d["check"] == result.check and d["passed"] == result.passed
        assert d["subject"] == result.subject
        text = str(result)
        assert text.startswith("PASS " if result.passed else "FAIL ")
        assert result.check in text.splitlines()[0]
        if not result.passed:  # the failing rows are printed
            assert len(text.splitlines()) > 2


def test_non_finite_numbers_become_json(exact):
    result = check_exact(_iid(exact), exact)
    result.rows[0]["z"] = math.inf
    result.rows[1]["z"] = math.nan
    d = result.to_dict()
    assert d["rows"][0]["z"] == "inf" and d["rows"][1]["z"] is None
    json.dumps(d, allow_nan=False)


def test_agreement_rejects_mismatched_parameter_maps(exact):
    full = _iid(exact)
    partial = _posterior({k: v.values for k, v in full.draws.items() if k != "sigma"},
                         sampler="other")
    with pytest.raises(UsageError, match="parameter maps do not match.*sigma"):
        check_agreement(full, partial)
    renamed = _posterior({("x" if k == "slope" else k): v.values for k, v in full.draws.items()},
                         frontend="bambi")
    with pytest.raises(UsageError, match="parameter maps do not match"):
        check_agreement(full, renamed)
    with pytest.raises(UsageError, match="different cases"):
        check_agreement(full, _posterior({k: v.values for k, v in full.draws.items()},
                                         case="polynomial"))


@pytest.mark.parametrize("check", ["exact", "agreement", "recovery", "convergence"])
def test_nan_draws_are_usage_errors(exact, check):
    good = _iid(exact)
    values = {k: v.values.copy() for k, v in good.draws.items()}
    values["slope"][2, 17] = np.nan
    bad = _posterior(values)
    call = {
        "exact": lambda: check_exact(bad, exact),
        "agreement": lambda: check_agreement(good, bad),
        "recovery": lambda: check_recovery(bad, TRUTH),
        "convergence": lambda: check_convergence(bad),
    }[check]
    with pytest.raises(UsageError, match=r"NaN.*slope"):
        call()


def test_exact_needs_every_parameter_of_the_reference(exact):
    no_sigma = _posterior({k: v.values for k, v in _iid(exact).draws.items() if k != "sigma"})
    with pytest.raises(UsageError, match="sigma"):
        check_exact(no_sigma, exact)


def test_recovery_and_coverage_reject_bad_truth(exact):
    post = _iid(exact)
    with pytest.raises(UsageError, match="no true value for parameter 'sigma'"):
        check_recovery(post, {"Intercept": 1.0, "slope": 2.0})
    with pytest.raises(UsageError, match="elements"):
        check_recovery(post, {**TRUTH, "slope": [2.0, 3.0]})
    with pytest.raises(UsageError, match="at least one simulation"):
        _cover([])


# ---------------------------------------------------------------- f. multiplicity


@PROPERTY
@given(alpha=st.floats(1e-10, 0.5), k=st.integers(1, 10**6), factor=st.floats(1.01, 1e3))
def test_bonferroni_z_grows_with_k_and_shrinks_with_alpha(alpha, k, factor):
    z = bonferroni_z(alpha, k)
    assert z > 0
    assert bonferroni_z(alpha, k + 1) > z
    if alpha * factor < 1:
        assert bonferroni_z(alpha * factor, k) < z
    # k two-sided tests at |z| < threshold have total false-alarm probability alpha
    assert k * two_sided_p(z) == pytest.approx(alpha, rel=1e-6)


@PROPERTY
@given(n=st.integers(1, 10_000), share=st.floats(0, 1), prob=st.floats(0.5, 0.999))
def test_beta_interval(n, share, prob):
    k = round(share * n)
    lo, hi = beta_interval(k, n, prob)
    posterior = stats.beta(k + 1, n - k + 1)
    assert 0 < lo < hi < 1
    assert posterior.cdf(hi) - posterior.cdf(lo) == pytest.approx(prob, abs=1e-8)
    assert lo <= posterior.median() <= hi
    if 0 < k < n:
        # k/n is the mode of Beta(k+1, n-k+1); a central interval of prob >= 0.5 holds it
        assert lo <= k / n <= hi
    else:
        # at the edges it does not: the central interval never reaches 0 or 1
        assert not lo <= k / n <= hi
    lo_mirror, hi_mirror = beta_interval(n - k, n, prob)
    assert (lo_mirror, hi_mirror) == pytest.approx((1 - hi, 1 - lo), abs=1e-9)
    if k < n:
        assert beta_interval(k + 1, n, prob)[0] > lo


def test_multiplicity_rejects_bad_arguments():
    for alpha, k in [(0.0, 1), (1.0, 1), (0.05, 0)]:
        with pytest.raises(UsageError):
            bonferroni_z(alpha, k)
    for successes, trials in [(-1, 5), (6, 5), (0, 0)]:
        with pytest.raises(UsageError):
            beta_interval(successes, trials)


def test_a_check_names_the_route_of_its_fit(exact):
    """The public route's fit and the compiled one's are different subjects (records and
    ``glmcheck compare`` match checks on their subject)."""
    good = _iid(exact)
    public = _posterior({k: v.values for k, v in good.draws.items()}, route="public")
    assert check_convergence(good).subject == "linear · pymc · fake"
    result = check_convergence(public)
    assert result.subject == "linear · pymc · fake · public" and result.to_dict()["route"] == "public"
