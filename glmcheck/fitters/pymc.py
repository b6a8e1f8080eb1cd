"""PyMC's own NUTS, with the step method (and its compiled logp/gradient) built once.

``pm.sample`` recompiles on every call; handing it a prebuilt ``NUTS`` step and swapping the
response through the shared data container avoids that. PyMC resets the step's tuning at the
start of every chain, so each fit adapts afresh.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import numpy as np

from glmcheck import compat
from glmcheck.fitters.base import FitSettings, Fitter, RawSample, standard_stats


class PymcFitter(Fitter):
    name = "pymc"
    requires = ("pymc",)

    def _compile(self) -> None:
        import pymc as pm

        model = self.spec.model
        self._response = self.spec.response_data
        with model:
            self._step = pm.NUTS(model.value_vars)
        self._initial_point = model.initial_point()
        # pm.sample compiles its point and trace functions on first use: do that here, once.
        self._sample(self.spec.response_values(None), 0, FitSettings(chains=1, tune=1, draws=1))

    def _sample(self, y: np.ndarray, seed: int, settings: FitSettings | None = None) -> RawSample:
        import pymc as pm

        s = settings or self.settings
        self._response.set_value(y)
        self._step.reset_tuning()
        with _quiet("pymc"):
            result = pm.sample(
                draws=s.draws,
                tune=s.tune,
                chains=s.chains,
                cores=1,
                step=self._step,
                initvals=self._initial_point,
                random_seed=seed,
                model=self.spec.model,
                var_names=self.spec.native_params,
                progressbar=False,
                compute_convergence_checks=False,
                discard_tuned_samples=False,
                nuts_sampler="pymc",
            )
        stats = compat.group(result, "sample_stats")
        warmup = compat.group(result, "warmup_sample_stats")
        return RawSample(
            posterior=compat.group(result, "posterior"),
            stats=standard_stats(stats, {}),
            warmup=float(warmup["perf_counter_diff"].sum()) if "perf_counter_diff" in warmup else None,
            sampling=float(stats["perf_counter_diff"].sum()) if "perf_counter_diff" in stats else None,
        )


@contextmanager
def _quiet(logger_name: str):
    """Silence a library's INFO chatter ("Sequential sampling ...") for one call."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
