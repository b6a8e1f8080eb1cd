"""nutpie: compiled once with ``compile_pymc_model``, refit with ``with_data``.

A refit takes nutpie's raw trace (``nutpie.sample(..., return_raw_trace=True)``: one Arrow
record batch of draws and one of statistics per chain, warm-up rows first, flagged by the
``tuning`` statistic) and builds the two datasets glmcheck keeps straight from numpy: the
post-warm-up draws of the model's parameters and the statistics of
:data:`~glmcheck.posterior.STAT_NAMES`, one ``xarray.Dataset`` each, with the variable names,
dims, coords and dtypes nutpie's own conversion gives them (:func:`datasets_from_raw_trace`).
nutpie's conversion turns every column of every chain, warm-up included, into an ArviZ
DataTree (InferenceData on arviz 0.23) through xarray, most of a fit: on ``linear`` (PyMC
model), 2 chains × (1000 + 1000) on 2 cores, medians of 60 interleaved fits on the current
stack: ``nutpie.sample`` 53 ms, of which sampling (``return_raw_trace=True``) 21 ms;
``NutpieFitter.fit`` took 54 ms through nutpie's conversion and takes 24 ms now, reading the
raw trace 1.8 ms of it (previous stack: 79, 40, 81 and 42 ms).

Where the raw trace is not what :func:`datasets_from_raw_trace` reads (not Arrow, a column or
its ``dims``/``shape`` metadata missing, null values, chains of unequal length: a nutpie release
that changed its format), the fit is sampled again with nutpie's own conversion, same seed and
so the same draws, and the fitter's later fits go straight there, with one logged warning.

nutpie 0.16.11 keeps its record of what it ran (``inference_library_settings``, read by
:func:`glmcheck.compat.sampler_settings`) in the statistics' attributes; the fast route writes
the same attributes from the same settings object, that of nutpie's background sampler
(``nutpie.sample(..., blocking=False)``, attribute ``_settings``: the one private name used
here). nutpie 0.16.8's settings have no ``as_dict`` and its conversion keeps no record: none is
written, and the settings glmcheck passed (``RawSample.settings``) are what is recorded.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import xarray as xr

from glmcheck import compat
from glmcheck.fitters.base import Fitter, RawSample, standard_stats
from glmcheck.frontends import RESPONSE_DATA
from glmcheck.posterior import STAT_NAMES

__all__ = ["NutpieFitter", "TraceFormatError", "datasets_from_raw_trace", "started_doublings"]

log = logging.getLogger(__name__)

#: nutpie's default ``maxdepth``, passed explicitly: what ran does not hang on nutpie's default
MAX_TREE_DEPTH = 10

#: nutpie's names of the statistics it names differently from STAT_NAMES
RENAMES = {"logp": "lp"}
#: the statistics read from a raw trace, in nutpie's names: those ``tree_depth`` is computed
#: from, and every other one of STAT_NAMES where nutpie has it (as ``standard_stats`` keeps them)
_NEEDED_STATS = ("depth", "n_steps")
_OPTIONAL_STATS = tuple(
    {v: k for k, v in RENAMES.items()}.get(name, name) for name in STAT_NAMES
    if name not in ("tree_depth", "n_steps")
)


class NutpieFitter(Fitter):
    name = "nutpie"
    requires = ("nutpie",)
    max_tree_depth = MAX_TREE_DEPTH
    #: nutpie's threads live for one ``sample`` call: a process may fork between fits
    fork_safe = True
    refit_settings = True
    #: why this fitter's raw traces cannot be read (:class:`TraceFormatError`); None: they can
    trace_format_error: str | None = None

    def _compile(self) -> None:
        import nutpie

        self._compiled = nutpie.compile_pymc_model(
            self.spec.model, var_names=self.spec.native_params
        )
        # The first sample call pays one-off JIT and thread-pool start-up: pay it here.
        nutpie.sample(self._compiled, chains=1, tune=5, draws=5, progress_bar=False)

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        import nutpie

        s = self.settings
        model = self._compiled.with_data(**{RESPONSE_DATA: y})
        kwargs = dict(
            chains=s.chains,
            tune=s.tune,
            draws=s.draws,
            target_accept=s.target_accept,
            maxdepth=self.max_tree_depth,
            seed=seed,
            cores=self.threads or min(s.chains, os.cpu_count() or 1),
            progress_bar=False,
            save_warmup=False,
        )
        settings = {"tune": s.tune, "target_accept": float(s.target_accept),
                    "max_tree_depth": self.max_tree_depth}
        if self.trace_format_error is None:
            sampler = nutpie.sample(model, return_raw_trace=True, blocking=False, **kwargs)
            try:
                trace = sampler.wait()
            except BaseException:
                sampler.cancel()  # what nutpie.sample does when its wait fails
                raise
            try:
                posterior, stats = datasets_from_raw_trace(
                    trace, self.spec.native_params, model.coords
                )
            except TraceFormatError as exc:
                self.trace_format_error = str(exc)
                log.warning(
                    "nutpie %s returned a raw trace glmcheck cannot read (%s): fitting with "
                    "nutpie's own conversion (slower)", nutpie.__version__, exc,
                )
            else:
                stats.attrs.update(_settings_record(sampler))
                return RawSample(posterior=posterior, stats=stats, settings=settings)
        posterior, stats = _converted(nutpie.sample(model, **kwargs))
        return RawSample(posterior=posterior, stats=stats, settings=settings)


class TraceFormatError(Exception):
    """nutpie's raw trace is not in the format :func:`datasets_from_raw_trace` reads."""


