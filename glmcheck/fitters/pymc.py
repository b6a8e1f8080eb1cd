"""PyMC's own NUTS, compiled once.

``pm.sample`` compiles fresh functions on every call (initial point, trace), even with a
prebuilt step. This adapter builds the ``NUTS`` step (its logp and gradient) and the function
that maps unconstrained points to parameter values once, then drives the step method's public
``step(point)`` loop itself for every fit: warm-up with tuning, then draws, one chain after the
other. Each chain starts from the model's initial point jittered by U(-1, 1), like PyMC's
default ``jitter+adapt_diag``, and adapts its own step size and mass matrix afresh.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np
import xarray as xr

from glmcheck.errors import FitError
from glmcheck.fitters.base import Fitter, RawSample
from glmcheck.posterior import STAT_NAMES

#: PyMC's ``depth`` counts every doubling started (glmcheck's convention, STAT_NAMES)
_STAT_RENAMES = {"model_logp": "lp", "depth": "tree_depth", "tree_size": "n_steps"}
_JITTER_TRIES = 20
#: PyMC's default ``max_treedepth`` (after the first 200 warm-up iterations, which use
#: ``early_max_treedepth`` 8), passed explicitly
MAX_TREE_DEPTH = 10


class PymcFitter(Fitter):
    name = "pymc"
    requires = ("pymc",)
    max_tree_depth = MAX_TREE_DEPTH
    #: chains run one after another in this process, no threads: safe to fork after compiling
    fork_safe = True
    refit_settings = True

    def _compile(self) -> None:
        import pymc as pm

        model = self.spec.model
        with model:
            self._step = pm.NUTS(
                model.value_vars, target_accept=self.settings.target_accept,
                max_treedepth=self.max_tree_depth,
            )
        self._logp = model.compile_logp()
        names = self.spec.native_params
        # Parameter values as functions of the unconstrained value variables (not the random
        # variables themselves, which would draw from the prior).
        constrained = {v.name: v for v in model.unobserved_value_vars}
        self._values = model.compile_fn(
            [constrained[name] for name in names], inputs=model.value_vars,
            on_unused_input="ignore", point_fn=True,
        )
        self._names = names
        self._start = model.initial_point()

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        s = self.settings
        self.spec.response_data.set_value(y)
        chains = [self._chain(np.random.default_rng(ss)) for ss in np.random.SeedSequence(seed).spawn(s.chains)]
        values = {
            name: np.stack([c[0][i] for c in chains]) for i, name in enumerate(self._names)
        }
        model = self.spec.model
        dims = {name: _dims(model, name, v.shape[2:]) for name, v in values.items()}
        coords = {
            d: list(model.coords[d]) for ds in dims.values() for d in ds
            if model.coords.get(d) is not None
        }
        posterior = xr.Dataset(
            {name: (("chain", "draw", *dims[name]), v) for name, v in values.items()}, coords=coords
        )
        stats = xr.Dataset(
            {k: (("chain", "draw"), np.stack([c[1][k] for c in chains])) for k in chains[0][1]}
        )
        step = self._step
        return RawSample(
            posterior=posterior,
            stats=stats,
            warmup=sum(c[2] for c in chains),
            sampling=sum(c[3] for c in chains),
            # what the step method holds, not what was asked of it
            settings={"tune": s.tune, "target_accept": float(step.target_accept),
                      "max_tree_depth": int(step.max_treedepth)},
        )

    def _jittered_start(self, rng: np.random.Generator) -> dict:
        for _ in range(_JITTER_TRIES):
            point = {k: v + rng.uniform(-1, 1, size=np.shape(v)) for k, v in self._start.items()}
            if np.isfinite(self._logp(point)):
                return point
        raise FitError("no jittered initial point with finite log density in 20 tries")

    def _chain(self, rng: np.random.Generator):
        s, step = self.settings, self._step
        point = self._jittered_start(rng)
        if hasattr(step, "setup_chain"):  # pymc >= 6
            step.setup_chain(rng, s.tune, s.draws)
        else:
            step.set_rng(rng)
        step.tune = bool(s.tune)
        step.reset_tuning()
        step.iter_count = 0
        draws = [[] for _ in self._names]
        stats: dict[str, list] = {}
        start = perf_counter()
        for i in range(s.tune + s.draws):
            if i == s.tune:
                step.stop_tuning()
                warmup = perf_counter() - start
                start = perf_counter()
            point, step_stats = step.step(point)
            if i >= s.tune:
                for slot, value in zip(draws, self._values(point)):
                    slot.append(value)
                for key, value in step_stats[0].items():
                    key = _STAT_RENAMES.get(key, key)
                    if key in STAT_NAMES:
                        stats.setdefault(key, []).append(value)
        if not s.tune:
            warmup = 0.0
        sampling = perf_counter() - start
        return (
            [np.asarray(d) for d in draws],
            {k: np.asarray(v) for k, v in stats.items()},
            warmup,
            sampling,
        )


def _dims(model, name: str, shape: tuple[int, ...]) -> list[str]:
    """The model's own dims of ``name`` (as pm.sample and nutpie name them), else generic ones."""
    dims = model.named_vars_to_dims.get(name)
    if dims and len(dims) == len(shape) and all(d is not None for d in dims):
        return list(dims)
    return [f"{name}_dim_{i}" for i in range(len(shape))]
