"""Reference statistics for glmcheck, written with numpy and scipy only.

Nothing in this package imports PyMC, Bambi, PyTensor or JAX, so it is cheap to import and its
results are independent of the samplers that glmcheck checks.

- :func:`gaussian_linear_posterior`: the exact posterior of a Gaussian linear model with
  independent Normal priors on the coefficients and any one-dimensional prior on sigma
  (conditionally conjugate grid in log sigma; METHODS.md section 4).
"""

from glmcheck.stats.exact import ExactPosterior, gaussian_linear_posterior

__all__ = ["ExactPosterior", "gaussian_linear_posterior"]
