"""Reference statistics for glmcheck, written with numpy and scipy only.

Nothing in this package imports PyMC, Bambi, PyTensor or JAX, so it is cheap to import and its
results are independent of the samplers that glmcheck checks.

- :func:`gaussian_linear_posterior`: the exact posterior of a Gaussian linear model with
  independent Normal priors on the coefficients and any one-dimensional prior on sigma
  (conditionally conjugate grid in log sigma; Gelman et al., Bayesian Data Analysis, 3rd ed.,
  sections 5.4 and 14.2).
- :mod:`glmcheck.stats.sbc`: ranks, PIT values and uniformity tests of simulation-based
  calibration (Talts et al. 2018, arXiv:1804.06788; Saeilynoja, Buerkner & Vehtari 2022,
  Statistics and Computing 32:32).
"""

from glmcheck.stats.exact import ExactPosterior, gaussian_linear_posterior

__all__ = ["ExactPosterior", "gaussian_linear_posterior"]
