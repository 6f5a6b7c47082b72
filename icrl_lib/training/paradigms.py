"""One table across the book's training paradigms (chapter 11, section 6): teacher mimicking (chapters 6-7 and
chapter 11), multi-task TD pretraining (chapters 3 and 8) and supervised pretraining (chapter 9 and chapter 11).

The rows are assembled from the committed result files (their configurations give the data per run, their
runs the recovery counts of chapters 3, 6 and 8); the cells this chapter measures itself (recovery of its own
runs, transfer) are passed in already formatted, so the printing policy stays with the chapter.
"""
from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PARADIGM_RESULTS", "paradigm_table"]

#: The committed result files the table reads (keys of ``results``).
PARADIGM_RESULTS = ("ch3_td_pretraining", "ch6_success_sarsa_default", "ch6_success_actor-critic_default",
                    "ch8_softmax_td_emergence", "ch9_darkroom", "ch11_depth", "ch11_heads", "ch11_features",
                    "ch11_supervised")
_MEASURED = ("depth", "heads", "features", "supervised")
_TRANSFER = ("sarsa", "features", "td", "darkroom", "supervised")
HEADER = ["paradigm", "signal", "what counts as recovery", "data per run", "recovered / seeds", "transfer"]


def _wins(runs, key: str = "success") -> str:
    return f"{sum(bool(r[key]) for r in runs)}/{len(runs)}"


def _prompts(config: Mapping, n: int = 40) -> str:
    return f"{config['n_steps']} x {config['batch_size']} prompts, N = {n}"


def _check(mapping, name: str, keys) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{name} must be a dict; got {type(mapping).__name__}")
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{name} lacks the keys {missing}")


def paradigm_table(results: Mapping, recovered: Mapping, transfer: Mapping) -> tuple[list, list]:
    """``(header, rows)`` of chapter 11's table across paradigms, for ``icrl_lib.notebook.table``.

    ``results``: the loaded result files named in :data:`PARADIGM_RESULTS`; ``recovered``: the recovery cell of
    this chapter's runs (keys ``depth``, ``heads``, ``features``, ``supervised``, e.g. ``"0/3"``);
    ``transfer``: the measured transfer cells (keys ``sarsa``, ``features``, ``td``, ``darkroom``,
    ``supervised``). Every cell is a string.
    """
    _check(results, "results", PARADIGM_RESULTS)
    _check(recovered, "recovered", _MEASURED)
    _check(transfer, "transfer", _TRANSFER)
    res = results
    tm, tm_ac = res["ch6_success_sarsa_default"], res["ch6_success_actor-critic_default"]
    c3, ch8, dr, sv = (res["ch3_td_pretraining"]["config"], res["ch8_softmax_td_emergence"], res["ch9_darkroom"],
                       res["ch11_supervised"]["config"])
    runs3 = res["ch3_td_pretraining"]["runs"]
    rows = [
        ("teacher mimicking [LL26], SARSA (ch. 6-7)", "batch SARSA step", "construction within 5% (ch. 6)",
         _prompts(tm["config"]), _wins(tm["runs"]), transfer["sarsa"]),
        ("teacher mimicking, actor-critic (ch. 6-7)", "batch AC step", "construction within 5%",
         _prompts(tm_ac["config"]), _wins(tm_ac["runs"]), "chapter 7"),
        ("teacher mimicking, 2 layers, 2-step target (sec. 1)", "two SARSA steps", "each layer within 5%",
         _prompts(res["ch11_depth"]["config"]), recovered["depth"], "not measured"),
        ("teacher mimicking, 2 heads, AC (sec. 2)", "batch AC step", "heads share or separate (outputs)",
         _prompts(res["ch11_heads"]["config"]), recovered["heads"], "not measured"),
        ("teacher mimicking, random features (sec. 4)", "SARSA on features", "construction within 5%",
         _prompts(res["ch11_features"]["config"]), recovered["features"], transfer["features"]),
        ("TD pretraining [W25], shared layers (ch. 3)", "TD loss, Boyan chains", "TD structure criterion (ch. 3)",
         f"{c3['n_steps']} x {c3['tasks_per_step']} tasks x {c3['windows_per_task']} windows, n = {c3['n']}",
         _wins([r for r in runs3 if r["shared"]]), transfer["td"]),
        ("TD pretraining [W25], separate layers (ch. 3)", "TD loss, Boyan chains", "per-layer structure criterion",
         "same", _wins([r for r in runs3 if not r["shared"]]), "same"),
        ("softmax TD pretraining [X26], blocks fixed (ch. 8)", "TD loss, Boyan chains",
         "cosine to construction > 0.9", f"{ch8['config']['n_steps']} x {ch8['config']['batch_size']} tasks",
         f"{ch8['masked']['n_success']}/{len(ch8['seeds'])}", "chapter 8"),
        ("softmax TD pretraining [X26], blocks free (ch. 8)", "TD loss, Boyan chains", "same", "same",
         f"{ch8['unmasked']['n_success']}/{len(ch8['seeds'])}", "chapter 8"),
        ("supervised pretraining DPT [DPT23], Dark Room (ch. 9)", "optimal actions", "reduced expert (ch. 9)",
         f"{dr['config']['n_steps']} x {dr['config']['batch_size']} contexts of {dr['config']['context_len']} steps",
         "1 seed", transfer["darkroom"]),
        ("supervised pretraining [LBM24, DPT23], these random MDPs (sec. 6)", "optimal actions",
         "no construction; left the loss plateau",
         f"{sv['n_steps']} x {sv['batch_size']} contexts of {sv['dist']['n_transitions']} steps",
         recovered["supervised"], transfer["supervised"]),
    ]
    return list(HEADER), [list(r) for r in rows]
