"""The registry of in-context algorithms (chapters 4-7): name -> :class:`InContextAlgorithm` entry.

Every algorithm-specific behaviour (layout, output rows, construction, teacher update, feature builder,
behaviour policy, parameter sampler, null patterns) lives in the algorithm's own file as an entry; code
elsewhere looks the entry up here and never switches on the name. A new in-context algorithm is one new
file (a subclass of :class:`InContextAlgorithm` and an instance) plus one line in :data:`ALGORITHMS`.
"""
from __future__ import annotations

from .actor_critic import ACTOR_CRITIC
from .base import Hyperparameters, InContextAlgorithm
from .sarsa import SARSA

__all__ = ["ALGORITHMS", "get_algorithm", "InContextAlgorithm", "Hyperparameters"]

#: name -> registry entry. Add one line per new algorithm.
ALGORITHMS: dict[str, InContextAlgorithm] = {
    "sarsa": SARSA,
    "actor-critic": ACTOR_CRITIC,
}


def get_algorithm(name) -> InContextAlgorithm:
    """The registry entry called ``name`` (chapters 4-7); ``ValueError`` naming ``algorithm`` and listing
    the known names otherwise. An entry passed in is returned as is."""
    if isinstance(name, InContextAlgorithm):
        return name
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}; got {name!r}")
    return ALGORITHMS[name]
