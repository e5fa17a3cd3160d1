"""Linear algebra: matmul for 1-d, 2-d and batched (broadcast) operands, beside its
public functions (``matmul``, ``dot``) and its gradient-check cases.

For C = A B: gA = G Bᵀ, gB = Aᵀ G over the last two axes; a 1-d operand is
treated as a row (left) or column (right) vector and the extra axis removed
again; batch axes that broadcasting added are summed back by the sweep.
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from . import ops_elementwise as E
from . import ops_shape as S
from ._common import on, tsum
from .cases import Case
from .op import EngineError, primitive
from .tensor import Tensor, apply, operand

__all__ = ["dot", "einsum", "inner", "kron", "matmul", "outer", "tensordot", "vdot"]


def _matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs operands of at least one dimension")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"inner dimensions differ ({ka} != {kb})")
    return np.matmul(a, b)


def _swap(x):
    return x.T if x.ndim == 2 else np.swapaxes(x, -1, -2)


def _matmul_vjp_a(g, out, a, b):
    # gA = G Bᵀ
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return g[..., None] * b                       # outer product per batch
    if a.ndim == 1:
        return (g[..., None, :] @ _swap(b))[..., 0, :]
    return g @ _swap(b)


def _matmul_vjp_b(g, out, a, b):
    # gB = Aᵀ G
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a[:, None] * g[..., None, :]           # outer product per batch
    if b.ndim == 1:
        return (_swap(a) @ g[..., None])[..., 0]
    return _swap(a) @ g


matmul_op = primitive("matmul", _matmul, (_matmul_vjp_a, _matmul_vjp_b),
                      # d(AB) = dA B + A dB
                      jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: matmul(ta, b)),
                                                    on(t[1], lambda tb: matmul(a, tb))))


def matmul(a, b) -> Tensor:
    return apply(matmul_op, operand(a), operand(b))


def dot(a, b) -> Tensor:
    """numpy's ``dot``: a product with a 0-d operand, matmul up to 2-d, else the sum
    over a's last and b's second-to-last axis (no batch broadcasting)."""
    na, nb = np.ndim(_raw(a)), np.ndim(_raw(b))
    if na == 0 or nb == 0:
        return E.multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2 if nb > 1 else -1]))


def _raw(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# -- einsum: one primitive; tensordot, inner, outer, kron, vdot compose it ---------------
def _ellipsis(subs, out, arrow, ndims):
    """``...`` replaced by letters the spec does not use, right-aligned across operands
    (the ellipsis axes must then agree in size: no broadcasting of 1s)."""
    free = [c for c in _LETTERS + _LETTERS.upper() if c not in "".join(subs) + out]
    width = max(nd - len(s.replace("...", "")) for s, nd in zip(subs, ndims, strict=True)
                if "..." in s)
    ell = "".join(free[:width])
    subs = [s.replace("...", ell[width - (nd - len(s.replace("...", ""))):])
            for s, nd in zip(subs, ndims, strict=True)]
    if not arrow:  # numpy's implicit output: the ellipsis axes, then letters used once
        ins = "".join(subs)
        return subs, ell + "".join(sorted(c for c in set(ins) if c not in ell
                                          and ins.count(c) == 1))
    return subs, out.replace("...", ell)


def _parse(spec, ndims):
    """Subscripts (``"ij,jk->ik"``, ``"...ij,...jk"``), each operand's letters distinct."""
    spec, n = spec.replace(" ", ""), len(ndims)
    ins, arrow, out = spec.partition("->")
    subs = ins.split(",")
    if len(subs) != n:
        raise EngineError(f"einsum: {len(subs)} subscripts for {n} operands")
    if "..." in ins:
        subs, out = _ellipsis(subs, out, arrow, ndims)
    elif not arrow:  # numpy's implicit output: letters used once, sorted
        out = "".join(sorted(c for c in set(ins) if c.isalpha() and ins.count(c) == 1))
    for s in subs:
        if len(set(s)) != len(s):
            raise EngineError(f"einsum: repeated index in {s!r} (take the diagonal first)")
    return subs, out


def _einsum_vjp(i, g, out, *arrays, subs, out_sub):
    # g contracted with the other operands onto operand i's letters; letters of operand
    # i seen nowhere else were summed out forward, so the gradient broadcasts along them
    others = [j for j in range(len(arrays)) if j != i]
    seen = set(out_sub).union(*(subs[j] for j in others))
    kept = "".join(c for c in subs[i] if c in seen)
    spec = ",".join([out_sub] + [subs[j] for j in others]) + "->" + kept
    r = np.einsum(spec, g, *(arrays[j] for j in others), optimize=True)
    shape = [arrays[i].shape[k] if c in seen else 1 for k, c in enumerate(subs[i])]
    return np.broadcast_to(r.reshape(shape), arrays[i].shape)


