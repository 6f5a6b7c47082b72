"""sympy versions of the layers (core.py), generic layout/block-table builders (blocks.py) and the in-context
TD, SARSA and actor-critic prompts and constructions (rl.py), for the book's exact proofs.
Imports ``icrl_lib.incontext`` (layouts and block tables) and sympy. Chapters 2 (core), 3-5 (rl).
"""
from .blocks import (as_matrix, block_index, block_layout, block_matrix, block_part, block_size, block_tokens,
                     check_dim, matrix_shape, render_block_matrices, render_blocks_sympy, symbolic_block_matrix,
                     symbolic_prompt)
from .core import (block_lsa, block_lsa_query_output, collapse, is_zero_matrix, query_mask,
                   symbol_matrix, symbol_vector, symbolic_lsa, token_second_moment)
from .rl import (block_actor_critic_construction, block_actor_critic_tokens, block_sarsa_construction,
                 block_sarsa_tokens, block_td_construction, block_td_prompt, symbolic_actor_critic_construction,
                 symbolic_actor_critic_prompt, symbolic_actor_critic_readout, symbolic_sarsa_construction,
                 symbolic_sarsa_prompt, symbolic_sarsa_readout, symbolic_td_construction, symbolic_td_prompt)

__all__ = [
    # core (chapter 2)
    "symbol_matrix", "symbol_vector", "symbolic_lsa", "query_mask", "block_lsa", "token_second_moment",
    "block_lsa_query_output", "collapse", "is_zero_matrix",
    # generic builders on layouts and block tables
    "as_matrix", "matrix_shape", "check_dim", "symbolic_prompt", "symbolic_block_matrix", "render_blocks_sympy",
    "block_layout", "block_index", "block_size", "block_tokens", "block_matrix", "block_part",
    "render_block_matrices",
    # TD, SARSA, actor-critic (chapters 3-5)
    "block_td_prompt", "block_td_construction", "symbolic_td_prompt", "symbolic_td_construction",
    "symbolic_sarsa_prompt", "symbolic_sarsa_readout", "symbolic_sarsa_construction",
    "symbolic_actor_critic_prompt", "symbolic_actor_critic_readout", "symbolic_actor_critic_construction",
    "block_sarsa_tokens", "block_sarsa_construction", "block_actor_critic_tokens",
    "block_actor_critic_construction",
]

# Free block matrices and the blocks an expression uses (chapters 4-5).
from .free_blocks import free_block_matrices, used_blocks  # noqa: E402

__all__ += ["free_block_matrices", "used_blocks"]

# The [LBM24] ridge layer as block matrices (chapter 10).
from .ridge_heads import ridge_heads, ridge_token  # noqa: E402

__all__ += ["ridge_heads", "ridge_token"]

# [X26]'s softmax layer and TD prompt in sympy (chapter 8).
from .softmax_td import symbolic_softmax_attention, symbolic_softmax_td_prompt  # noqa: E402

__all__ += ["symbolic_softmax_attention", "symbolic_softmax_td_prompt"]
