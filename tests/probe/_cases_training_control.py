"""Bad-input probe of icrl_lib.training.block_control (chapter 7: trained blocks as controllers); see _probe.py.
Collected by test_probe_training.py."""
from __future__ import annotations

import json
from dataclasses import asdict

import torch

from icrl_lib import incontext, training as lib
from icrl_lib.training import TeacherMimickingConfig

from ._probe import Case, nan_at

F = torch.float64
DIST = incontext.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
PC, VC = DIST.construction()
D = DIST.layout.dim
CFG = TeacherMimickingConfig(dist=DIST)
REC = {"P": PC.tolist(), "V": VC.tolist(), "history": {"eval_loss": [1.0]},
       "config": json.loads(json.dumps(asdict(CFG)))}
BATCH = incontext.sample_prompt_batch(DIST, 3, torch.Generator().manual_seed(0))
MDPS = incontext.held_out_mdps(DIST, 2, seed=0)
TEACHER = incontext.teacher_agent(DIST)
X = torch.zeros(4, 3, dtype=F)


def _report():
    res = lib.result_from_record({**REC, "history": {"relative_error_P": [0.0], "relative_error_V": [0.0],
                                                     "eval_loss": [0.0]}}, CFG)
    return lib.training_report(res)


CASES = [
    Case("result_from_record", "type", lambda: lib.result_from_record([1, 2], CFG), "record"),
    Case("result_from_record", "type", lambda: lib.result_from_record(REC, "sarsa"), "config"),
    Case("result_from_record", "range", lambda: lib.result_from_record(REC, TeacherMimickingConfig(dist=DIST, seed=3)),
         "config", note="other config"),
    Case("result_from_record", "shape", lambda: lib.result_from_record({**REC, "P": [[1.0]]}, CFG), "P"),
    Case("result_from_record", "nonfinite", lambda: lib.result_from_record({**REC, "V": nan_at(VC).tolist()}, CFG),
         "V"),
    Case("result_from_record", "legit", lambda: lib.result_from_record(REC, CFG),
         None, check=lambda r: torch.equal(r.P, PC)),
    Case("query_pair_norm", "shape", lambda: lib.query_pair_norm(PC[:-1], VC, DIST), "P"),
    Case("query_pair_norm", "nonfinite", lambda: lib.query_pair_norm(PC, nan_at(VC), DIST), "V"),
    Case("query_pair_norm", "type", lambda: lib.query_pair_norm(PC, VC, "sarsa"), "dist"),
    Case("query_pair_norm", "legit", lambda: lib.query_pair_norm(PC, VC, DIST), None, check=lambda v: v == 0.0),
    Case("training_report", "type", lambda: lib.training_report({"P": PC}), "result"),
    Case("training_report", "legit", _report, None, check=lambda r: r["query_pair_norm"] == 0.0),
    Case("block_and_teacher", "shape", lambda: lib.block_and_teacher(PC, VC[:, :-1], DIST), "V"),
    Case("block_and_teacher", "type", lambda: lib.block_and_teacher(PC, VC, None), "dist"),
    Case("block_and_teacher", "legit", lambda: lib.block_and_teacher(PC, VC, DIST), None,
         check=lambda a: set(a) == {"transformer", "teacher"}),
    Case("normalized_control", "type", lambda: lib.normalized_control("mdps", {"t": TEACHER}, DIST, 1, 0), "mdps"),
    Case("normalized_control", "range", lambda: lib.normalized_control(MDPS, {"t": TEACHER}, DIST, -1, 0),
         "n_rounds"),
    Case("normalized_control", "range", lambda: lib.normalized_control(MDPS, {"t": TEACHER}, DIST, 1, -1), "seed"),
    Case("normalized_control", "range", lambda: lib.normalized_control(MDPS, {"t": TEACHER}, DIST, 1, 0, -1.0),
         "temperature"),
    Case("normalized_control", "legit", lambda: lib.normalized_control(MDPS, {"t": TEACHER}, DIST, 1, 0), None,
         check=lambda n: n["t"].shape == (2, 2)),
    Case("paired_summary", "type", lambda: lib.paired_summary({"transformer": X}), "normalized"),
    Case("paired_summary", "shape", lambda: lib.paired_summary({"transformer": X, "teacher": X[:, :2]}),
         "normalized"),
    Case("paired_summary", "nonfinite", lambda: lib.paired_summary({"transformer": nan_at(X), "teacher": X}),
         "normalized"),
    Case("paired_summary", "range", lambda: lib.paired_summary({"transformer": X, "teacher": X}, round=5), "round"),
    Case("paired_summary", "legit", lambda: lib.paired_summary({"transformer": X, "teacher": X}), None,
         check=lambda s: float(s["difference"][0]) == 0.0),
    Case("one_step_errors", "type", lambda: lib.one_step_errors(PC, VC, BATCH.H, DIST), "batch"),
    Case("one_step_errors", "shape", lambda: lib.one_step_errors(PC[:2], VC, BATCH, DIST), "P"),
    Case("one_step_errors", "legit", lambda: lib.one_step_errors(PC, VC, BATCH, DIST), None,
         check=lambda e: e.shape == (3,) and float(e.max()) < 1e-10),
    Case("scale_sweep", "empty", lambda: lib.scale_sweep(PC, VC, DIST, []), "scales"),
    Case("scale_sweep", "range", lambda: lib.scale_sweep(PC, VC, DIST, [1.0, -2.0]), "scales"),
    Case("scale_sweep", "nonfinite", lambda: lib.scale_sweep(PC, VC, DIST, [float("nan")]), "scales"),
    Case("scale_sweep", "range", lambda: lib.scale_sweep(PC, VC, DIST, [1.0], n_prompts=0), "n_prompts"),
    Case("scale_sweep", "legit", lambda: lib.scale_sweep(PC, VC, DIST, [1.0], n_prompts=4), None,
         check=lambda o: len(o["block"]) == 1 and o["block"][0] < 1e-10),
    Case("recording_agent", "type", lambda: lib.recording_agent("teacher", DIST, []), "update"),
    Case("recording_agent", "type", lambda: lib.recording_agent(TEACHER, DIST, ()), "log"),
    Case("recording_agent", "legit", lambda: lib.recording_agent(TEACHER, DIST, []), None, check=callable),
    Case("frozen_when_diverged", "type", lambda: lib.frozen_when_diverged(None), "update"),
    Case("frozen_when_diverged", "range", lambda: lib.frozen_when_diverged(TEACHER, limit=0.0), "limit"),
    Case("frozen_when_diverged", "nonfinite", lambda: lib.frozen_when_diverged(TEACHER, limit=float("inf")), "limit"),
    Case("frozen_when_diverged", "legit", lambda: lib.frozen_when_diverged(lambda p, t: p + 1e9)(X, None), None,
         check=lambda out: torch.equal(out, X)),
]
EXEMPT: dict = {}