def _einsum_jvp(t, out, *arrays, subs, out_sub):
    spec = ",".join(subs) + "->" + out_sub
    # multilinear: Σ_i einsum(..., t_i, ...)
    return tsum(*(on(ti, lambda ti, i=i: einsum(spec, *arrays[:i], ti, *arrays[i + 1:]))
                  for i, ti in enumerate(t)))


einsum_op = primitive(
    "einsum", lambda *arrays, subs, out_sub: np.einsum(
        ",".join(subs) + "->" + out_sub, *arrays, optimize=True),
    vjp_var=_einsum_vjp, jvp=_einsum_jvp)


def einsum(subscripts, *operands) -> Tensor:
    """numpy's ``einsum`` (``...`` for axes of equal size, no letter twice in one
    operand): any number of operands, gradients for each."""
    subs, out = _parse(subscripts, [np.ndim(_raw(x)) for x in operands])
    return apply(einsum_op, *[operand(x) for x in operands], subs=tuple(subs), out_sub=out)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def tensordot(a, b, axes=2) -> Tensor:
    na, nb = np.ndim(_raw(a)), np.ndim(_raw(b))
    if np.isscalar(axes):
        axes = (list(range(na - int(axes), na)), list(range(int(axes))))
    ax_a, ax_b = ([x % na for x in np.atleast_1d(axes[0])],
                  [x % nb for x in np.atleast_1d(axes[1])])
    sa, sb = list(_LETTERS[:na]), list(_LETTERS[na:na + nb])
    for i, j in zip(ax_a, ax_b, strict=True):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + \
          [c for k, c in enumerate(sb) if k not in ax_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def inner(a, b) -> Tensor:
    if np.ndim(_raw(a)) == 0 or np.ndim(_raw(b)) == 0:
        return E.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b) -> Tensor:
    return einsum("i,j->ij", S.reshape(a, -1), S.reshape(b, -1))


def vdot(a, b) -> Tensor:
    return einsum("i,i->", S.reshape(a, -1), S.reshape(b, -1))


def kron(a, b) -> Tensor:
    """Kronecker product: blocks a_ij · b (operands of equal rank, or padded with leading 1s)."""
    sa, sb = np.shape(_raw(a)), np.shape(_raw(b))
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    inter = "".join(x + y for x, y in zip(la, lb, strict=True))
    prod = einsum(f"{la},{lb}->{inter}", S.reshape(a, sa), S.reshape(b, sb))
    return S.reshape(prod, tuple(x * y for x, y in zip(sa, sb, strict=True)))


def gradcheck_cases(rng) -> list[Case]:
    """Vector, matrix and batched operands, with broadcast batch axes."""
    pairs = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
             ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
             ((2, 3, 4), (4,)), ((4,), (2, 4, 5)),
             # square: a transpose missing from a rule keeps the shapes right only here
             ((4, 4), (4, 4)), ((2, 3, 3), (3, 3)), ((3, 3), (2, 3, 3)), ((3, 3), (3,)),
             ((3,), (3, 3))]
    n = C.normal
    cases = [Case("matmul", C.label(a, b), matmul, (n(rng, a), n(rng, b))) for a, b in pairs]
    for spec, shapes in [("ij,jk->ik", ((3, 4), (4, 5))), ("ij,ij->", ((3, 4), (3, 4))),
                         ("bij,bjk->bik", ((2, 3, 4), (2, 4, 3))), ("ij,k->ikj", ((2, 3), (4,))),
                         ("ijk->kj", ((2, 3, 4),)), ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
                         ("ij,kj", ((3, 4), (2, 4))),
                         ("...jk,...lj->...lk", ((3, 4, 4), (3, 4, 4))),
                         ("...,...->...", ((3, 4), (3, 4))), ("i...", ((2, 3, 4),))]:
        cases.append(Case("einsum", spec + " " + C.label(*shapes),
                          lambda *xs, spec=spec: einsum(spec, *xs),
                          tuple(n(rng, s) for s in shapes)))
    cases += [
        C.composite("tensordot", "(2, 3, 4) (3, 4, 5) axes=2", tensordot,
             (n(rng, (2, 3, 4)), n(rng, (3, 4, 5)))),
        C.composite("tensordot", "(3, 4) (5, 3) axes=([0], [1])",
             lambda a, b: tensordot(a, b, ([0], [1])), (n(rng, (3, 4)), n(rng, (5, 3)))),
        C.composite("inner", "(3, 4) (2, 4)", inner, (n(rng, (3, 4)), n(rng, (2, 4)))),
        C.composite("outer", "(3,) (2, 2)", outer, (n(rng, (3,)), n(rng, (2, 2)))),
        C.composite("kron", "(2, 3) (2, 2)", kron, (n(rng, (2, 3)), n(rng, (2, 2)))),
        C.composite("dot", "() (3,)", dot, (n(rng, ()), n(rng, (3,)))),
        C.composite("dot", "(2, 3, 4) (4, 5)", dot, (n(rng, (2, 3, 4)), n(rng, (4, 5)))),
        C.composite("vdot", "(2, 3) (6,)", vdot, (n(rng, (2, 3)), n(rng, (6,)))),
    ]
    return cases
