"""glmcheck: validation and regression testing of Bayesian GLMs written in PyMC and Bambi.

``import glmcheck`` is cheap: PyMC, Bambi, JAX and nutpie are imported only where used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
