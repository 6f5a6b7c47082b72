"""Classic reinforcement learning without attention: MDPs and MRPs (single or batched), sampling, features,
policies, explicit updates, tabular learners and the outer control loop. Imports only ``icrl_lib._validation``,
numpy and torch (never attention or incontext). Chapters 1 (all of it), 3 (Boyan chains, TD), 4-5 (updates,
control) and 6-7 (batched MDPs, run_control).
"""
from .control import (ControlHistory, ControlResult, actor_critic_update_fn, actor_policy, epsilon_greedy_q_policy,
                      in_context_control, mean_and_ci95, mean_and_se, normalized_return, reference_returns, run_control,
                      sarsa_update_fn, softmax_q_policy, split_actor_critic)
from .features import one_hot_state, one_hot_state_action, q_values, random_features, state_action_table
from .mdp import (MarkovRewardProcess, TabularMDP, bellman_backup, bellman_expectation_operator,
                  bellman_optimality_operator, boyan_chain, check_policy, expected_return, greedy_policy,
                  mrp_values, policy_evaluation, policy_transition, random_mdp, stack_mdps,
                  stationary_distribution, value_iteration, value_iteration_history)
from .policies import (epsilon_greedy_policy, softmax_actor_policy, softmax_actor_scores, softmax_policy,
                       uniform_policy)
from .sampling import (Transitions, categorical, dirichlet, inverse_cdf, sample_mrp_trajectory, sample_transitions,
                       standard_gamma)
from .tabular import (TDHistory, actor_critic, batch_td_evaluation, certainty_equivalence_values, td0_evaluation,
                      td_fixed_point)
from .updates import (batch_actor_critic_update, batch_sarsa_update, batch_td_update, check_transition_batch,
                      td_errors)
from .softmax_td import (contraction_constant, empirical_kernel_matrices, population_kernel, softmax_kernel,
                         weighted_softmax_td)

__all__ = [
    # mdp
    "TabularMDP", "MarkovRewardProcess", "stack_mdps", "random_mdp", "boyan_chain", "check_policy",
    "policy_transition", "bellman_backup", "bellman_expectation_operator", "bellman_optimality_operator",
    "policy_evaluation", "expected_return", "greedy_policy", "value_iteration", "value_iteration_history",
    "mrp_values", "stationary_distribution",
    # sampling
    "Transitions", "categorical", "inverse_cdf", "sample_transitions", "sample_mrp_trajectory", "standard_gamma", "dirichlet",
    # features and policies
    "one_hot_state", "one_hot_state_action", "q_values", "random_features", "state_action_table",
    "epsilon_greedy_policy", "softmax_actor_policy", "softmax_actor_scores", "softmax_policy", "uniform_policy",
    # explicit updates
    "batch_actor_critic_update", "batch_sarsa_update", "batch_td_update", "check_transition_batch", "td_errors",
    # tabular learners
    "TDHistory", "td0_evaluation", "batch_td_evaluation", "td_fixed_point", "certainty_equivalence_values",
    "actor_critic",
    # control
    "ControlResult", "ControlHistory", "run_control", "in_context_control", "softmax_q_policy",
    "epsilon_greedy_q_policy", "actor_policy", "sarsa_update_fn", "actor_critic_update_fn", "split_actor_critic",
    "reference_returns", "normalized_return", "mean_and_ci95", "mean_and_se",
    # weighted softmax TD (chapter 8)
    "softmax_kernel", "weighted_softmax_td", "empirical_kernel_matrices", "population_kernel", "contraction_constant",
]

# bandits and their experts (chapters 9-10)
from .bandits import (BanditHistory, BanditTrajectory, BernoulliBandit, GaussianBandit, LinearBandit,  # noqa: E402
                      arm_statistics, check_bandit_history, regret, run_bandit, suboptimality)
from .experts import (beta_bernoulli_optimal_action_probs, empirical_greedy, lcb, linucb, mixture,  # noqa: E402
                      soft_linucb, thompson_sampling, ucb, uniform)

__all__ += [
    "GaussianBandit", "BernoulliBandit", "LinearBandit", "BanditHistory", "BanditTrajectory", "check_bandit_history",
    "arm_statistics", "run_bandit", "regret", "suboptimality",
    "ucb", "thompson_sampling", "linucb", "soft_linucb", "empirical_greedy", "lcb", "uniform", "mixture",
    "beta_bernoulli_optimal_action_probs",
]

# Chapter 11: online tabular SARSA / Q-learning baselines and MDP families for distribution shift.
from .online import ONLINE_METHODS, OnlineResult, online_td_control  # noqa: E402
from .families import chain_mdp, dirichlet_mdp, gamma_variates, ring_mdp  # noqa: E402

__all__ += ["ONLINE_METHODS", "OnlineResult", "online_td_control", "chain_mdp", "dirichlet_mdp", "gamma_variates",
            "ring_mdp"]

# the Dark Room of [DPT23] (chapter 9)
from .darkroom import DarkRoom, DarkRoomEpisodes, darkroom_goal_split  # noqa: E402

__all__ += ["DarkRoom", "DarkRoomEpisodes", "darkroom_goal_split"]

# Chapter 10: episodic tabular MDPs and UCB-VI.
from .ucbvi import (TIE_TOL, EpisodicMDP, UCBVIRun, greedy_action, random_episodic_mdp, run_ucbvi,  # noqa: E402
                    ucbvi_bonus, ucbvi_counts, ucbvi_plan)

__all__ += ["TIE_TOL", "EpisodicMDP", "UCBVIRun", "random_episodic_mdp", "ucbvi_bonus", "ucbvi_counts", "ucbvi_plan",
            "greedy_action", "run_ucbvi"]

# Chapter 10: maximal couplings of two algorithms' actions.
from .coupling import CoupledBanditRun, maximal_coupling_sample, run_bandit_coupled  # noqa: E402

__all__ += ["maximal_coupling_sample", "CoupledBanditRun", "run_bandit_coupled"]

# Intervals for small samples (chapters 3, 6): Student-t and Clopper-Pearson.
from .intervals import clopper_pearson, mean_and_t_interval, t_quantile  # noqa: E402

__all__ += ["t_quantile", "mean_and_t_interval", "clopper_pearson"]

# Chapter 1: error curves of policy evaluation and the action gaps of a stalled policy.
from .error_curves import certainty_equivalence_errors, td0_error_curves  # noqa: E402
from .action_gaps import GreedyCommitment, greedy_commitment  # noqa: E402

__all__ += ["td0_error_curves", "certainty_equivalence_errors", "GreedyCommitment", "greedy_commitment"]

# Fisher's exact test of two success counts (chapter 6).
from .exact_tests import fisher_exact  # noqa: E402

__all__ += ["fisher_exact"]

# Values and regret of plans in episodic MDPs (chapter 10).
from .episodic_regret import episodic_values, plan_regret  # noqa: E402

__all__ += ["episodic_values", "plan_regret"]

# Learning curves of control runs (chapter 11).
from .learning_curves import first_round_reaching, normalized_control, policy_entropy, value_at_step  # noqa: E402

__all__ += ["normalized_control", "first_round_reaching", "policy_entropy", "value_at_step"]

# Weighted softmax TD in matrix form: iteration radius, value path, limits (chapter 8).
from .softmax_td_iteration import (certainty_equivalence_limit, iteration_radius, layers_needed,  # noqa: E402
                                   linear_td_iteration_radius, matrix_form_path, tabular_limit_gap)

__all__ += ["certainty_equivalence_limit", "iteration_radius", "layers_needed", "linear_td_iteration_radius",
            "matrix_form_path", "tabular_limit_gap"]
