"""nutpie's fitter reads nutpie's raw trace itself (``glmcheck.fitters.nutpie``): for every
built-in case and frontend, the same posterior and statistics, bit for bit, as nutpie's own
conversion of the same fit; nutpie's conversion where the raw trace is in a format it does not
know; and the same record of what ran as before.

Tests that sample are marked ``slow`` (each model is compiled once for the module); the format
checks build Arrow record batches by hand and run in a second.
"""

import logging

import numpy as np
import pyarrow as pa
import pytest
import xarray as xr

from glmcheck import compat
from glmcheck.cases import list_cases
from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.fitters import nutpie as nutpie_fitter
from glmcheck.fitters.nutpie import TraceFormatError, datasets_from_raw_trace
from glmcheck.frontends import build
from glmcheck.posterior import STAT_NAMES

SETTINGS = FitSettings(chains=2, tune=200, draws=100)
#: every case once and both frontends of the cases with vector parameters (their dims and
#: coords differ between the frontends), frontends alternating over the rest: each combination
#: costs a compile, and the scalar cases' two frontends read the same columns
_VECTOR = ("shrinkage", "varying_intercept")
COMBOS = [
    (case.name, frontend)
    for i, case in enumerate(list_cases())
    for frontend in (("pymc", "bambi") if case.name in _VECTOR else (("pymc", "bambi")[i % 2],))
]

_FITTERS = {}


@pytest.fixture(scope="module")
def fitter_for():
    """One compiled nutpie fitter per (case, frontend) for the module."""

    def get(case, frontend):
        if (case, frontend) not in _FITTERS:
            _FITTERS[case, frontend] = make_fitter("nutpie", build(case, frontend), SETTINGS)
        return _FITTERS[case, frontend]

    yield get
    _FITTERS.clear()


@pytest.fixture
def sample_calls(monkeypatch):
    """Every ``nutpie.sample`` call of the fitter, as (compiled model, keyword arguments)."""
    import nutpie

    calls = []
    original = nutpie.sample

    def recording(model, **kwargs):
        calls.append((model, kwargs))
        return original(model, **kwargs)

    monkeypatch.setattr(nutpie, "sample", recording)
    return calls


def nutpie_conversion(model, kwargs):
    """(posterior, kept statistics) of nutpie's own conversion of a fit with the same compiled
    model and arguments: the statistics of STAT_NAMES, nutpie's ``logp`` as ``lp`` and
    ``tree_depth`` as the doublings started (``depth``, plus one where the steps exceed it)."""
    import nutpie

    kwargs = {k: v for k, v in kwargs.items() if k not in ("return_raw_trace", "blocking")}
    trace = nutpie.sample(model, **kwargs)
    raw = compat.group(trace, "sample_stats")
    depth = raw["depth"].values.astype("int64")
    stats = raw.rename({"logp": "lp"})
    stats["tree_depth"] = raw["depth"].copy(
        data=depth + (raw["n_steps"].values.astype("int64") > 2**depth - 1)
    )
    return compat.group(trace, "posterior"), stats[[n for n in STAT_NAMES if n in stats]]


def assert_same_data(fast: xr.Dataset, ref: xr.Dataset) -> None:
    """Same variables in the same order, bitwise-equal values, same dims, coords and dtypes."""
    assert list(fast.data_vars) == list(ref.data_vars)
    for name, var in ref.data_vars.items():
        got = fast[name]
        assert got.dims == var.dims and got.dtype == var.dtype, name
        assert got.values.tobytes() == var.values.tobytes(), name
    assert set(fast.coords) == set(ref.coords)
    for name, coord in ref.coords.items():
        got = fast.coords[name]
        assert got.dims == coord.dims and got.dtype == coord.dtype, name
        np.testing.assert_array_equal(got.values, coord.values)
    assert dict(fast.sizes) == dict(ref.sizes)


def nutpie_record(stats: xr.Dataset) -> dict:
    return {k: v for k, v in stats.attrs.items() if k.startswith("inference_library")}


