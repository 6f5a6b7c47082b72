"""Training: multi-task TD pretraining, teacher mimicking of one block, gradient flow on the mimicking loss,
supervised pretraining of a layer on in-context regression. Imports icrl_lib.rl, .attention, .incontext.
Chapters 2 (regression), 3 (TD pretraining), 6 (teacher mimicking, gradient flow), 7 (the trained blocks).
"""
from .gradient_flow import (GDResult, QueryMoments, Spectrum, balance, fit_log_slope, flat_entries,
                            gradient_descent, hessian_spectrum, linear_model_curve, loss_gradients, loss_hessian,
                            moment_loss, moment_readout, predicted_log_loss_slope, query_moments, with_entries)
from .regression import (RegressionTasks, TrainResult, effective_preconditioner, fit_step_size,
                         lsa_regression_loss, one_step_risk, optimal_step_size, sample_regression_tasks,
                         train_regression_lsa)
from .td_pretraining import (TASKS_PER_DRAW, BoyanTasks, TDPretrainingConfig, TDPretrainingResult, WindowMoments,
                             boyan_task_values, moment_td_loss, msve, sample_boyan_tasks, task_trajectories,
                             td_pretrain, td_pretraining_loss, td_structure_metrics, value_estimates,
                             values_from_moments, window_moments)
from .teacher_mimicking import (TeacherMimickingConfig, TeacherMimickingResult, block_readout, init_parameters,
                                mimicking_loss, train_teacher_mimicking)
from .softmax_pretraining import (SoftmaxPretrainingConfig, SoftmaxPretrainingResult, SoftmaxTDTasks, block_metrics,
                                  construction_model, fit_construction,
                                  loss_gradient_norm, run_emergence, sample_softmax_td_tasks, softmax_td_loss,
                                  softmax_td_pretrain)

__all__ = [
    # TD pretraining (chapter 3)
    "TASKS_PER_DRAW", "BoyanTasks", "TDPretrainingConfig", "TDPretrainingResult", "WindowMoments", "sample_boyan_tasks",
    "boyan_task_values", "task_trajectories", "window_moments", "values_from_moments", "moment_td_loss",
    "td_pretraining_loss", "td_structure_metrics", "value_estimates", "msve", "td_pretrain",
    # teacher mimicking (chapter 6)
    "TeacherMimickingConfig", "TeacherMimickingResult", "init_parameters", "block_readout", "mimicking_loss",
    "train_teacher_mimicking",
    # gradient flow (chapter 6)
    "QueryMoments", "query_moments", "moment_readout", "moment_loss", "flat_entries", "with_entries",
    "loss_gradients", "loss_hessian", "Spectrum", "hessian_spectrum", "predicted_log_loss_slope",
    "fit_log_slope", "linear_model_curve", "balance", "GDResult", "gradient_descent",
    # supervised pretraining on in-context regression (chapter 2)
    "RegressionTasks", "sample_regression_tasks", "optimal_step_size", "one_step_risk", "fit_step_size",
    "effective_preconditioner", "lsa_regression_loss", "TrainResult", "train_regression_lsa",
    # softmax TD pretraining (chapter 8)
    "SoftmaxTDTasks", "SoftmaxPretrainingConfig", "SoftmaxPretrainingResult", "sample_softmax_td_tasks",
    "softmax_td_loss", "construction_model", "fit_construction", "block_metrics",
    "softmax_td_pretrain", "loss_gradient_norm", "run_emergence",
]

# Chapter 3's evaluation of TD pretraining: references, [W25]'s metrics, success over seeds.
from .td_pretraining import (STEP_GRID, SUCCESS_CRITERION, EvaluationSet, construction_values,  # noqa: E402
                             evaluation_set, expected_td_system, expected_td_weights, fitted_weights,
                             implicit_weights, initial_model, reference_weights, td_pretraining_sweep,
                             td_similarity_metrics, td_structure_success)

__all__ += ["STEP_GRID", "SUCCESS_CRITERION", "EvaluationSet", "construction_values", "evaluation_set",
            "expected_td_system", "expected_td_weights", "fitted_weights", "implicit_weights", "initial_model",
            "reference_weights", "td_pretraining_sweep", "td_similarity_metrics", "td_structure_success"]

# Chapter 11: teacher mimicking of stacks, heads and random-feature blocks; DPT-style pretraining on random MDPs.
from .stack_mimicking import (BEYOND_PARTS, StackMimickingConfig, StackMimickingResult, beyond_config,  # noqa: E402
                              beyond_sweep, head_shares, layer_recovery, plain_recovery, stack_loss,
                              stack_prompts, train_stack_mimicking)
from .mdp_pretraining import SupervisedMDPConfig, supervised_mdp_experiment, supervised_mdp_sweep  # noqa: E402

