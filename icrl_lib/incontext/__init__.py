"""In-context algorithms: one file per algorithm (layout, prompt, readout, construction as a block table),
the registry ALGORITHMS, prompt distributions, the null-direction manifold and control agents.
Imports ``icrl_lib.rl`` and ``icrl_lib.attention``. Chapters 2 (regression), 3 (TD), 4-5 (SARSA,
actor-critic), 6 (prompt distributions, manifold), 7 (agents).
"""
from .actor_critic import (ACTOR_CRITIC, ActorCriticAlgorithm, actor_critic_blocks, actor_critic_construction,
                           actor_critic_layout, actor_critic_prompt, actor_critic_readout)
from .agents import agent_jacobian, behaviour_policy_fn, block_agent, teacher_agent
from .base import Hyperparameters, InContextAlgorithm
from .layout import (PromptLayout, assemble, block_rows, check_prompt, check_transitions,
                     is_matrix_value, render_blocks)
from .manifold import (ROLES, aligned_active_blocks, data_moments, null_directions, parameter_roles,
                       predicted_null_dimension, project_out, readout_jacobian, recovery_metrics, select_mask,
                       span_rank)
from .registry import ALGORITHMS, get_algorithm
from .regression import (gd_blocks, gd_construction, gd_param_blocks, gd_param_construction, gd_step,
                         gd_step_prediction, param_layout, param_prompt, param_readout, regression_layout,
                         regression_prompt, regression_readout, step_matrix)
from .sarsa import (SARSA, SarsaAlgorithm, sarsa_blocks, sarsa_construction, sarsa_layout, sarsa_prompt,
                    sarsa_readout)
from .tasks import (HELD_OUT_SEED_OFFSET, PromptBatch, PromptDistribution, behaviour_policy, build_prompt_batch,
                    held_out_mdps, sample_mdps, sample_parameters, sample_prompt_batch,
                    behaviour_blocks, behaviour_parameters)
from .td import td_blocks, td_construction, td_layout, td_prompt, td_readout, td_sliding_prompts
from .softmax_td import (SoftmaxTDConstruction, softmax_td_construction, softmax_td_forward, softmax_td_prompt,
                         softmax_td_readout, softmax_td_rows)

__all__ = [
    # layout and block tables
    "PromptLayout", "assemble", "render_blocks", "block_rows", "is_matrix_value",
    "check_transitions", "check_prompt",
    # TD (chapter 3)
    "td_layout", "td_prompt", "td_readout", "td_sliding_prompts", "td_blocks", "td_construction",
    # SARSA (chapter 4)
    "sarsa_layout", "sarsa_prompt", "sarsa_readout", "sarsa_blocks", "sarsa_construction", "SarsaAlgorithm",
    "SARSA",
    # actor-critic (chapter 5)
    "actor_critic_layout", "actor_critic_prompt", "actor_critic_readout", "actor_critic_blocks",
    "actor_critic_construction", "ActorCriticAlgorithm", "ACTOR_CRITIC",
    # regression (chapter 2)
    "regression_layout", "regression_prompt", "regression_readout", "step_matrix", "gd_blocks", "gd_construction",
    "gd_step", "gd_step_prediction", "param_layout", "param_prompt", "param_readout", "gd_param_blocks",
    "gd_param_construction",
    # registry
    "ALGORITHMS", "get_algorithm", "InContextAlgorithm", "Hyperparameters",
    # tasks (chapters 6-7)
    "PromptDistribution", "PromptBatch", "HELD_OUT_SEED_OFFSET", "sample_mdps", "sample_parameters",
    "behaviour_policy", "build_prompt_batch", "sample_prompt_batch", "held_out_mdps", "behaviour_blocks",
    "behaviour_parameters",
    # manifold (chapters 4-6)
    "ROLES", "null_directions", "project_out", "recovery_metrics", "parameter_roles", "select_mask",
    "predicted_null_dimension", "aligned_active_blocks", "data_moments", "span_rank", "readout_jacobian",
    # agents (chapter 7)
    "teacher_agent", "block_agent", "behaviour_policy_fn", "agent_jacobian",
    # softmax TD (chapter 8)
    "SoftmaxTDConstruction", "softmax_td_rows", "softmax_td_prompt", "softmax_td_readout", "softmax_td_construction",
    "softmax_td_forward",
]

# Chapter 3's TD(lambda) mask and residual-gradient blocks.
from .td import residual_gradient_blocks, td_lambda_mask  # noqa: E402

__all__ += ["residual_gradient_blocks", "td_lambda_mask"]

# Chapter 11: stacked constructions (depth) and random-feature SARSA prompts.
from .depth import (repeated_teacher_agent, repeated_teacher_update, sample_depth_batch,  # noqa: E402
                    stack_readout, stacked_block_agent, stacked_construction)
from .features import (feature_block_agent, feature_data, feature_policy_fn, feature_prompt_batch,  # noqa: E402
                       feature_teacher_agent, random_feature_tables)