# -- the raw trace, read as nutpie reads it --------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("case", "frontend"), COMBOS, ids=[f"{c}-{f}" for c, f in COMBOS])
def test_raw_trace_gives_what_nutpies_conversion_gives(fitter_for, sample_calls, case,
                                                       frontend):
    fitter = fitter_for(case, frontend)
    y = fitter.spec.response_values(None)
    sample_calls.clear()  # compiling samples once (JIT warm-up)
    raw = fitter._sample(y, seed=7)
    [(model, kwargs)] = sample_calls  # one sampling, read from the raw trace
    assert kwargs["return_raw_trace"] is True and fitter.trace_format_error is None
    posterior, stats = nutpie_conversion(model, kwargs)
    # nutpie's posterior also has the values of transformed parameters (``sigma_log__``) on
    # nutpie 0.16.8: the fitter reads the model's parameters only, in nutpie's order
    params = fitter.spec.native_params
    assert set(raw.posterior.data_vars) == set(params)
    assert_same_data(raw.posterior, posterior[[n for n in posterior.data_vars if n in params]])
    assert_same_data(raw.stats, stats)
    assert list(raw.stats.data_vars) == list(STAT_NAMES)
    assert nutpie_record(raw.stats) == nutpie_record(stats) == raw.stats.attrs


@pytest.mark.slow
def test_undimmed_and_matrix_parameters_are_read_as_nutpie_reads_them():
    """A parameter without dims gets ArviZ's ``<name>_dim_<i>`` dims numbered from 0, a
    coordinate without values too; a matrix keeps its row-major layout."""
    import nutpie
    import pymc as pm

    with pm.Model(coords={"a": ["u", "v"]}) as model:
        pm.Normal("b", shape=3)
        pm.Normal("c", dims=("a",))
        pm.Normal("d", shape=(2, 3))
        pm.Normal("e", dims=("a", "k"), shape=(2, 4))
    compiled = nutpie.compile_pymc_model(model)
    kwargs = dict(chains=2, tune=50, draws=30, seed=3, progress_bar=False, save_warmup=False)
    trace = nutpie.sample(compiled, return_raw_trace=True, **kwargs)
    posterior, stats = datasets_from_raw_trace(trace, ["b", "c", "d", "e"], compiled.coords)
    ref_posterior, ref_stats = nutpie_conversion(compiled, kwargs)
    assert_same_data(posterior, ref_posterior)
    assert_same_data(stats, ref_stats)
    assert posterior["d"].dims == ("chain", "draw", "d_dim_0", "d_dim_1")


# -- a raw trace in a format nutpie's fitter does not know -----------------------------------


@pytest.mark.slow
def test_an_unknown_trace_format_falls_back_to_nutpies_conversion(fitter_for, sample_calls,
                                                                  monkeypatch, caplog):
    fitter = fitter_for("linear", "pymc")
    y = fitter.spec.response_values(None)
    fast = fitter._sample(y, seed=11)
    assert fitter.trace_format_error is None

    def unknown(*args, **kwargs):
        raise TraceFormatError("planted: a format from the future")

    monkeypatch.setattr(nutpie_fitter, "datasets_from_raw_trace", unknown)
    monkeypatch.setattr(fitter, "trace_format_error", None)  # restored after the test
    sample_calls.clear()
    with caplog.at_level(logging.WARNING, logger="glmcheck.fitters.nutpie"):
        slow = fitter._sample(y, seed=11)
    # the raw trace, then nutpie's conversion of the same fit: same seed, same draws
    assert [kw.get("return_raw_trace", False) for _, kw in sample_calls] == [True, False]
    assert fitter.trace_format_error == "planted: a format from the future"
    assert "planted: a format from the future" in caplog.text
    assert_same_data(fast.posterior, slow.posterior[list(fast.posterior.data_vars)])
    assert_same_data(fast.stats, slow.stats)
    assert nutpie_record(slow.stats) == fast.stats.attrs
    assert slow.settings == fast.settings

    # later fits of this fitter go straight to nutpie's conversion, and fit as before
    sample_calls.clear()
    caplog.clear()
    post = fitter.fit(y, seed=11)
    assert [kw.get("return_raw_trace", False) for _, kw in sample_calls] == [False]
    assert not caplog.text
    assert post.settings == {"chains": 2, "tune": 200, "draws": 100, "target_accept": 0.8}
    assert post.max_tree_depth == 10
    np.testing.assert_array_equal(post.draws["slope"].values, fast.posterior["slope"].values)


class FakeTrace:
    """A raw trace holding record batches built by hand."""

    def __init__(self, draws, stats, arrow=True):
        self.batches, self.arrow = (draws, stats), arrow

    def is_arrow(self):
        return self.arrow

    def get_arrow_trace(self):
        return self.batches