def datasets_from_raw_trace(trace, params, coords) -> tuple[xr.Dataset, xr.Dataset]:
    """(posterior, statistics) of a nutpie raw trace, as nutpie's own conversion gives them.

    ``params``: the parameters to keep (columns of the draws); ``coords``: the compiled model's
    coordinates (``CompiledModel.coords``). Only the post-warm-up rows of the columns glmcheck
    keeps are read: ``params``, and the statistics of :data:`STAT_NAMES` (nutpie's ``logp`` as
    ``lp``; ``tree_depth`` from ``depth`` and ``n_steps``, :func:`started_doublings`). As in
    ``nutpie.sample._arrow_to_arviz``: the warm-up rows are the first ``tuning.sum()`` of each
    chain; a column's item shape and dims are its field's ``shape`` and ``dims`` metadata
    (comma-separated); dtypes are the columns' own (``to_pandas_dtype``); ``chain`` and
    ``draw`` and a dim the model has no coordinates for are numbered from 0 (ArviZ's default);
    variables keep the draws' column order, statistics the order of :data:`STAT_NAMES`.

    Raises :class:`TraceFormatError` where the trace is not in that format (not Arrow, a
    column or its metadata missing, null values, chains of unequal length), never a guess.
    """
    import pyarrow as pa

    try:
        if not trace.is_arrow():
            raise TraceFormatError("the raw trace is not an Arrow trace")
        draw_batches, stat_batches = trace.get_arrow_trace()
        if not draw_batches or len(draw_batches) != len(stat_batches):
            raise TraceFormatError(
                f"{len(draw_batches)} batches of draws and {len(stat_batches)} of statistics"
            )
        draws: dict[str, list] = {}
        stats: dict[str, list] = {}
        dims: dict[str, tuple[str, ...]] = {}
        for draw_batch, stat_batch in zip(draw_batches, stat_batches):
            # the Arrow PyCapsule interface: arro3 batches (nutpie 0.16) or pyarrow's own
            draw_batch, stat_batch = pa.record_batch(draw_batch), pa.record_batch(stat_batch)
            if draw_batch.num_rows != stat_batch.num_rows:
                raise TraceFormatError("a chain has unequal numbers of draws and statistics")
            tuning, _ = _column(stat_batch, "tuning", 0)
            warmup = int(np.count_nonzero(tuning))
            if not tuning[:warmup].all():
                raise TraceFormatError("the warm-up rows of a chain are not its first")
            names = [n for n in draw_batch.schema.names if n in params]
            missing = set(params).difference(names)
            if missing:
                raise TraceFormatError(f"the draws have no column {sorted(missing)}")
            for name in names:
                _collect(draws, dims, name, *_column(draw_batch, name, warmup))
            optional = [n for n in _OPTIONAL_STATS if n in stat_batch.schema.names]
            for name in (*_NEEDED_STATS, *optional):
                values, stat_dims = _column(stat_batch, name, warmup)
                if stat_dims:
                    raise TraceFormatError(f"statistic {name!r} has dims {stat_dims}")
                _collect(stats, dims, name, values, ())
        n_chains = len(draw_batches)
        columns = (*draws.values(), *stats.values())
        if any(len(chains) != n_chains for chains in columns):
            raise TraceFormatError("a statistic is missing from some chains")
        lengths = {len(values) for chains in columns for values in chains}
        if len(lengths) != 1:
            raise TraceFormatError(f"chains of unequal lengths {sorted(lengths)}")
        n_draws = lengths.pop()
        # the indexes of chain and draw built once for both datasets (0.2 ms of 1.8)
        grid = xr.Coordinates({"chain": np.arange(n_chains), "draw": np.arange(n_draws)})

        param_coords = {}
        post_vars = {}
        for name, chains in draws.items():
            values = np.stack(chains)
            for dim, size in zip(dims[name], values.shape[2:]):
                if dim not in param_coords:
                    param_coords[dim] = coords[dim] if dim in coords else np.arange(size)
            post_vars[name] = (("chain", "draw", *dims[name]), values)
        post_coords = {**grid, **param_coords} if param_coords else grid
        posterior = xr.Dataset(post_vars, coords=post_coords)

        stacked = {RENAMES.get(name, name): np.stack(chains) for name, chains in stats.items()}
        stacked["tree_depth"] = _started_doublings(stacked.pop("depth"), stacked["n_steps"])
        stats_ds = xr.Dataset(
            {name: (("chain", "draw"), stacked[name]) for name in STAT_NAMES if name in stacked},
            coords=grid,
        )
    except TraceFormatError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, pa.ArrowException) as exc:
        raise TraceFormatError(f"{type(exc).__name__}: {exc}") from exc
    return posterior, stats_ds


