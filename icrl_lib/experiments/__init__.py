"""The book's experiments from the command line: one registry, one generated command line, provenance records.

    python -m icrl_lib.experiments NAME [flags] [--seed S | --seeds S ...] [--json F] [--threads T] [--quiet]
                                       [--device cpu|cuda]
    python -m icrl_lib.experiments reproduce FILE [--rtol R] [--atol A]

``NAME`` is a key of :data:`REGISTRY` (``python -m icrl_lib.experiments --help`` lists them, ``NAME --help`` their
flags): ``teacher-mimicking``, ``control``, ``success-rate`` (chapters 6-7), ``td-pretraining`` (chapter 3),
``softmax-td`` (chapter 8), ``dpt-bandit``, ``ad-bandit``, ``dpt-darkroom`` (chapter 9), ``ad-linucb``
(chapter 10), ``beyond`` (chapter 11). Every value and the ``--json`` target are checked before any computation;
the result is written atomically with its provenance record (command, library version and git commit, Python,
torch and numpy versions, date, wall time), which ``reproduce`` re-runs and compares number by number.
"""
from .cli import Context, Experiment, build_parser, flag, main, reproduce
from .mimicking import (DEFAULTS, GENERIC_DEFAULTS, SUCCESS_THRESHOLD, algorithm_defaults, control_summary,
                        default_config, held_out_control, teacher_mimicking_summary)
from .registry import REGISTRY

#: The tolerance ``reproduce`` allows per experiment: (relative, absolute).
REPRODUCE_TOLERANCE = {name: e.tolerance for name, e in REGISTRY.items()}

__all__ = ["REGISTRY", "Experiment", "Context", "flag", "build_parser", "main", "reproduce", "REPRODUCE_TOLERANCE",
           "DEFAULTS", "GENERIC_DEFAULTS", "SUCCESS_THRESHOLD", "algorithm_defaults", "default_config",
           "held_out_control", "teacher_mimicking_summary", "control_summary"]
