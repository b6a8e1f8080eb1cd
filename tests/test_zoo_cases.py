"""Every case of the zoo: both frontends build the same model, the simulator matches it, fits converge.

1. both frontends build;
2. the hand-written PyMC model and the Bambi model have the same log density up to a constant,
   point by point in the unconstrained space;
3. the case's numpy/scipy simulator and PyMC's prior predictive agree (two-sample KS tests on
   parameter draws and data-set summaries);
4. data validation accepts the reference data and rejects wrong types;
5. (slow) NUTS fits on the reference data pass every convergence gate with nutpie and PyMC, both
   frontends, at the settings ``glmcheck check`` ships: 4 chains × (1000 warm-up + 1000 draws),
   target_accept 0.8, and each case's own ``fit_settings`` (varying_intercept: 2000 draws,
   0.95). Their measured false-alarm rates there (README, "Measured false-alarm rates", nutpie)
   are 0 in 400-1200 fits per case except ``linear``'s 3 in 2400 (R-hat noise, 0.0013 per
   fit). Earlier this test ran 2 chains × 1000 draws at target_accept 0.8 for every case, which
   the README measures as unreliable for varying_intercept (~0.8 % per fit even with 4 chains):
   one machine's draws failed it with R-hat 1.0108. The seed below is arbitrary.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from glmcheck import compat
from glmcheck.cases import get_case
from glmcheck.checks import check_convergence
from glmcheck.errors import UsageError
from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.frontends import FRONTENDS, build
from glmcheck.runner import FitRequest

pytestmark = [
    # PyTensor without BLAS says so once per process on some installs; not ours to fix.
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS installation:UserWarning"),
    # PyMC's NUTS may overflow the kinetic energy at a wild early warm-up point; it rejects the
    # proposal and goes on. Not ours to fix.
    pytest.mark.filterwarnings(
        "ignore:overflow encountered:RuntimeWarning:pymc.step_methods.hmc.quadpotential"
    ),
    # numba (nutpie's backend on the old stack) on a non-contiguous matrix product.
    pytest.mark.filterwarnings(r"ignore:np\.dot\(\) is faster on contiguous arrays"),
]

CASES = ("linear", "polynomial", "logistic", "poisson", "negbinomial", "shrinkage", "varying_intercept")
COUNT_FAMILIES = ("poisson", "negativebinomial")

#: Family-wise false-alarm rate of the KS tests of one case (Bonferroni over its K tests).
KS_FAMILY_ALPHA = 0.001
N_PRIOR_DRAWS = 1000


@functools.cache
def _spec(name: str, frontend: str):
    return build(name, frontend)


# -- 1. both frontends build ---------------------------------------------------------------
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("name", CASES)
def test_frontend_builds(name, frontend):
    spec = _spec(name, frontend)
    case = spec.case
    assert case.name == name
    assert [rv.name for rv in spec.model.observed_RVs] == [case.response]
    assert set(spec.native_params) <= set(spec.model.named_vars)
    assert len(case.params) == len(set(case.params))
    assert set(case.true_params) == set(case.params)
    assert case.plot_x in case.predictors
    assert isinstance(case.reference_seed, int)
    # the same seed for design and noise would make the noise a copy of a predictor
    assert case.reference_seed != getattr(case, "design_seed", None)


# -- 2. the same log density ---------------------------------------------------------------
def _value_var_map(name: str) -> dict[str, str]:
    """PyMC value-variable name -> Bambi value-variable name (via the case's name map)."""
    case = get_case(name)
    mp, mb = _spec(name, "pymc").model, _spec(name, "bambi").model
    mapping = {}
    for rv in mp.free_RVs:
        bambi_rv = mb[case.bambi_name(rv.name)]
        mapping[mp.rvs_to_values[rv].name] = mb.rvs_to_values[bambi_rv].name
    assert sorted(mapping.values()) == sorted(v.name for v in mb.value_vars), (
        f"free variables differ: PyMC {sorted(mapping)} vs Bambi {[v.name for v in mb.value_vars]}"
    )
    return mapping


@pytest.mark.parametrize("name", CASES)
def test_logp_equal_up_to_constant(name):
    mp, mb = _spec(name, "pymc").model, _spec(name, "bambi").model
    mapping = _value_var_map(name)
    logp_pymc, logp_bambi = mp.compile_logp(), mb.compile_logp()
    start_p, start_b = mp.initial_point(), mb.initial_point()
    for pv, bv in mapping.items():
        assert np.shape(start_p[pv]) == np.shape(start_b[bv]), (pv, bv)
    rng = np.random.default_rng(20240611)
    diffs, scale = [], []
    for _ in range(10):
        point_p = {k: rng.normal(0.0, 1.0, size=np.shape(v)) for k, v in start_p.items()}
        point_b = {mapping[k]: v for k, v in point_p.items()}
        lp, lb = float(logp_pymc(point_p)), float(logp_bambi(point_b))
        assert np.isfinite(lp) and np.isfinite(lb)
        diffs.append(lp - lb)
        scale.append(max(abs(lp), abs(lb)))
    assert np.ptp(diffs) <= 1e-8 * max(1.0, max(scale)), f"logp differences not constant: {diffs}"


@pytest.mark.parametrize("name", CASES)
def test_from_bambi_matches_pymc_names(name):
    """Prior draws through ``canonical``: same variables, dims and coords from both frontends."""
    import pymc as pm

    canon = {}
    for frontend in FRONTENDS:
        spec = _spec(name, frontend)
        result = pm.sample_prior_predictive(draws=5, model=spec.model, random_seed=1)
        canon[frontend] = spec.canonical(compat.group(result, "prior"))
    ds_p, ds_b = canon["pymc"], canon["bambi"]
    assert list(ds_p.data_vars) == list(ds_b.data_vars) == list(get_case(name).params)
    for var in ds_p.data_vars:
        assert ds_p[var].dims == ds_b[var].dims, var
        for dim in ds_p[var].dims:
            if dim in ("chain", "draw"):
                continue
            assert list(ds_p[var][dim].values) == list(ds_b[var][dim].values), (var, dim)


# -- 3. simulator vs PyMC prior predictive ---------------------------------------------------
def _corr(x: np.ndarray, y: np.ndarray) -> float:
    sx, sy = x.std(), y.std()
    return 0.0 if sx == 0 or sy == 0 else float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def _summaries(case, design: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """A few summaries of one simulated data set."""
    y = np.asarray(y, dtype=float)
    out = {"mean": y.mean()}
    if case.family != "bernoulli":  # a Bernoulli sd is a function of the mean
        out["sd"] = y.std()
    if case.family in COUNT_FAMILIES:
        out["frac_zero"] = float(np.mean(y == 0))
    for column in case.predictors:
        if pd.api.types.is_numeric_dtype(design[column]) and not case._is_grouping(column):
            out[f"corr_{column}"] = _corr(design[column].to_numpy(float), y)
        else:
            out[f"sd_means_{column}"] = float(pd.Series(y).groupby(design[column].to_numpy()).mean().std())
    return out


def _flat_params(params: dict) -> dict[str, float]:
    out = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=float)
        if value.ndim == 0:
            out[name] = float(value)
        else:
            out.update({f"{name}[{i}]": float(v) for i, v in enumerate(value.ravel())})
    return out


@pytest.mark.parametrize("name", CASES)
def test_simulator_matches_pymc_prior_predictive(name):
    import pymc as pm

    case = get_case(name)
    spec = _spec(name, "pymc")
    design = case.design()
    result = pm.sample_prior_predictive(draws=N_PRIOR_DRAWS, model=spec.model, random_seed=314159)
    prior = compat.group(result, "prior")
    prior_pred = compat.group(result, "prior_predictive")

    y_pymc = prior_pred[case.response].values.reshape(N_PRIOR_DRAWS, -1)
    pymc_params = [
        _flat_params({p: prior[p].values.reshape(N_PRIOR_DRAWS, *prior[p].shape[2:])[i] for p in case.params})
        for i in range(N_PRIOR_DRAWS)
    ]
    rng = np.random.default_rng(271828)
    sim_params, y_sim = [], []
    for _ in range(N_PRIOR_DRAWS):
        params = case.draw_params(rng)
        sim_params.append(_flat_params(params))
        y_sim.append(case.simulate(params, design, rng))

    a = pd.DataFrame([_summaries(case, design, y) for y in y_pymc]).join(pd.DataFrame(pymc_params))
    b = pd.DataFrame([_summaries(case, design, y) for y in y_sim]).join(pd.DataFrame(sim_params))
    assert list(a.columns) == list(b.columns)
    # Bonferroni: family-wise false-alarm rate KS_FAMILY_ALPHA = 0.001 over the K tests of this case.
    per_test_alpha = KS_FAMILY_ALPHA / a.shape[1]
    pvalues = {col: stats.ks_2samp(a[col], b[col]).pvalue for col in a.columns}
    failed = {col: p for col, p in pvalues.items() if p < per_test_alpha}
    assert not failed, f"simulator and PyMC prior predictive differ (KS p < {per_test_alpha:.2g}): {failed}"


# -- 4. data validation -------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_reference_data_is_valid(name):
    case = get_case(name)
    data = case.reference_data()
    assert case.validate_data(data) is data
    assert len(data) == len(case.design())
    assert list(data.columns) == [*case.design().columns, case.response]
    y = data[case.response].to_numpy()
    if case.family == "bernoulli":
        assert 0 < y.mean() < 1
    if case.family in COUNT_FAMILIES:
        assert np.issubdtype(y.dtype, np.integer) and (y >= 0).all()


def _bad_data(case) -> list[tuple[str, pd.DataFrame]]:
    ref = case.reference_data()
    bad = [
        ("string response", ref.assign(**{case.response: ref[case.response].astype(str)})),
        ("missing predictor", ref.drop(columns=[case.predictors[-1]])),
        ("NaN response", ref.assign(**{case.response: np.where(np.arange(len(ref)) == 3, np.nan, ref[case.response])})),
    ]
    y = ref[case.response].to_numpy()
    if case.family == "bernoulli":
        bad.append(("value 2", ref.assign(**{case.response: np.where(np.arange(len(y)) == 0, 2, y)})))
        bad.append(("probabilities", ref.assign(**{case.response: np.full(len(y), 0.5)})))
    if case.family in COUNT_FAMILIES:
        bad.append(("non-integer counts", ref.assign(**{case.response: y + 0.5})))
        bad.append(("negative count", ref.assign(**{case.response: np.where(np.arange(len(y)) == 0, -1, y)})))
    if case.name == "varying_intercept":
        bad.append(("no group column", ref.drop(columns=["group"])))
        unused = ref.assign(group=pd.Categorical(ref["group"], categories=[*sorted(set(ref["group"])), "g99"]))
        bad.append(("unused group level", unused))
        bad.append(("one group", ref.assign(group="g01")))
    return bad


@pytest.mark.parametrize("name", CASES)
def test_wrong_data_is_rejected(name):
    case = get_case(name)
    for label, data in _bad_data(case):
        with pytest.raises(UsageError):
            case.validate_data(data, source=label)
        with pytest.raises(UsageError):
            build(case, "pymc", data)


@pytest.mark.parametrize("name", CASES)
def test_simulated_response_is_accepted(name):
    """A response drawn from the prior fits the spec's refit path (dtype, family checks)."""
    case = get_case(name)
    spec = _spec(name, "pymc")
    y = case.simulate(case.draw_params(np.random.default_rng(5)), case.design(), np.random.default_rng(6))
    assert spec.response_values(y).shape == (len(spec.data),)


# -- 5. NUTS fits converge ------------------------------------------------------------------
#: ``glmcheck check``'s settings (before a case's own fit_settings)
CHECK_SETTINGS = FitSettings(chains=4, tune=1000, draws=1000)
#: any seed: the gates' false-alarm rates at these settings do not depend on it
SEED = 1234


def shipped_settings(case) -> FitSettings:
    """What ``glmcheck check`` fits ``case`` with: its own fit settings over the defaults."""
    return FitRequest(settings=CHECK_SETTINGS).settings_for(case)


@pytest.mark.slow
@pytest.mark.parametrize("frontend", FRONTENDS)
# PyMC's own NUTS (a Python loop, minutes for the zoo) runs with the whole version matrix
@pytest.mark.parametrize("sampler", ("nutpie", pytest.param("pymc", marks=pytest.mark.matrix)))
@pytest.mark.parametrize("name", CASES)
def test_fit_converges(name, sampler, frontend):
    spec = _spec(name, frontend)
    settings = shipped_settings(spec.case)
    assert settings.chains == 4
    posterior = make_fitter(sampler, spec, settings).fit(seed=SEED)
    assert list(posterior.draws.data_vars) == list(spec.case.params)
    assert posterior.settings == settings.to_dict()
    # R-hat, bulk and tail ESS, divergences, E-BFMI, tree depth: every gate computed, all pass
    result = check_convergence(posterior)
    assert result.details["not_available"] == [], str(result)
    assert result.passed, str(result)