__all__ += ["stacked_construction", "stack_readout", "repeated_teacher_update", "repeated_teacher_agent",
            "stacked_block_agent", "sample_depth_batch", "random_feature_tables", "feature_data",
            "feature_prompt_batch", "feature_teacher_agent", "feature_block_agent", "feature_policy_fn"]

# Chapter 10: ridge regression by GD in ReLU attention, soft LinUCB, Thompson-sampling moments, exact UCB-VI.
from .ridge import (PENALTIES, RidgeLayer, ridge_forward, ridge_gd_construction, ridge_gd_steps,  # noqa: E402
                    ridge_layout, ridge_nesterov_construction, ridge_prompt, ridge_query_solutions, ridge_readout,
                    ridge_solution)
from .linucb import (LinUCBConstruction, linucb_construction, linucb_default_momentum, linucb_forward,  # noqa: E402
                     linucb_layout, linucb_prompt, linucb_readout, sqrt_relu, sqrt_relu_coefficients,
                     transformer_linucb_expert)
from .thompson import (ThompsonConstruction, gaussian_argmax_probs, thompson_construction,  # noqa: E402
                       thompson_forward, thompson_layout, thompson_readout)
from .ucbvi import (UCBVIConstruction, ucbvi_construction, ucbvi_forward, ucbvi_layout, ucbvi_prompt,  # noqa: E402
                    ucbvi_q_table, ucbvi_readout, ucbvi_transformer_planner)

__all__ += ["PENALTIES", "RidgeLayer", "ridge_layout", "ridge_prompt", "ridge_gd_construction",
            "ridge_nesterov_construction", "ridge_forward", "ridge_readout", "ridge_query_solutions", "ridge_gd_steps",
            "ridge_solution", "LinUCBConstruction", "linucb_layout", "linucb_prompt", "linucb_construction",
            "linucb_forward", "linucb_readout", "linucb_default_momentum", "sqrt_relu", "sqrt_relu_coefficients",
            "transformer_linucb_expert", "ThompsonConstruction", "thompson_layout", "thompson_construction",
            "thompson_forward", "thompson_readout", "gaussian_argmax_probs", "UCBVIConstruction", "ucbvi_layout",
            "ucbvi_prompt", "ucbvi_construction", "ucbvi_forward", "ucbvi_readout", "ucbvi_q_table",
            "ucbvi_transformer_planner"]

# Chapter 10: the rest of Thompson sampling (Newton-Schulz square root, ReLU argmax network), ours.
from .thompson_policy import newton_schulz_sqrt, relu_argmax_probs  # noqa: E402

__all__ += ["newton_schulz_sqrt", "relu_argmax_probs"]

# Chapter 2: readout checks of the regression constructions (mask gap, nonzero start w_0).
from .readout_errors import mask_readout_gap, w0_start_error  # noqa: E402

__all__ += ["mask_readout_gap", "w0_start_error"]

# The exact set of a block (chapter 4) and the actor update along a line (chapter 5).
from .exact_set import (block_perturbation, exact_set_point, exact_set_tangent, moment_span_dims,  # noqa: E402
                        one_hot_token_moments, perturbation_table, readout_change)
from .actor_line import scoreless_block_readout  # noqa: E402

__all__ += ["readout_change", "block_perturbation", "perturbation_table", "one_hot_token_moments",
            "moment_span_dims", "exact_set_point", "exact_set_tangent", "scoreless_block_readout"]

# Chapter 10's checks of the constructed ridge, LinUCB, Thompson and UCB-VI transformers.
from .ridge_depth import (conditioned_context, layers_to_tolerance, layers_vs_condition, prefix_curvature,  # noqa: E402
                          query_solver_layers, ridge_depth_errors, ridge_random_check)
from .policy_errors import (history_tokens, linucb_policy_errors, mean_tv, prefix_posterior_moments,  # noqa: E402
                            prefix_ridge_steps, ucbvi_replay_errors)
from .regret_chain import chain_term, construction_weights  # noqa: E402

__all__ += ["prefix_curvature", "ridge_random_check", "ridge_depth_errors", "conditioned_context",
            "layers_to_tolerance", "layers_vs_condition", "query_solver_layers", "linucb_policy_errors", "mean_tv",
            "history_tokens", "prefix_posterior_moments", "prefix_ridge_steps", "ucbvi_replay_errors",
            "construction_weights", "chain_term"]

# Distribution shift, feature fixed points and sample efficiency (chapter 11).
from .shift import block_shift_study, shift_conditions  # noqa: E402
from .fixed_point import feature_sarsa_moments, fixed_point_agent  # noqa: E402
from .sample_efficiency import in_context_step_curves, online_step_curves  # noqa: E402

__all__ += ["shift_conditions", "block_shift_study", "feature_sarsa_moments", "fixed_point_agent",
            "in_context_step_curves", "online_step_curves"]

# Linear against softmax attention, error over the layers (chapter 8).
from .softmax_vs_linear import linear_td_depth_errors, softmax_td_depth_errors  # noqa: E402

__all__ += ["linear_td_depth_errors", "softmax_td_depth_errors"]
