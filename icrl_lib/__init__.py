"""icrl_lib: the companion library of the executable book on in-context reinforcement learning.

Topic subpackages (CONTRIBUTING.md says who may import whom): ``rl`` (MDPs, features, policies, explicit
updates, tabular learners, the control loop), ``attention`` (attention layers and modules), ``incontext``
(one file per in-context algorithm and the registry ``ALGORITHMS``), ``training`` (TD pretraining, teacher
mimicking, gradient flow), ``symbolic`` (sympy builders for the proofs); and ``notebook`` (chapter setup,
the printing policy), ``plotting``, ``experiments`` and ``bench`` (command lines).
"""
import importlib

__version__ = "0.2.0"

# Subpackages load on first use, so that ``import icrl_lib.rl`` (and ``attention``, ``incontext``) loads
# neither matplotlib nor sympy; ``icrl_lib.plotting`` and ``icrl_lib.symbolic`` load them when asked for.
_SUBMODULES = ("attention", "incontext", "notebook", "plotting", "rl", "symbolic", "training", "experiments",
               "bench", "provenance")
__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