def _batch(columns: dict, metadata: dict | None = None) -> pa.RecordBatch:
    metadata = metadata or {}
    arrays = [pa.array(v) for v in columns.values()]
    fields = [pa.field(name, arr.type, metadata=metadata.get(name))
              for name, arr in zip(columns, arrays)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _chain(tune=2, draws=3, *, beta_meta=(b"2", b"coef"), drop=(), **replace):
    n = tune + draws
    draw_cols = {"alpha": np.arange(n, dtype=float),
                 "beta": [[0.5 * i, -1.0 * i] for i in range(n)]}
    stat_cols = {"tuning": [True] * tune + [False] * draws, "depth": np.full(n, 2, "uint64"),
                 "n_steps": np.full(n, 3, "uint64"), "diverging": [False] * n,
                 "energy": np.ones(n), "step_size": np.ones(n), "logp": -np.ones(n)}
    for name, values in replace.items():
        (draw_cols if name in draw_cols else stat_cols)[name] = values
    meta = {"beta": {b"shape": beta_meta[0], b"dims": beta_meta[1]}} if beta_meta else {}
    return (_batch({k: v for k, v in draw_cols.items() if k not in drop}, meta),
            _batch({k: v for k, v in stat_cols.items() if k not in drop}))


def _trace(*chains, arrow=True):
    return FakeTrace([c[0] for c in chains], [c[1] for c in chains], arrow=arrow)


COORDS = {"coef": ["x1", "x2"]}


def test_a_well_formed_trace_is_read():
    posterior, stats = datasets_from_raw_trace(_trace(_chain(), _chain()), ["alpha", "beta"],
                                               COORDS)
    assert posterior["beta"].dims == ("chain", "draw", "coef")
    assert posterior["coef"].values.tolist() == ["x1", "x2"]
    assert posterior["alpha"].values.tolist() == [[2.0, 3.0, 4.0]] * 2  # warm-up dropped
    assert posterior["beta"].values[0, 0].tolist() == [1.0, -2.0]
    assert list(stats.data_vars) == list(STAT_NAMES)
    assert stats["tree_depth"].values.tolist() == [[2] * 3] * 2
    assert stats["diverging"].dtype == bool and stats["n_steps"].dtype == np.uint64


UNKNOWN = {
    "not Arrow": (lambda: _trace(_chain(), arrow=False), "not an Arrow trace"),
    "no tuning column": (lambda: _trace(_chain(drop=("tuning",))), "tuning"),
    "no depth column": (lambda: _trace(_chain(drop=("depth",))), "depth"),
    "a parameter missing": (lambda: _trace(_chain(drop=("alpha",))), r"no column \['alpha'\]"),
    "no shape metadata": (lambda: _trace(_chain(beta_meta=None)), "beta"),
    "shape and dims disagree": (lambda: _trace(_chain(beta_meta=(b"2", b"coef,extra"))),
                                "shape"),
    "wrong shape": (lambda: _trace(_chain(beta_meta=(b"3", b"coef"))), "ValueError"),
    "null values": (lambda: _trace(_chain(energy=[1.0, None, 1.0, 1.0, 1.0])), "null"),
    "warm-up not first": (lambda: _trace(_chain(tuning=[False, True, True, False, False])),
                          "warm-up"),
    "chains of unequal length": (lambda: _trace(_chain(), _chain(draws=4)), "unequal"),
    "a statistic in one chain only": (lambda: _trace(_chain(), _chain(drop=("energy",))),
                                      "some chains"),
}


@pytest.mark.parametrize("what", list(UNKNOWN))
def test_a_trace_in_another_format_is_never_guessed_at(what):
    make, match = UNKNOWN[what]
    with pytest.raises(TraceFormatError, match=match):
        datasets_from_raw_trace(make(), ["alpha", "beta"], COORDS)


# -- what ran ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_what_ran_is_recorded_as_before(frontend):
    """The values ``Posterior.settings`` had when the fitter used nutpie's own conversion, on
    both stacks: from nutpie's record on nutpie 0.16.11, from what the fitter passed on 0.16.8
    (which keeps none)."""
    import nutpie

    spec = build("linear", frontend)
    settings = FitSettings(chains=3, tune=150, draws=120, target_accept=0.9)
    post = make_fitter("nutpie", spec, settings).fit(seed=1)
    assert post.settings == {"chains": 3, "tune": 150, "draws": 120, "target_accept": 0.9}
    assert post.max_tree_depth == 10
    record = compat.sampler_settings(post.stats)
    if nutpie.__version__ == "0.16.8":
        assert record == {}
    else:
        assert record == {"tune": 150, "target_accept": 0.9, "max_tree_depth": 10}
