"""The command line, generated from the experiment registry (the reproducibility appendix lists the commands).

An experiment is one :class:`Experiment`: a name, a config dataclass whose fields are the command's flags
(declared with :func:`flag`: default, help, range or choices), a run function and the lines to print. The parser
adds the flags every command shares (``--threads``, ``--json``, ``--quiet``, ``--device``), checks every value
and the ``--json`` target before any computation (a bad value is one line on stderr and exit 2), writes the
result atomically with its provenance record, and ``reproduce FILE`` re-runs a recorded command and compares.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch

from ..provenance import check_output_path, compare_results, provenance_record, write_json_atomic
from ..training import resolve_device

__all__ = ["flag", "Experiment", "Context", "build_parser", "main", "reproduce", "PROG"]

PROG = "python -m icrl_lib.experiments"
DEFAULT_TOLERANCE = (1e-6, 1e-9)


def flag(default: Any = None, help: str = "", *, minimum: float | None = None, maximum: float | None = None,
         open_low: bool = False, choices=None, many: bool = False, kind: type | None = None,
         required: bool = False):
    """A config field that is a command-line flag ``--field-name`` (the reproducibility appendix): its ``default``, ``help`` text, and its check:
    ``minimum``/``maximum`` (``open_low``: strictly above the minimum) for numbers, ``choices`` for names,
    ``many`` for a list (``nargs="+"``), ``kind`` the value type when the default is None or a tuple."""
    meta = {"help": help, "minimum": minimum, "maximum": maximum, "open_low": open_low, "choices": choices,
            "many": many, "kind": kind, "required": required}
    return field(default=tuple(default) if many and default is not None else default, metadata=meta)


class Context(NamedTuple):
    """What every run gets besides its config (the reproducibility appendix): the progress flag, the line printer and the torch device."""
    progress: bool
    log: Callable[[str], None]
    device: torch.device


@dataclass(frozen=True)
class Experiment:
    """One registry entry (the reproducibility appendix): ``config`` (a dataclass of :func:`flag` fields) -> ``run(config, context)`` -> a JSON dict,
    ``summary(result)`` -> the lines printed at the end; ``tolerance`` (relative, absolute) of ``reproduce``
    (training is deterministic on one machine and BLAS path; on another the last digits may move);
    ``devices``: the torch devices its trainer supports."""
    name: str
    help: str
    config: type
    run: Callable[[Any, Context], dict]
    summary: Callable[[dict], list[str]] = lambda out: []
    tolerance: tuple[float, float] = DEFAULT_TOLERANCE
    devices: tuple[str, ...] = ("cpu",)


def _number(kind: type, low, high, open_low: bool):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}; "
                                              f"got {text!r}") from None
        bad = value != value or (low is not None and (value <= low if open_low else value < low)) or (
            high is not None and value > high)
        if bad:
            lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
            hi = "" if high is None else f"<= {high:g}"
            raise argparse.ArgumentTypeError(f"expected a number {' and '.join(x for x in (lo, hi) if x)}; "
                                              f"got {text}")
        return value
    parse.__name__ = "integer" if kind is int else "number"
    return parse


def _add_flag(parser: argparse.ArgumentParser, f) -> None:
    meta, name = f.metadata, "--" + f.name.replace("_", "-")
    kind = meta["kind"] or type(f.default)
    if kind is bool:
        parser.add_argument(name, dest=f.name, action="store_true", help=meta["help"])
        return
    kw = {"dest": f.name, "help": meta["help"], "required": meta["required"],
          "default": list(f.default) if meta["many"] and f.default is not None else f.default}
    if meta["choices"] is not None:
        kw["choices"] = list(meta["choices"])
    elif kind in (int, float):
        kw["type"] = _number(kind, meta["minimum"], meta["maximum"], meta["open_low"])
    if meta["many"]:
        kw["nargs"] = "+"
    if f.default is not MISSING and f.default is not None and not meta["required"]:
        kw["help"] += f" (default: {' '.join(map(str, f.default)) if meta['many'] else f.default})"
    parser.add_argument(name, **kw)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error on stderr (exit 2), without the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(registry: dict[str, Experiment]) -> argparse.ArgumentParser:
    """The parser of every registered experiment plus ``reproduce`` (the reproducibility appendix)."""
    parser = _Parser(prog=PROG, description="The book's experiments; every result records its provenance.")
    sub = parser.add_subparsers(dest="name", required=True)
    for exp in registry.values():
        p = sub.add_parser(exp.name, help=exp.help, description=exp.help)
        for f in fields(exp.config):
            _add_flag(p, f)
        p.add_argument("--threads", type=_number(int, 1, None, False), default=1,
                       help="torch threads (1 is fastest for these sizes)")
        p.add_argument("--json", metavar="F", help="write the result, with its provenance record, to this file")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--device", default="cpu", help=f"torch device ({', '.join(exp.devices)})")
    rp = sub.add_parser("reproduce", help="re-run the command recorded in a result file and compare the numbers")
    rp.add_argument("file", metavar="FILE", help="a result file with a provenance record")
    rp.add_argument("--rtol", type=_number(float, 0.0, None, False), help="relative tolerance")
    rp.add_argument("--atol", type=_number(float, 0.0, None, False), help="absolute tolerance")
    rp.add_argument("--threads", type=_number(int, 1, None, False), default=1, help="torch threads")
    return parser


def _prepare(exp: Experiment, args) -> tuple[Any, Context]:
    """The validated config and context of a parsed command: every check before any computation."""
    config = exp.config(**{f.name: getattr(args, f.name) for f in fields(exp.config)})
    device = resolve_device(args.device)
    if device.type not in exp.devices:
        raise ValueError(f"--device: {exp.name} runs on {' or '.join(exp.devices)} only; got {args.device}")
    if args.json:
        check_output_path(args.json)
    return config, Context(not args.quiet, lambda line: print(line, flush=True), device)


def main(argv: list[str] | None = None, registry: dict[str, Experiment] | None = None) -> int:
    """``python -m icrl_lib.experiments NAME [options]``: run a registered experiment (exit 0), or report a bad
    value in one line (exit 2; ``ICRL_DEBUG=1`` shows the traceback), or an interruption (exit 130). The
    reproducibility appendix lists the commands that made the book's results."""
    from .registry import REGISTRY
    registry = REGISTRY if registry is None else registry
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(registry)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        if args.name == "reproduce":
            return reproduce(args.file, args.rtol, args.atol, args.threads, registry)
        exp = registry[args.name]
        config, context = _prepare(exp, args)
        start = time.perf_counter()
        out = exp.run(config, context)
        for line in exp.summary(out):
            print(line)
        if args.json:
            out["provenance"] = provenance_record(argv, time.perf_counter() - start)
            write_json_atomic(args.json, out)
    except ValueError as exc:
        if os.environ.get("ICRL_DEBUG"):
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = f"; an earlier {args.json} is intact" if getattr(args, "json", None) else ""
        print(f"{PROG}: interrupted, nothing written{kept}", file=sys.stderr)
        return 130
    return 0