def _column(batch, name: str, warmup: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The rows after ``warmup`` of one column of a pyarrow record batch, shape (rows, *item
    shape), and the item's dims, read as nutpie's ``_add_arrow_data`` reads them."""
    import pyarrow as pa

    column = batch.column(name)  # KeyError if absent
    if column.null_count:
        raise TraceFormatError(f"column {name!r} has null values")
    meta = batch.schema.field(name).metadata or {}
    shape = tuple(int(s) for s in meta[b"shape"].decode().split(",")) if meta.get(b"shape") else ()
    dims = tuple(meta[b"dims"].decode().split(",")) if meta.get(b"dims") else ()
    if len(dims) != len(shape):
        raise TraceFormatError(f"column {name!r} has shape {shape} but dims {dims}")
    if shape:
        if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
                or pa.types.is_fixed_size_list(column.type)):
            raise TraceFormatError(f"column {name!r} of shape {shape} is a {column.type}")
        column = column.flatten()
    if pa.types.is_nested(column.type):
        raise TraceFormatError(f"column {name!r} of shape {shape} holds {column.type}")
    values = column.to_numpy(zero_copy_only=False).astype(
        column.type.to_pandas_dtype(), copy=False
    )
    return values.reshape((batch.num_rows, *shape))[warmup:], dims


def _collect(into: dict, dims: dict, name: str, values: np.ndarray, item_dims) -> None:
    """Add one chain's ``values`` of ``name``; every chain must give it the same dims."""
    if dims.setdefault(name, item_dims) != item_dims:
        raise TraceFormatError(f"column {name!r} has dims {item_dims} and {dims[name]}")
    into.setdefault(name, []).append(values)


def _settings_record(sampler) -> dict[str, str]:
    """The attributes nutpie 0.16.11's conversion gives its statistics (its record of what it
    ran, :func:`glmcheck.compat.sampler_settings`), from its background ``sampler``; {} where
    its settings cannot say (nutpie 0.16.8, whose conversion keeps none)."""
    import nutpie

    as_dict = getattr(getattr(sampler, "_settings", None), "as_dict", None)
    if as_dict is None:
        return {}
    return {
        "inference_library": "nutpie",
        "inference_library_version": nutpie.__version__,
        "inference_library_settings": json.dumps(as_dict()),
    }


def _converted(trace) -> tuple[xr.Dataset, xr.Dataset]:
    """(posterior, statistics) of a trace nutpie converted itself (DataTree or InferenceData):
    the route of a raw trace :func:`datasets_from_raw_trace` cannot read."""
    raw_stats = compat.group(trace, "sample_stats")
    stats = standard_stats(raw_stats, RENAMES)
    stats["tree_depth"] = started_doublings(raw_stats["depth"], raw_stats["n_steps"])
    return compat.group(trace, "posterior"), stats[[n for n in STAT_NAMES if n in stats]]


def started_doublings(depth, n_steps):
    """nutpie's ``depth`` in glmcheck's convention (:data:`~glmcheck.posterior.STAT_NAMES`).

    nutpie counts the doublings it completed and merged (Stan's convention); a doubling cut
    short inside by a U-turn or a divergence is not counted, though its leapfrog steps are:
    such a draw took more than ``2**depth - 1`` steps and started ``depth + 1`` doublings.
    """
    # on the arrays: xarray's arithmetic aligns coordinates, 9 ms of a 60 ms fit of linear
    return depth.copy(deep=False, data=_started_doublings(depth.values, n_steps.values))


def _started_doublings(depth: np.ndarray, n_steps: np.ndarray) -> np.ndarray:
    d = np.asarray(depth, dtype="int64")
    n = np.asarray(n_steps, dtype="int64")
    return d + (n > 2**d - 1)