__all__ += ["BEYOND_PARTS", "StackMimickingConfig", "StackMimickingResult", "beyond_config", "beyond_sweep",
            "head_shares", "layer_recovery", "plain_recovery", "stack_loss", "stack_prompts",
            "train_stack_mimicking", "SupervisedMDPConfig", "supervised_mdp_experiment",
            "supervised_mdp_sweep"]

# Supervised pretraining of a causal transformer on expert labels: AD and DPT (chapter 9).
from .supervised import (CausalTransformerPolicy, SupervisedResult, TransformerConfig, action_probabilities,  # noqa: E402
                         bandit_token_dim, bandit_tokens, pretrain_supervised, supervised_loss, transformer_expert)
from .bandit_pretraining import (CLI_DEFAULTS, BanditDataset, BanditPretrainingConfig,  # noqa: E402
                                 bandit_cli_config, bandit_experts, bandit_pretraining_experiment,
                                 collect_bandit_data, posterior_sampling)
from .distribution_ratio import (all_histories, beta_bernoulli_log_evidence, distribution_ratio,  # noqa: E402
                                 distribution_ratio_curve)
from .darkroom_pretraining import (DarkRoomConfig, darkroom_dataset, darkroom_experiment, darkroom_online,  # noqa: E402
                                   darkroom_token_dim, darkroom_tokens)

__all__ += ["CausalTransformerPolicy", "TransformerConfig", "SupervisedResult", "action_probabilities", "bandit_token_dim",
            "bandit_tokens", "pretrain_supervised", "supervised_loss", "transformer_expert",
            "CLI_DEFAULTS", "BanditDataset", "BanditPretrainingConfig", "DarkRoomConfig", "all_histories",
            "bandit_cli_config", "bandit_experts", "bandit_pretraining_experiment", "beta_bernoulli_log_evidence",
            "collect_bandit_data", "darkroom_dataset", "darkroom_experiment", "darkroom_online", "darkroom_token_dim",
            "darkroom_tokens", "distribution_ratio", "distribution_ratio_curve", "posterior_sampling"]

# Chapter 10: Algorithm Distillation of soft LinUCB against the constructed transformer.
from .ad_linucb import ADLinUCBConfig, ad_linucb_experiment, policy_gap  # noqa: E402

__all__ += ["ADLinUCBConfig", "ad_linucb_experiment", "policy_gap"]

# Chapter 11: how the two heads of a trained two-head block split the critic and actor steps.
from .head_output_split import head_output_split  # noqa: E402

__all__ += ["head_output_split"]

# Trained blocks as in-context controllers (chapter 7).
from .block_control import (block_and_teacher, frozen_when_diverged, normalized_control, one_step_errors,  # noqa: E402
                            paired_summary, query_pair_norm, recording_agent, result_from_record, scale_sweep,
                            training_report)

__all__ += ["result_from_record", "query_pair_norm", "training_report", "block_and_teacher", "normalized_control",
            "paired_summary", "one_step_errors", "scale_sweep", "recording_agent", "frozen_when_diverged"]

# Chapter 6: local convergence near the construction and the success-rate sweeps.
from .local_convergence import LocalConvergence, ModeEnergies, local_convergence, mode_energies  # noqa: E402
from .success_sweeps import SweepSummary, sweep_summary  # noqa: E402

__all__ += ["LocalConvergence", "ModeEnergies", "local_convergence", "mode_energies", "SweepSummary",
            "sweep_summary"]

# Chapter 3's measurements of the TD construction and of TD pretraining.
from .td_evaluation import (AlignedLayer, ContextLengthCurves, StepSizeComparison, align_layer,  # noqa: E402
                            context_length_curves, linear_msve, reference_msve, similarity_summary,
                            step_size_comparison)

__all__ += ["linear_msve", "reference_msve", "ContextLengthCurves", "context_length_curves", "AlignedLayer",
            "align_layer", "StepSizeComparison", "step_size_comparison", "similarity_summary"]

# One table across the training paradigms (chapter 11).
from .paradigms import PARADIGM_RESULTS, paradigm_table  # noqa: E402

__all__ += ["PARADIGM_RESULTS", "paradigm_table"]

# The one training loop and the one optimiser configuration (every trainer above goes through them).
from .fit import OptimiserConfig, fit, resolve_device  # noqa: E402

__all__ += ["OptimiserConfig", "fit", "resolve_device"]

# DPT against the exact posterior on the two-armed Bernoulli bandit (chapter 9).
from .posterior_fit import (HistoryTable, PosteriorFit, exact_history_table, history_from_counts,  # noqa: E402
                            history_index, model_arm1_probs, posterior_fit, train_bernoulli_dpt)

__all__ += ["HistoryTable", "PosteriorFit", "exact_history_table", "history_from_counts", "history_index",
            "model_arm1_probs", "posterior_fit", "train_bernoulli_dpt"]
