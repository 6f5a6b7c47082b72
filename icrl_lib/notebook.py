"""One setup call at the top of every chapter, and the printing policy that keeps outputs portable.

nbval re-executes every chapter and compares each printed line with the committed one, on the reader's
machine as well as ours. So every number a chapter prints is one of three kinds, and the helper used to
print it says which (the policy is stated in CONTRIBUTING.md and the reproducibility appendix):

- **exact** quantities (a count, a rank, a dimension, a seed count): print them as they are; an identity's
  residual is asserted and printed only as its bound with :func:`below` (``< 1e-10``);
- **deterministic floats** (a linear solve, a closed form, an exact return of a fixed policy): :func:`fmt`,
  4 significant digits;
- **trained or sampled statistics** (anything after an optimiser, a long sampled loop, or a sum whose order
  the BLAS library chooses and that is then amplified): :func:`approx` (2 significant digits by default),
  :func:`bucket` (an order of magnitude, ``~1e-8``), :func:`below` (``< 1e-6``) or :func:`interval`
  (``0.93 ± 0.02``), always next to an ``assert`` of the claim they support.

``make test`` runs nbval in another numeric environment than the one that wrote the outputs (see the README),
so a digit that depends on the BLAS path fails on the author's machine first.
"""
from __future__ import annotations

import json
import math
import os
import random
import textwrap
import warnings

import numpy as np
import torch

from pathlib import Path

from ._validation import check_int, check_positive
from .plotting import set_style

__all__ = ["setup", "fmt", "approx", "bucket", "below", "interval", "show", "table", "Table", "THREADS_ENV",
           "RESULTS_DIR", "load_result"]

_SIG = 4
#: Environment variable that overrides the thread count of :func:`setup` (used by the CLI and benchmarks).
THREADS_ENV = "ICRL_NUM_THREADS"


def setup(seed: int = 0, threads: int | None = None, precision: int = 4) -> None:
    """Seed everything, fix print precision and threads, apply the figure style, quiet known warnings.

    Called once at the top of every chapter (chapter 0 explains it).

    Args:
        seed: seeds Python's, numpy's and torch's global generators (library functions still take
            explicit seeds or generators; this only protects ad hoc cells).
        threads: torch intra-op threads; default ``$ICRL_NUM_THREADS`` or 1. On 2-core machines one
            thread is faster for the book's small models (the reproducibility appendix has the numbers).
        precision: significant digits of :func:`fmt` and of array printing.
    """
    global _SIG
    seed = check_int(seed, "seed", minimum=0)
    if threads is None:
        threads = int(os.environ.get(THREADS_ENV, "1"))
    threads = check_int(threads, "threads")
    _SIG = check_int(precision, "precision")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    # Free on CPU for the operations the book uses; warn_only keeps an op without a deterministic kernel usable.
    torch.use_deterministic_algorithms(True, warn_only=True)
    np.set_printoptions(precision=_SIG, suppress=True, linewidth=100)
    torch.set_printoptions(precision=_SIG, sci_mode=False, linewidth=100)
    import sympy
    sympy.init_printing(use_latex="mathjax")
    set_style()
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="jupyter_client")


def _scalar(x) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"x must be a single number; got a tensor of shape {tuple(x.shape)}")
        return float(x.item())
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise ValueError(f"x must be a single number; got an array of shape {x.shape}")
        return float(x.item())
    try:
        return float(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"x must be a real number; got {type(x).__name__}") from exc


def _is_many(x) -> bool:
    if isinstance(x, torch.Tensor):
        return x.numel() != 1
    if isinstance(x, np.ndarray):
        return x.size != 1
    return isinstance(x, (list, tuple))


def _array_string(x, one) -> str:
    arr = np.asarray(x.tolist() if isinstance(x, torch.Tensor) else x, dtype=float)
    return np.array2string(arr, formatter={"float_kind": one}, separator=" ")


def _sig_string(v: float, sig: int) -> str:
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    if abs(v) < 1e-3 or abs(v) >= 1e6:
        return f"{v:.{max(sig - 1, 0)}e}"
    return f"{v:.{sig}g}"


def fmt(x, sig: int | None = None) -> str:
    """A deterministic float (solve, closed form) with ``sig`` significant digits (default 4); arrays too.

    Tiny and huge values use e-notation. Use :func:`approx` for trained or sampled statistics. The printing
    policy is explained in chapter 0 and the reproducibility appendix.
    """
    sig = _SIG if sig is None else check_int(sig, "sig")
    if _is_many(x):
        return _array_string(x, lambda v: _sig_string(float(v), sig))
    return _sig_string(_scalar(x), sig)


def approx(x, sig: int = 2) -> str:
    """A trained or sampled statistic, rounded to ``sig`` significant digits (default 2); arrays too.

    Two digits survive another BLAS path for the book's trainings (the portability check in ``make test``
    enforces it); print more only where the claim needs them and they are shown to survive (chapter 0).
    """
    return fmt(x, sig=check_int(sig, "sig"))


def bucket(x) -> str:
    """The decade of a positive statistic: ``~1e-8`` means ``1e-8 <= x < 1e-7``.

    For quantities that only matter to within a decade (a converged loss, a round-off floor); chapter 0.
    """
    v = _scalar(x)
    if not v > 0 or not math.isfinite(v):
        raise ValueError(f"x must be a positive finite number; got {v}")
    return f"~1e{math.floor(math.log10(v)):d}"


