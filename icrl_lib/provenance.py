"""Result files that say how they were made, written so that nothing earlier is lost (reproducibility appendix).

Every JSON file that ``python -m icrl_lib.experiments`` writes carries a ``"provenance"`` record: the exact
command (the arguments after ``python -m icrl_lib.experiments``), the library version and git commit when the
library runs from a checkout, the Python, torch and numpy versions, the date and the wall time.
``python -m icrl_lib.experiments reproduce FILE`` re-runs the recorded command into a temporary file and
compares every number with the committed one (:func:`compare_results`).

Writes are atomic (:func:`write_json_atomic`): the result goes to a temporary file in the target's folder,
then replaces the target in one rename, so a full disk or an interrupted run leaves any earlier file intact.
:func:`check_output_path` refuses a bad target (missing folder, a folder, not writable) before any work.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path

__all__ = ["check_output_path", "write_json_atomic", "provenance_record", "compare_results"]


def check_output_path(path, name: str = "--json") -> Path:
    """The output file ``path`` as a ``Path``, after checking that a result can be written there (appendix
    on reproducibility).

    Raises ``ValueError`` naming ``name`` when the parent folder does not exist or is not writable, or when
    ``path`` is a folder. An existing file is allowed: it is replaced atomically at the end of the run.
    """
    if path is None or str(path).strip() == "":
        raise ValueError(f"{name} must be a file path; got {path!r}")
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValueError(f"{name} must be a file, not a folder: {p}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{name}: the folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: the folder {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"{name}: the file {p} is not writable")
    return p


def write_json_atomic(path, data) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file in the same folder, then ``os.replace``;
    reproducibility appendix).

    Non-finite floats are refused (JSON cannot hold them; store them as strings before writing), so a result
    file is always valid JSON. On any failure the temporary file is removed and an earlier ``path`` is intact.
    """
    p = Path(path)
    text = json.dumps(data, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        if p.exists():  # keep the permissions of the file being replaced
            os.chmod(tmp, p.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _git_commit() -> str | None:
    """The commit of the checkout the library runs from, with ``+dirty`` for uncommitted changes; else None."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                "icrl_lib"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def provenance_record(argv: list[str], seconds: float) -> dict:
    """The provenance of a result made by ``python -m icrl_lib.experiments`` with arguments ``argv`` (reproducibility
    appendix): command, library version, git commit, Python/torch/numpy versions, date, wall time."""
    import numpy
    import torch

    from importlib.metadata import PackageNotFoundError, version

    try:
        library = version("icrl_lib")
    except PackageNotFoundError:  # running from a checkout that was not installed
        library = None
    return {
        "command": ["python", "-m", "icrl_lib.experiments", *argv],
        "icrl_lib": library,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(float(seconds), 2),
    }


# Keys whose values legitimately differ between two runs of the same command.
VOLATILE_KEYS = frozenset({"provenance", "seconds", "wall_time"})


def compare_results(expected, actual, rtol: float = 0.0, atol: float = 0.0, path: str = "") -> list[str]:
    """The differences between two JSON results, one line each, empty when they agree (reproducibility
    appendix).

    Numbers agree when ``|a - e| <= atol + rtol * |e|`` (exact with the defaults); strings, booleans and
    ``None`` must be equal; dict keys and list lengths must match. Keys in :data:`VOLATILE_KEYS` are skipped.
    """
    diffs: list[str] = []
    where = path or "(top)"
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(set(expected) | set(actual), key=str):
            if k in VOLATILE_KEYS:
                continue
            sub = f"{path}.{k}" if path else str(k)
            if k not in actual:
                diffs.append(f"{sub}: missing in the new result")
            elif k not in expected:
                diffs.append(f"{sub}: not in the committed result")
            else:
                diffs += compare_results(expected[k], actual[k], rtol, atol, sub)
        return diffs
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: length {len(actual)} instead of {len(expected)}"]
        for i, (e, a) in enumerate(zip(expected, actual)):
            diffs += compare_results(e, a, rtol, atol, f"{path}[{i}]")
        return diffs
    numbers = (int, float)
    if (isinstance(expected, numbers) and isinstance(actual, numbers) and not isinstance(expected, bool)
            and not isinstance(actual, bool)):
        e, a = float(expected), float(actual)
        if not (math.isfinite(e) and math.isfinite(a)):
            ok = e == a or (math.isnan(e) and math.isnan(a))
        else:
            ok = abs(a - e) <= atol + rtol * abs(e)
        if not ok:
            diffs.append(f"{where}: {a!r} instead of {e!r}")
        return diffs
    if expected != actual or type(expected) is not type(actual):
        diffs.append(f"{where}: {actual!r} instead of {expected!r}")
    return diffs
