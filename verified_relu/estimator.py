"""A scikit-learn compatible regressor around :func:`verified_relu.learn`.

:class:`ReLUNetworkRegressor` follows scikit-learn's estimator contract: ``__init__`` stores its
parameters verbatim and does nothing else; all validation happens in :meth:`fit`; fitted
attributes end in ``_``; ``get_params``/``set_params``/``clone`` work; ``score`` is R^2.

How it depends on scikit-learn (which is *not* a dependency of verified_relu):

* when scikit-learn is importable, the class subclasses ``sklearn.base.RegressorMixin`` and
  ``sklearn.base.BaseEstimator`` and validates its inputs with
  ``sklearn.utils.validation.validate_data`` -- so pipelines, ``clone``, grid search, tags,
  HTML repr and the error messages are scikit-learn's own, and
  ``sklearn.utils.estimator_checks.check_estimator`` passes (tested);
* without scikit-learn (or with one older than 1.6, which lacks ``validate_data`` and
  ``__sklearn_tags__``), small stand-ins implement the same protocol (``get_params``,
  ``set_params``, ``score`` as R^2, input checks naming the argument), so the module always
  imports.  The choice is made once, at import time (``HAVE_SKLEARN``).

Seeding follows scikit-learn: the parameter is ``random_state`` (an int, a
``numpy.random.RandomState``, or ``None``; numpy's ``Generator`` and ``SeedSequence`` work too),
so ``sklearn.utils._testing.set_random_state`` and the checks that compare two fits can seed it,
and ``check_estimator(ReLUNetworkRegressor())`` passes every check as constructed.  With
``random_state=None`` every fit draws fresh entropy (recorded in ``result_.seed_entropy``); a
``RandomState`` is advanced by one draw per fit, as scikit-learn's estimators do.  Everywhere
else in verified_relu seeding is numpy's SPEC 7 ``rng=``; the estimator passes the seed on to
:func:`verified_relu.learn` as its ``rng``.

Rules for data the learners were not made for (documented, recorded, never silent):

* the width is ``k_ = min(k, n_features_in_)`` (a network in ``d`` dimensions never needs more
  than ``d`` neurons to be *identifiable* by the learners, and :func:`learn` requires ``k <= d``);
* for ``method="fast"``, when ``n`` is below what the learner needs for width ``k_`` (twice its
  parameter count after the held-out share), the width is lowered to the largest that fits; if
  even width 1 does not fit, only the linear term ``<a, x>`` is fitted by least squares (the
  network then has one neuron with coefficient 0).  ``fallback_`` says which rule applied
  (``None`` when none did) and a ``UserWarning`` is emitted;
* the other methods get no fallback: their own errors (e.g. too few samples for a paper's
  profile) are raised as they are.

The model has no intercept, as ``F(x) = sum_i mu_i relu(<w_i, x>) + <a, x>`` has none; inputs
are assumed ``N(0, I_d)`` -- on other inputs the learners still run, without their guarantees.
Shifted or scaled features, or a constant (bias) feature, are outside that assumption: ``fit`` tests ``X``
with :func:`verified_relu.gaussianity.gaussianity_warnings` (5-sigma z-tests of each coordinate's
mean, variance and 4th moment and of each pair's correlation) and, when a test fails, emits one
:class:`~verified_relu.gaussianity.InputDistributionWarning` (a ``UserWarning``) naming them.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .api import learn
from .gaussianity import InputDistributionWarning, _input_distribution_message
from .learners import METHODS, FastParams
from .learners.baselines import min_samples
from .network import ReLUNetwork

__all__ = ["ReLUNetworkRegressor"]

try:  # scikit-learn is optional: see the module docstring
    from sklearn.base import BaseEstimator as _BaseEstimator
    from sklearn.base import RegressorMixin as _RegressorMixin
    from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):
        """Raised by ``predict`` before ``fit`` (scikit-learn's class when it is installed)."""

    class _BaseEstimator:
        """The parameter protocol of ``sklearn.base.BaseEstimator``: parameters are ``__init__``'s."""

        @classmethod
        def _get_param_names(cls):
            import inspect

            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"{type(self).__name__}.set_params: invalid parameter {key!r}; valid: {valid}")
                setattr(self, key, value)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class _RegressorMixin:
        """``score`` as the coefficient of determination R^2 (as ``sklearn.base.RegressorMixin``)."""

        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None):
            y = np.asarray(y, dtype=float).ravel()
            w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
            resid = np.sum(w * (y - self.predict(X)) ** 2)
            total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
            if total == 0:
                return 1.0 if resid == 0 else 0.0
            return float(1.0 - resid / total)


