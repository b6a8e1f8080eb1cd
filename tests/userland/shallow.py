"""Every built-in sampler with its maximum tree depth lowered to 3, as a user would subclass it:
on the linear case many draws then reach the maximum (a planted tree-depth saturation that a
real sampler produces), which the convergence check must catch, and which every sampler must
count the same way (STAT_NAMES in glmcheck.posterior)."""

import numpy as np

from glmcheck.checks import check_convergence
from glmcheck.fitters.jax import BlackjaxFitter, NumpyroFitter
from glmcheck.fitters.nutpie import NutpieFitter
from glmcheck.fitters.pymc import PymcFitter

DEPTH = 3


class ShallowNutpie(NutpieFitter):
    name = "nutpie-shallow"
    max_tree_depth = DEPTH


class ShallowPymc(PymcFitter):
    name = "pymc-shallow"
    max_tree_depth = DEPTH


class ShallowNumpyro(NumpyroFitter):
    name = "numpyro-shallow"
    max_tree_depth = DEPTH


class ShallowBlackjax(BlackjaxFitter):
    name = "blackjax-shallow"
    max_tree_depth = DEPTH


SHALLOW = {"nutpie": ShallowNutpie, "pymc": ShallowPymc, "numpyro": ShallowNumpyro,
           "blackjax": ShallowBlackjax}


def depth_convention_holds(post) -> None:
    """glmcheck's tree-depth convention (STAT_NAMES): depth d took 2**(d-1) <= n_steps <=
    2**d - 1 leapfrog steps, and no draw is deeper than the sampler's maximum."""
    depth = post.stats["tree_depth"].values.astype(np.int64)
    steps = post.stats["n_steps"].values.astype(np.int64)
    assert ((2 ** (depth - 1) <= steps) & (steps <= 2**depth - 1)).all()
    assert depth.min() >= 1 and depth.max() <= post.max_tree_depth


def saturation_is_caught(shallow):
    """A fit of a SHALLOW sampler: its depth follows the convention, exactly the draws that took
    4 or more steps sit at the maximum, and the convergence check fails on them. Returns the
    check's result."""
    assert shallow.max_tree_depth == DEPTH
    depth_convention_holds(shallow)
    depth, steps = shallow.stats["tree_depth"].values, shallow.stats["n_steps"].values
    np.testing.assert_array_equal(depth == DEPTH, steps >= 2**(DEPTH - 1))
    assert shallow.saturated_draws == int((depth == DEPTH).sum()) > 0
    result = check_convergence(shallow)
    assert result.passed is False and result.details["gates"]["tree depth"] == "failed"
    return result