def reproduce(path, rtol: float | None = None, atol: float | None = None, threads: int = 1,
              registry: dict[str, Experiment] | None = None) -> int:
    """Re-run the command recorded in the result file ``path`` and compare every number (exit status 0/1;
    the reproducibility appendix). The tolerance is the experiment's unless given; the recorded ``--json``
    target is replaced by a temporary file; the differences are printed one per line."""
    from .registry import REGISTRY
    registry = REGISTRY if registry is None else registry
    p = Path(path)
    try:
        committed = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"FILE: cannot read {p} as JSON ({exc})") from None
    record = committed.get("provenance") if isinstance(committed, dict) else None
    if not record or "command" not in record:
        raise ValueError(f"FILE: {p} has no provenance record; regenerate it with {PROG}")
    argv = list(record["command"][3:])
    if not argv or argv[0] not in registry:
        raise ValueError(f"FILE: {p} records an unknown experiment {argv[:1]}")
    r, a = registry[argv[0]].tolerance
    r, a = (r if rtol is None else rtol), (a if atol is None else atol)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        if "--json" in argv:
            argv[argv.index("--json") + 1] = out
        else:
            argv += ["--json", out]
        argv = [x for i, x in enumerate(argv) if not (x == "--threads" or (i and argv[i - 1] == "--threads"))]
        argv += ([] if "--quiet" in argv else ["--quiet"]) + ["--threads", str(threads)]
        print("reproduce:", " ".join(record["command"]), flush=True)
        status = main(argv, registry)
        if status:
            return status
        fresh = json.loads(Path(out).read_text())
    diffs = compare_results(committed, fresh, rtol=r, atol=a)
    for line in diffs[:50]:
        print("  differs:", line)
    if len(diffs) > 50:
        print(f"  ... and {len(diffs) - 50} more differences")
    print(f"{p}: {'agrees' if not diffs else f'{len(diffs)} numbers differ'} (rtol {r:g}, atol {a:g}); "
          f"committed {record.get('seconds', '?')} s, now {fresh['provenance']['seconds']} s")
    return 0 if not diffs else 1
