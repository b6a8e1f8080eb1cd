"""Every built-in sampler with its maximum tree depth lowered to 3, as a user would subclass it:
on the linear case many draws then reach the maximum (a planted tree-depth saturation that a
real sampler produces), which the convergence check must catch, and which every sampler must
count the same way (STAT_NAMES in glmcheck.posterior)."""

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
