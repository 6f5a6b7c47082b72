"""sympy versions of the linear-attention layer for the book's exact proofs (chapter 2, reused by chapters 3-5).

Two kinds of proof, both used for every construction:

* **Fully expanded, small sizes.** Every entry of the prompt and of the weights is its own symbol
  (:func:`symbol_matrix`), the layer is applied entry by entry (:func:`symbolic_lsa`, which mirrors
  :func:`icrl_lib.attention.linear_self_attention` exactly, including the optional query mask), and the
  difference to the claimed formula must expand to zero (:func:`is_zero_matrix`).
* **General sizes with block matrices.** Dimensions are symbols (``d``, ``N``), blocks are
  ``MatrixSymbol``/``Identity``/``ZeroMatrix``, and the layer is applied blockwise: :func:`block_lsa` for
  the whole output, :func:`block_lsa_query_output` for the query column through the token second moment

      query output = h_q + V Ghat P h_q,    Ghat = (1/N) sum_t h_t h_t^T = (1/N) C C^T

  (masked layer; ``C`` holds the N context columns). ``block_collapse`` then multiplies the blocks out
  symbolically, for every ``d`` and ``N`` at once.
"""
from __future__ import annotations


import sympy as sp
from sympy import BlockMatrix, Identity, MatrixExpr, ZeroMatrix, block_collapse

__all__ = ["symbol_matrix", "symbol_vector", "symbolic_lsa", "query_mask", "block_lsa",
           "token_second_moment", "block_lsa_query_output", "collapse", "is_zero_matrix"]

#: The most symbols an explicit matrix of :func:`symbol_matrix` / :func:`symbol_vector` may hold: the exact proofs
#: use a few hundred; a million would take minutes and gigabytes before any proof starts.
MAX_SYMBOLS = 100_000


def _check_size(n, name: str) -> int:
    """A concrete size: a Python integer >= 1 (``ValueError`` naming ``name`` otherwise). Chapter 2."""
    if not isinstance(name, str):
        raise ValueError(f"name must be the argument's name (a string); got {name!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {n!r}")
    return n


def _check_count(count: int, name: str) -> None:
    if count > MAX_SYMBOLS:
        raise ValueError(f"{name} is too large: {count} symbols (limit icrl_lib.symbolic.core.MAX_SYMBOLS = "
                         f"{MAX_SYMBOLS}); explicit matrices are for small sizes, use block matrices for general ones")


def check_symbolic_size(n, name: str):
    """A size that may be symbolic: a Python integer >= 1 or a sympy expression that is not a number < 1
    (for example ``N`` or ``d + 1``). Returns it sympified."""
    if isinstance(n, bool) or isinstance(n, float):
        raise ValueError(f"{name} must be an integer >= 1 or a sympy expression; got {n!r}")
    if isinstance(n, int):
        return sp.Integer(_check_size(n, name))
    if not isinstance(n, sp.Expr):
        raise ValueError(f"{name} must be an integer >= 1 or a sympy expression; got {type(n).__name__}")
    if n.is_number and not (n.is_integer and n >= 1):
        raise ValueError(f"{name} must be an integer >= 1 or a sympy expression; got {n}")
    return n


def is_matrix(x) -> bool:
    """An explicit sympy Matrix or a matrix expression (``MatrixSymbol``, ``BlockMatrix``, ...)."""
    return isinstance(x, (sp.MatrixBase, MatrixExpr))


def same_size(a, b) -> bool:
    """Two (possibly symbolic) sizes are provably equal."""
    return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0


def check_matrix(x, name: str, shape: tuple | None = None):
    """``x`` is a sympy matrix (explicit or expression) of ``shape`` (entries compared symbolically; ``None``
    = any size). Returns ``x``."""
    if not is_matrix(x):
        raise ValueError(f"{name} must be a sympy Matrix or matrix expression; got {type(x).__name__}")
    if shape is not None and any(s is not None and not same_size(a, s) for a, s in zip(x.shape, shape)):
        want = tuple("*" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}; got {x.shape}")
    return x