def below(x, tol: float) -> str:
    """Assert ``x < tol`` and return ``"< tol"``: the bound is the claim, the digits of ``x`` are noise.

    Used for identity residuals (``below(err, 1e-10)``, from chapter 2 on) and converged trained quantities.
    """
    v = _scalar(x)
    tol = check_positive(tol, "tol")
    if not v < tol:
        raise AssertionError(f"{v!r} is not below {tol:g}")
    return f"< {tol:.0e}"


def interval(mean, half_width, sig: int = 2) -> str:
    """``mean ± half_width`` with the half-width to ``sig`` significant digits and the mean to the same decimal.

    For a sampled mean with its 95% half-width (``rl.mean_and_ci95``; chapter 7).
    """
    m, h = _scalar(mean), _scalar(half_width)
    sig = check_int(sig, "sig")
    if not (math.isfinite(m) and math.isfinite(h)) or h < 0:
        raise ValueError(f"mean and half_width must be finite with half_width >= 0; got {m}, {h}")
    if h == 0:
        return f"{_sig_string(m, _SIG)} ± 0"
    decimals = max(sig - 1 - math.floor(math.log10(h)), 0)
    return f"{m:.{decimals}f} ± {h:.{decimals}f}"


def show(**values) -> None:
    """Print ``name = value`` lines: strings and integers as they are, floats with :func:`fmt`.

    Wrap trained statistics first (``show(loss=approx(loss))``) so each line says which kind it is (chapter 0).
    """
    width = max(len(k) for k in values) if values else 0
    for k, v in values.items():
        text = v if isinstance(v, (str, int)) and not isinstance(v, bool) else fmt(v)
        print(f"{k:<{width}} = {text}")


class Table:
    """A small results table: a Markdown table in the book and in Jupyter, aligned plain text for nbval.

    Built by :func:`table`. Cells are shown exactly as given (format numbers with :func:`fmt`,
    :func:`approx`, ... first, so each cell says which kind of number it is); a cell may hold inline math
    (``$\\gamma$``), which the book typesets. Chapters 6 and 7.
    """

    def __init__(self, header, rows, align: str | None = None):
        self.header = [str(h) for h in header]
        self.rows = [[_cell(v) for v in row] for row in rows]
        n = len(self.header)
        for i, row in enumerate(self.rows):
            if len(row) != n:
                raise ValueError(f"rows must have {n} cells like the header; row {i} has {len(row)}")
        if align is None:
            align = "l" + "r" * (n - 1)
        if len(align) != n or set(align) - set("lrc"):
            raise ValueError(f"align must be {n} letters from 'l', 'r', 'c'; got {align!r}")
        self.align = align

    def __repr__(self) -> str:
        widths = [max(len(r[j]) for r in [self.header] + self.rows) for j in range(len(self.header))]

        def line(cells):
            out = []
            for j, c in enumerate(cells):
                a = self.align[j]
                out.append(c.ljust(widths[j]) if a == "l" else c.center(widths[j]) if a == "c"
                           else c.rjust(widths[j]))
            return "  ".join(out).rstrip()

        return "\n".join([line(self.header)] + [line(r) for r in self.rows])

    def _repr_markdown_(self) -> str:
        rule = {"l": "---", "r": "---:", "c": ":---:"}

        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        body = [line(self.header), "|" + "|".join(rule[a] for a in self.align) + "|"]
        return "\n".join(body + [line(r) for r in self.rows])


def _cell(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return fmt(v)


def table(header, rows, align: str | None = None) -> None:
    """Display a table of results: ``table(["setting", "success"], [["SARSA", "8/8"], ...])``.

    ``header`` names the columns, ``rows`` is a list of rows (lists of cells): strings are shown as they
    are (inline math allowed), integers as they are and other numbers with :func:`fmt` (wrap trained
    statistics in :func:`approx` first). ``align`` is one letter per column (``l``, ``r``, ``c``; default:
    first column left, the others right). The book renders it as a table; nbval compares its plain-text
    form, the aligned columns. Results that compare methods are tables, not ``key = value`` dumps
    (chapters 6 and 7). Use :class:`Table` for the object without displaying it.
    """
    from IPython.display import display

    display(Table(header, rows, align=align))


#: The committed command-line results the chapters read (``book/_static/results``; the reproducibility appendix).
RESULTS_DIR = Path(__file__).resolve().parents[1] / "book" / "_static" / "results"


def load_result(name: str, show_command: bool = True) -> dict:
    """The committed result ``name`` (``"ch6_tm_sarsa_seed0"``, with or without ``.json``) as a dict.

    Looks in ``_static/results`` under the working folder (a chapter run from ``book/``, the student edition)
    and then in :data:`RESULTS_DIR`. ``show_command`` prints the command recorded in the file's provenance
    record, the one ``python -m icrl_lib.experiments reproduce FILE`` re-runs (the reproducibility appendix).
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"name must be the file name of a committed result (e.g. 'ch6_tm_sarsa_seed0'); got {name!r}")
    file = name if name.endswith(".json") else f"{name}.json"
    candidates = [Path("_static") / "results" / file, RESULTS_DIR / file]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise ValueError(f"name: no committed result {file} in _static/results or {RESULTS_DIR}")
    data = json.loads(path.read_text())
    if show_command:
        record = data.get("provenance") if isinstance(data, dict) else None
        if record is None:
            print(f"{file}: no provenance record")
        else:  # wrapped to the book's code width, continued as in a shell
            command = " ".join(w for w in record["command"] if w != "--quiet")
            lines = textwrap.wrap(command, 80, break_long_words=False, break_on_hyphens=False)
            print(f"{file}, made by:\n  " + " \\\n      ".join(lines))
    return data