class ReLUNetworkRegressor(_RegressorMixin, _BaseEstimator):
    """Fit ``F(x) = sum_i mu_i relu(<w_i, x>) + <a, x>`` with one of verified_relu's learners.

    Parameters
    ----------
    k : int, default 2
        Width (number of neurons); the width used is ``min(k, n_features)`` (see ``k_``).
    method : str, default "fast"
        A method of :func:`verified_relu.learn` (``verified_relu.learners.METHODS``).
    random_state : None, int, RandomState, Generator or SeedSequence, default None
        Randomness of the learner (scikit-learn's convention; see the module docstring).
        ``None``: fresh entropy at every fit, recorded in ``result_.seed_entropy``; an int
        ``>= 0``: the same fit every time.
    options : dict or None, default None
        Further keyword options of the method, passed to :func:`verified_relu.learn` unchanged
        (e.g. ``{"noiseless": True}`` for ``"fast"``; ``{"params": ...}`` for a paper learner).
        A dict rather than ``**kwargs`` because scikit-learn's ``get_params`` introspects the
        signature.

    Attributes
    ----------
    network_ : ReLUNetwork or HermitePredictor
        The fitted model (``"dk"`` gives an improper polynomial predictor).
    result_ : LearnResult or None
        The learner's full result with its trace (``None`` when the linear fallback applied).
    n_features_in_ : int
    k_ : int
        The width used.
    fallback_ : str or None
        Which data-size rule applied (see the module docstring), ``None`` if none.

    Warns
    -----
    InputDistributionWarning
        From ``fit``, when ``X`` visibly does not look like ``N(0, I_d)`` (see the module
        docstring); the fit still runs.
    UserWarning
        From ``fit``, when a data-size rule lowers the width (``fallback_``).

    Examples
    --------
    >>> from verified_relu import instances
    >>> net = instances.make("random", 5, 2, rng=0)
    >>> X, y = net.sample(1500, rng=1)
    >>> reg = ReLUNetworkRegressor(k=2, random_state=0).fit(X, y)
    >>> bool(net.squared_distance(reg.network_) <= 1e-10 * net.norm_squared())
    True
    """

    def __init__(self, k=2, method="fast", random_state=None, options=None):
        self.k = k
        self.method = method
        self.random_state = random_state
        self.options = options

    # ------------------------------------------------------------------ validation
    def _validate_params(self):
        name = type(self).__name__
        if isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral) or self.k < 1:
            raise ValueError(f"{name}: k must be an int >= 1, got {self.k!r}")
        if self.method not in METHODS:
            raise ValueError(f"{name}: method must be one of {METHODS}, got {self.method!r}")
        if self.options is not None and not isinstance(self.options, dict):
            raise ValueError(
                f"{name}: options must be a dict of learner options or None, got {type(self.options).__name__}"
            )
        if "rng" in (self.options or {}):
            raise ValueError(f"{name}: options must not contain 'rng'; the estimator's seed is random_state")
        rs = self.random_state
        seeds = (np.random.RandomState, np.random.Generator, np.random.SeedSequence)
        if not (
            rs is None
            or isinstance(rs, seeds)
            or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool) and rs >= 0)
        ):
            raise ValueError(
                f"{name}: random_state must be None, an int >= 0, a numpy RandomState, Generator or SeedSequence, got {rs!r}"
            )

    def _learner_rng(self):
        """The ``rng`` passed to :func:`learn`: a ``RandomState`` gives one 32-bit seed per fit."""
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(0, 2**32 - 1, dtype=np.uint64))
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return self.random_state

    def _check_data(self, X, y=None, *, reset):
        if HAVE_SKLEARN:
            if reset:
                return validate_data(self, X, y, y_numeric=True, dtype=np.float64)
            return validate_data(self, X, reset=False, dtype=np.float64)
        name = type(self).__name__
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1 or not np.all(np.isfinite(X)):
            raise ValueError(
                f"{name}: X must be a finite 2-D array with at least 1 sample and 1 feature, got shape {X.shape}"
            )
        if reset:
            y = np.asarray(y, dtype=np.float64)
            if y.ndim == 2 and y.shape[1] == 1:
                warnings.warn(
                    f"{name}: a column-vector y was passed when a 1d array was expected", UserWarning, stacklevel=3
                )
                y = y.ravel()
            if y.ndim != 1 or y.shape[0] != X.shape[0] or not np.all(np.isfinite(y)):
                raise ValueError(f"{name}: y must be a finite 1-D array of length {X.shape[0]}, got shape {y.shape}")
            self.n_features_in_ = X.shape[1]
            return X, y
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {name} is expecting {self.n_features_in_} features as input"
            )
        return X

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X, y):
        """Learn the network from ``X`` (``(n, d)``) and ``y`` (``(n,)``); returns ``self``."""
        self._validate_params()
        X, y = self._check_data(X, y, reset=True)
        message = _input_distribution_message(X, caller=f"{type(self).__name__}.fit")
        if message is not None:
            warnings.warn(message, InputDistributionWarning, stacklevel=2)
        n, d = X.shape
        options = dict(self.options or {})
        k = min(int(self.k), d)
        fallback = None
        if self.method == "fast":
            vf = options.get("validation_fraction", FastParams.validation_fraction)
            fits = [kk for kk in range(k, 0, -1) if 0 < vf < 1 and n >= min_samples(kk, d, vf)]
            if not fits and 0 < vf < 1:
                fallback = (
                    f"n = {n} samples are fewer than the fast learner needs even for width 1 "
                    f"({min_samples(1, d, vf)}): only the linear term was fitted, by least squares"
                )
                k = 0
            elif fits and fits[0] < k:
                fallback = f"n = {n} samples are too few for width {k} in d = {d}: width lowered to {fits[0]}"
                k = fits[0]
        if fallback is not None:
            warnings.warn(f"{type(self).__name__}: {fallback}", UserWarning, stacklevel=2)
        if k == 0:
            a = np.linalg.lstsq(X, y, rcond=None)[0]
            self.network_ = ReLUNetwork(np.eye(1, d), [0.0], a)
            self.result_ = None
        else:
            self.result_ = learn(X, y, k, method=self.method, rng=self._learner_rng(), **options)
            self.network_ = self.result_.network
        self.k_ = k
        self.fallback_ = fallback
        return self

    def predict(self, X):
        """Predictions ``F_hat(x)`` for the rows of ``X``: shape ``(n,)``."""
        if HAVE_SKLEARN:
            from sklearn.utils.validation import check_is_fitted

            check_is_fitted(self, "network_")
        elif not hasattr(self, "network_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet: call fit first")
        X = self._check_data(X, reset=False)
        net = self.network_
        return net(X) if isinstance(net, ReLUNetwork) else net.predict(X)
