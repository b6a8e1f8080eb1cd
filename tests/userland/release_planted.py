"""A case that a release of a small package "breaks", for the slow ``glmcheck bisect`` test:
with six 1.17 or newer installed, the hand-written model's likelihood is twice as wide as the
simulator's, as if a library release had changed what a model means. (six is used because no
package of either stack needs it: installing one release or another changes nothing else.)"""

from importlib.metadata import PackageNotFoundError, version

from glmcheck.cases.linear import Linear


def _six() -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version("six").split(".")[:2])
    except PackageNotFoundError:
        return (0,)


class ReleasePlanted(Linear):
    name = "release_planted"

    def pymc_model(self, data):
        import pymc as pm

        wider = 2.0 if _six() >= (1, 17) else 1.0
        with pm.Model() as model:
            x = pm.Data("x", data["x"].to_numpy())
            sigma = pm.HalfCauchy("sigma", beta=self.sigma_scale)
            intercept = pm.Normal("Intercept", 0, sigma=self.coef_sd)
            slope = pm.Normal("slope", 0, sigma=self.coef_sd)
            pm.Normal("y", mu=intercept + slope * x, sigma=sigma * wider,
                      observed=data["y"].to_numpy())
        return model


CASE = ReleasePlanted()
