"""The library's layout holds (API.md, CONTRIBUTING.md): the subpackages, who may import whom, no private
imports across modules, a docstring naming its chapter on every public callable, the names outside checks use,
and no algorithm switches outside the registry."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest

import icrl_lib

ROOT = Path(icrl_lib.__file__).parent
SUBPACKAGES = ("rl", "attention", "incontext", "training", "symbolic")
TOP_MODULES = ("notebook", "plotting", "experiments", "bench", "provenance")
#: Top-level packages that are not topic subpackages: figures (one module per topic) and the command line.
TOP_PACKAGES = ("plotting", "experiments")
# What each subpackage may import from icrl_lib (besides itself and _validation).
ALLOWED = {
    "rl": set(),
    "attention": set(),
    "incontext": {"rl", "attention"},
    "training": {"rl", "attention", "incontext"},
    "symbolic": {"rl", "attention", "incontext"},
}
CHAPTER = re.compile(r"\b(chapters?|Chapters?)\s+\d+|\bappendix\b|\bpreface\b", re.IGNORECASE)


def public_modules():
    names = [f"icrl_lib.{m}" for m in TOP_MODULES]
    for sub in SUBPACKAGES:
        names.append(f"icrl_lib.{sub}")
    return names


def test_tree_matches_the_layout():
    entries = {p.name for p in ROOT.iterdir() if not p.name.startswith("__")}
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(SUBPACKAGES) | set(TOP_PACKAGES)
    modules = {p.stem for p in ROOT.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(TOP_MODULES) - set(TOP_PACKAGES) | {"_validation"}, modules
    assert entries - packages - {f"{m}.py" for m in modules} <= {"py.typed"}


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield node.level, node.module or "", [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield 0, a.name, []


def _resolve(path: Path, level: int, module: str) -> str:
    if level == 0:
        return module
    pkg = path.relative_to(ROOT.parent).with_suffix("").parts[:-1]
    base = pkg[: len(pkg) - (level - 1)]
    return ".".join(base + ((module,) if module else ()))


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_who_imports_whom(sub):
    for path in (ROOT / sub).rglob("*.py"):
        for level, module, _ in _imports(path):
            target = _resolve(path, level, module)
            if not target.startswith("icrl_lib"):
                continue
            parts = target.split(".")
            other = parts[1] if len(parts) > 1 else ""
            if other in (sub, "_validation", ""):
                continue
            assert other in ALLOWED[sub], f"{path.relative_to(ROOT)} imports {target}"


def test_no_private_names_imported_across_modules():
    for path in ROOT.rglob("*.py"):
        for level, module, names in _imports(path):
            target = _resolve(path, level, module)
            if not target.startswith("icrl_lib") or target == "icrl_lib._validation":
                continue
            for n in names:
                assert not n.startswith("_"), f"{path.relative_to(ROOT)} imports private {target}.{n}"


@pytest.mark.parametrize("modname", public_modules())
def test_every_public_callable_is_documented_with_its_chapter(modname):
    mod = importlib.import_module(modname)
    assert mod.__doc__ and len(mod.__doc__.strip()) > 20, modname
    assert hasattr(mod, "__all__"), f"{modname} must declare __all__"
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not callable(obj):
            continue
        doc = inspect.getdoc(obj)
        assert doc, f"{modname}.{name} has no docstring"
        assert CHAPTER.search(obj.__doc__ or ""), \
            f"{modname}.{name}: its docstring must name the chapter that explains it"


def test_names_outside_checks_rely_on():
    from icrl_lib import attention, incontext, rl  # noqa: F401
    for name in ("TabularMDP", "MarkovRewardProcess", "random_mdp", "boyan_chain", "policy_evaluation",
                 "expected_return", "value_iteration", "stationary_distribution", "sample_transitions",
                 "batch_td_update", "batch_sarsa_update", "batch_actor_critic_update", "run_control"):
        assert callable(getattr(rl, name)), name
    for name in ("linear_self_attention", "apply_layers", "LinearTransformer"):
        assert callable(getattr(attention, name)), name
    for name in ("td_prompt", "td_readout", "td_construction", "sarsa_prompt", "sarsa_readout",
                 "sarsa_construction", "actor_critic_prompt", "actor_critic_readout",
                 "actor_critic_construction"):
        assert callable(getattr(incontext, name)), name
    assert set(incontext.ALGORITHMS) >= {"sarsa", "actor-critic"}


def test_no_algorithm_switches_outside_the_registry():
    switch = re.compile(r"""==\s*["'](sarsa|actor-critic|actor_critic)["']""")
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "incontext":
            continue
        assert not switch.search(path.read_text()), f"{path.relative_to(ROOT)} switches on an algorithm name"
    for nb in (ROOT.parent / "book").glob("*.ipynb"):  # the decoded cell sources, not the escaped JSON
        code = "\n".join(c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
        assert not switch.search(code), f"{nb.name} switches on an algorithm name"


def test_every_submodule_is_reachable_from_its_package():
    for sub in SUBPACKAGES:
        pkg = importlib.import_module(f"icrl_lib.{sub}")
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"icrl_lib.{sub}.{info.name}")
            for name in getattr(mod, "__all__", []):
                assert getattr(pkg, name, None) is getattr(mod, name), f"icrl_lib.{sub} must re-export {name}"


@pytest.mark.parametrize("sub", ["rl", "attention", "incontext"])
def test_lower_subpackages_load_neither_matplotlib_nor_sympy(sub):
    import subprocess
    import sys

    code = (f"import sys, icrl_lib.{sub}; "
            "print(sorted(m for m in ('matplotlib', 'sympy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"import icrl_lib.{sub} loads {out.strip()}"