def check_scalar(x, name: str):
    """A sympy scalar (a number or a scalar expression such as ``alpha``); strings are not parsed."""
    if isinstance(x, str) or isinstance(x, bool):
        raise ValueError(f"{name} must be a sympy scalar or a number; got {x!r}")
    try:
        out = sp.sympify(x)
    except (sp.SympifyError, TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sympy scalar or a number; got {type(x).__name__}") from exc
    if not isinstance(out, sp.Expr) or isinstance(out, MatrixExpr):
        raise ValueError(f"{name} must be a sympy scalar or a number; got {type(x).__name__}")
    return out


def symbol_matrix(name: str, rows: int, cols: int, **assumptions) -> sp.Matrix:
    """A ``rows x cols`` sympy Matrix whose entry (i, j) is the symbol ``name_{i+1, j+1}`` (1-based).

    ``assumptions`` go to every symbol (default ``real=True``). Chapter 2.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    _check_size(rows, "rows")
    _check_size(cols, "cols")
    _check_count(rows * cols, "rows x cols")
    assumptions = {"real": True, **assumptions}
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{{{i + 1},{j + 1}}}", **assumptions))


def symbol_vector(name: str, n: int, **assumptions) -> sp.Matrix:
    """An ``n x 1`` column of symbols ``name_1 .. name_n`` (default ``real=True``). Chapter 2."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    _check_size(n, "n")
    _check_count(n, "n")
    assumptions = {"real": True, **assumptions}
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", **assumptions))


def symbolic_lsa(H: sp.Matrix, P: sp.Matrix, V: sp.Matrix, mask: bool = False) -> sp.Matrix:
    """The [LL26] layer ``H + (1/N) V H M (H^T P H)`` on explicit sympy matrices (chapter 2).

    ``H`` is ``D x (N+1)`` (last column = query), ``P`` and ``V`` are ``D x D``; ``M = I`` without mask,
    ``M = diag(1, ..., 1, 0)`` with ``mask=True`` ([W25]). Mirrors :func:`icrl_lib.attention.linear_self_attention`.
    """
    for name, A in (("H", H), ("P", P), ("V", V)):
        if not isinstance(A, sp.MatrixBase):
            raise ValueError(f"{name} must be an explicit sympy Matrix; got {type(A).__name__}")
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be True or False; got {mask!r}")
    D, cols = H.shape
    if cols < 2:
        raise ValueError(f"H must have shape (D, N+1) with N >= 1; got {H.shape}")
    for name, A in (("P", P), ("V", V)):
        if A.shape != (D, D):
            raise ValueError(f"{name} must have shape ({D}, {D}); got {A.shape}")
    N = cols - 1
    M = sp.diag(*([1] * N + [0 if mask else 1]))
    return H + (V * H * M * (H.T * P * H)) / N


def query_mask(N) -> BlockMatrix:
    """``M = diag(I_N, 0)`` as a 2 x 2 BlockMatrix (column blocks: N context tokens, 1 query). ``N`` an integer
    >= 1 or a sympy expression. Chapter 2."""
    N = check_symbolic_size(N, "N")
    return BlockMatrix([[Identity(N), ZeroMatrix(N, 1)], [ZeroMatrix(1, N), ZeroMatrix(1, 1)]])


def _col_sizes(H) -> tuple:
    """Column block sizes of ``H`` (one block for a plain matrix)."""
    if isinstance(H, BlockMatrix):
        return tuple(H.colblocksizes)
    return (H.shape[1],)


def block_lsa(H: BlockMatrix, P, V, N, mask: bool = False) -> MatrixExpr:
    """The layer ``H + (1/N) V H M (H^T P H)`` on block matrices, multiplied out with ``block_collapse``.

    ``H`` must be a ``BlockMatrix`` whose column blocks are ``(N, 1)`` (context tokens, query); its row
    blocks are free (for example ``(x; y)``). ``P``, ``V`` are ``D x D`` matrix expressions (BlockMatrices
    whose blocks match ``H``'s row blocks, or plain ``MatrixSymbol``s). ``N`` may be a symbol. Chapter 2.
    """
    if not isinstance(H, BlockMatrix):
        raise ValueError(f"H must be a sympy BlockMatrix with column blocks (N, 1); got {type(H).__name__}")
    N = check_symbolic_size(N, "N")
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be True or False; got {mask!r}")
    D = H.shape[0]
    check_matrix(P, "P", (D, D))
    check_matrix(V, "V", (D, D))
    sizes = _col_sizes(H)
    if len(sizes) != 2 or sp.simplify(sizes[0] - N) != 0 or sizes[1] != 1:
        raise ValueError(f"H must have column blocks (N, 1) = ({N}, 1); got {sizes}")
    src = H * query_mask(N) if mask else H
    return collapse(H + (sp.Integer(1) / N) * V * src * H.T * P * H)


def token_second_moment(C, N) -> MatrixExpr:
    """``Ghat = (1/N) C C^T = (1/N) sum_t h_t h_t^T`` for the context block ``C`` (D x N). Chapter 2."""
    check_matrix(C, "C")
    N = check_symbolic_size(N, "N")
    return (sp.Integer(1) / N) * C * C.T


def block_lsa_query_output(C, h_q, P, V, N, mask: bool = True) -> MatrixExpr:
    """The query column of ``LSA_{P,V}([C, h_q])`` through the token second moment (chapter 2).

    Masked: ``h_q + V Ghat P h_q``; unmasked: ``h_q + V (Ghat + h_q h_q^T / N) P h_q``, with
    ``Ghat = (1/N) C C^T``. ``C`` is the ``D x N`` context block and ``h_q`` the ``D x 1`` query column, as
    matrix expressions or BlockMatrices (row blocks matching ``P`` and ``V``). Computing it this way costs
    ``O(D^2 N)`` instead of forming the ``(N+1) x (N+1)`` score matrix.
    """
    N = check_symbolic_size(N, "N")
    check_matrix(C, "C")
    D = C.shape[0]
    check_matrix(C, "C", (D, N))
    check_matrix(h_q, "h_q", (D, 1))
    check_matrix(P, "P", (D, D))
    check_matrix(V, "V", (D, D))
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be True or False; got {mask!r}")
    G = token_second_moment(C, N)
    if not mask:
        G = G + (sp.Integer(1) / N) * h_q * h_q.T
    return collapse(h_q + V * G * P * h_q)


def collapse(expr):
    """Multiply out block matrices (``block_collapse``) and expand every block; explicit Matrices expand.
    Chapter 2."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(sp.expand)
    if not isinstance(expr, sp.Basic):
        raise ValueError(f"expr must be a sympy Matrix, matrix expression or expression; got {type(expr).__name__}")
    out = block_collapse(expr)
    if isinstance(out, BlockMatrix):
        return BlockMatrix(out.blocks.applyfunc(lambda b: sp.expand(block_collapse(b))))
    return sp.expand(out)


def is_zero_matrix(expr) -> bool:
    """True if ``expr`` is provably the zero matrix (explicit entries simplify to 0, or the matrix
    expression reduces to ``ZeroMatrix`` blockwise after multiplying out). False means "not shown to be
    zero". Chapter 2.
    """
    if isinstance(expr, sp.MatrixBase):
        return all(sp.simplify(sp.expand(e)) == 0 for e in expr)
    if isinstance(expr, ZeroMatrix):
        return True
    if isinstance(expr, BlockMatrix):
        return all(is_zero_matrix(b) for b in expr.blocks)
    if isinstance(expr, MatrixExpr):
        out = block_collapse(expr)
        if isinstance(out, (BlockMatrix, sp.MatrixBase)):
            return is_zero_matrix(out)
        for simplify in (sp.expand, sp.simplify):
            out = simplify(out.doit())
            if isinstance(out, ZeroMatrix) or out == 0:
                return True
            if isinstance(out, (BlockMatrix, sp.MatrixBase)):
                return is_zero_matrix(out)
        return False
    if isinstance(expr, (sp.Basic, int, float)):
        return sp.simplify(expr) == 0
    raise ValueError(f"expr must be a sympy matrix or matrix expression; got {type(expr).__name__}")
