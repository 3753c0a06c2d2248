"""Helpers for the CDGKM23 multi-scale claims: the clumping game (App. C), gapped scales
(Def. 6 / Lemma 11) and the level function (Def. 38).

Everything here is exact where the statement is combinatorial: game entries and projections
may be :class:`fractions.Fraction` (or ints / floats, which are compared as given), and the
threshold map ``T(gamma) = A * (gamma / d) ** e`` is evaluated in rationals when its
arguments are rational.  Indices in the public functions are 0-based; the paper's 1-based
intervals ``(i, j)`` are ``(i - 1, j - 1)`` here.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = [
    "apply_move",
    "best_gapped_scale",
    "binary_search_gapped_scale",
    "gamma_min_iterate",
    "is_gapped",
    "is_legal_interval",
    "legal_moves",
    "level",
    "log10_fraction",
    "min_moves_to_finish",
    "random_clumps",
    "threshold",
    "tree_points",
]


# --------------------------------------------------------------------------- clumping game
def is_legal_interval(w, i, j, tau, phi):
    """Whether the interval ``[i, j]`` (0-based, ``i < j``) may be part of a ``phi``-legal move.

    Parameters
    ----------
    w : sequence of numbers
        The board.
    i, j : int
        Endpoints, ``0 <= i < j < len(w)``.
    tau, phi : number
        Threshold and margin.

    Returns
    -------
    bool
        True iff ``w[i], w[j] <= tau`` and the interior entries are either all ``<= tau`` or
        all ``> max(w[i], w[j]) + phi`` (an empty interior satisfies the first alternative).
    """
    if not 0 <= i < j < len(w):
        raise ValueError(f"is_legal_interval: need 0 <= i < j < len(w) = {len(w)}, got i={i}, j={j}")
    if w[i] > tau or w[j] > tau:
        return False
    interior = w[i + 1 : j]
    if all(x <= tau for x in interior):
        return True
    top = max(w[i], w[j]) + phi
    return all(x > top for x in interior)


def apply_move(w, intervals, tau, phi):
    """Apply a move given by 0-based intervals ``[(i_1, j_1), ..., (i_m, j_m)]``.

    Parameters
    ----------
    w : sequence of numbers
        The board, with sentinels ``w[0]`` and ``w[-1]``.
    intervals : sequence of (int, int)
        ``0 = i_1 < j_1 <= i_2 < j_2 <= ... <= i_m < j_m = len(w) - 1``.
    tau, phi : number
        Threshold and margin.

    Returns
    -------
    tuple
        The new board: each maximal union of intervals (intervals sharing an endpoint merge)
        is replaced by its minimum entry, untouched entries are kept.

    Raises
    ------
    ValueError
        If ``intervals`` is not a chain as above or one interval is not ``phi``-legal.
    """
    w = tuple(w)
    n = len(w)
    if not intervals:
        raise ValueError("apply_move: intervals must be non-empty")
    if intervals[0][0] != 0 or intervals[-1][1] != n - 1:
        raise ValueError(f"apply_move: intervals must start at 0 and end at len(w)-1={n - 1}, got {intervals}")
    for a, (i, j) in enumerate(intervals):
        if not i < j or (a and intervals[a - 1][1] > i):
            raise ValueError(f"apply_move: intervals must satisfy i_1 < j_1 <= i_2 < ..., got {intervals}")
        if not is_legal_interval(w, i, j, tau, phi):
            raise ValueError(f"apply_move: interval {(i, j)} is not {phi}-legal for tau={tau} on w={w}")
    out, pos, a = [], 0, 0
    while a < len(intervals):
        i, j = intervals[a]
        out.extend(w[pos:i])
        while a + 1 < len(intervals) and intervals[a + 1][0] == j:  # shared endpoint: merge
            a += 1
            j = intervals[a][1]
        out.append(min(w[i : j + 1]))
        pos, a = j + 1, a + 1
    out.extend(w[pos:])
    return tuple(out)


def legal_moves(w, tau, phi):
    """All boards reachable from ``w`` in one ``phi``-legal move (deduplicated).

    Enumerates every chain of legal intervals from the first to the last entry; the result of
    a move only depends on the untouched entries and the minima of the merged blocks.
    """
    w = tuple(w)
    n = len(w)
    if n < 2:
        return set()
    legal = [[j for j in range(i + 1, n) if is_legal_interval(w, i, j, tau, phi)] for i in range(n)]
    results = set()

    # state: current endpoint p (a finished interval ends at p), prefix output, and the start
    # of the block p belongs to (so a following interval starting at p extends the block)
    def extend(p, prefix, block_start):
        if p == n - 1:
            results.add(prefix + (min(w[block_start:]),))
            return
        closed = prefix + (min(w[block_start : p + 1]),)
        for j in legal[p]:  # next interval starts at p: the block continues
            extend(j, prefix, block_start)
        for i in range(p + 1, n - 1):  # next interval starts later: the block closes
            if legal[i]:
                for j in legal[i]:
                    extend(j, closed + w[p + 1 : i], i)

    for j in legal[0]:
        extend(j, (), 0)
    return results


def min_moves_to_finish(w, tau, phi=1, max_moves=None):
    """Breadth-first minimum number of ``phi``-legal moves reducing ``w`` to a single entry.

    Returns
    -------
    int or None
        The minimum number of moves, or None when no sequence (of at most ``max_moves``
        moves, unbounded if None) reaches length 1.
    """
    frontier, seen, depth = {tuple(w)}, {tuple(w)}, 0
    while frontier:
        if any(len(s) == 1 for s in frontier):
            return depth
        if max_moves is not None and depth >= max_moves:
            return None
        nxt = set()
        for s in frontier:
            for t in legal_moves(s, tau, phi):
                if t not in seen:
                    seen.add(t)
                    nxt.add(t)
        frontier, depth = nxt, depth + 1
    return None


# --------------------------------------------------------------------------- gapped scales
def threshold(gamma, A, d, e):
    """``T(gamma) = A * (gamma / d) ** e`` (exact for rational arguments and integer ``e``)."""
    if e <= 0:
        raise ValueError(f"threshold: exponent e must be positive, got {e}")
    return A * (gamma / d) ** e


def is_gapped(v, i, gamma, A, d, e):
    """Def. 6: no ``j`` has ``T(gamma) < |v_j - v_i| < gamma``."""
    t = threshold(gamma, A, d, e)
    return all(not (t < abs(x - v[i]) < gamma) for x in v)


def gamma_min_iterate(eps, k, A, d, e, n):
    """``z_n`` for ``z_0 = eps / k`` and ``z_{t+1} = T(z_t) / k`` (the scale reached after ``n``
    halvings of the binary search in the proof of Lemma 11)."""
    if k < 1 or n < 0:
        raise ValueError(f"gamma_min_iterate: need k >= 1 and n >= 0, got k={k}, n={n}")
    z = Fraction(eps) / k
    for _ in range(n):
        z = threshold(z, A, d, e) / k
    return z


def best_gapped_scale(v, A, d, e, gamma_min):
    """Largest gapped scale in ``[gamma_min, 1)`` among the candidates ``gamma_min`` and the
    pairwise distances ``>= gamma_min`` (a gapped scale can always be raised to the next
    distance or 1).  Returns ``(gamma, i)`` or ``(None, None)``."""
    best = (None, None)
    for i in range(len(v)):
        cands = {abs(x - v[i]) for x in v if gamma_min <= abs(x - v[i]) < 1} | ({gamma_min} if gamma_min < 1 else set())
        for g in sorted(cands, reverse=True):
            if best[0] is not None and g <= best[0]:
                break
            if is_gapped(v, i, g, A, d, e):
                best = (g, i)
                break
    return best


def binary_search_gapped_scale(v, eps, A, d, e):
    """The construction in the proof of Lemma 11, on sorted ``v`` with spread ``> eps``.

    Split at a gap ``>= eps / k`` and keep the smaller side; with current scale ``z`` (every
    point outside the segment is ``>= z`` away), either all gaps inside are ``<= T(z)/k`` --
    then ``z`` is gapped for any point of the segment -- or split at a gap ``> T(z)/k`` and set
    ``z <- T(z)/k``.  Returns ``(gamma, i, splits)``.
    """
    v = sorted(v)
    k = len(v)
    if k < 2 or v[-1] - v[0] <= eps:
        raise ValueError(f"binary_search_gapped_scale: need len(v) >= 2 and spread > eps={eps}")
    gaps = [v[t] - v[t - 1] for t in range(1, k)]
    z = Fraction(eps) / k
    cut = max(range(1, k), key=lambda t: gaps[t - 1])
    lo, hi = (0, cut - 1) if cut <= k - cut else (cut, k - 1)
    splits = 1
    while True:
        tz = threshold(z, A, d, e) / k
        big = [t for t in range(lo + 1, hi + 1) if gaps[t - 1] > tz]
        if not big:
            return z, lo, splits
        # choose the split leaving the smallest side (halves the segment at least)
        t = min(big, key=lambda t: min(t - lo, hi - t + 1))
        lo, hi = (lo, t - 1) if t - lo <= hi - t + 1 else (t, hi)
        z, splits = tz, splits + 1


def tree_points(s0, m, A, d, e, factor):
    """2^m points: a balanced binary tree of clumps with top gap s0 and s_{t+1} = factor T(s_t)."""
    pts, gaps = [Fraction(0)], [Fraction(s0)]
    for _ in range(m - 1):
        gaps.append(factor * threshold(gaps[-1], A, d, e))
    for gap in gaps:  # each level doubles the set: x -> {x, x + gap}, largest gap first
        pts = pts + [x + gap for x in pts]
    return sorted(pts)


def random_clumps(gen, k, eps, A, d, e):
    """k points in [0, 1) in clumps at random nested scales: top gap in (eps, 1/2), then each
    gap min(T(s) 2^j, s/(2k)) with a random j in [0, 40]."""
    pts, s = [Fraction(0)], Fraction(eps) * (1 + Fraction(int(gen.integers(1, 40)), 10))
    while len(pts) < k:
        take = min(k - len(pts), int(gen.integers(1, len(pts) + 1)))
        base = pts[int(gen.integers(0, len(pts)))]
        pts += [base + s * (t + 1) for t in range(take)]
        s = min(threshold(s, A, d, e) * 2 ** int(gen.integers(0, 41)), s / (2 * k))
    return sorted(pts)


def log10_fraction(x):
    """log10 of a positive Fraction with arbitrarily large numerator/denominator."""
    x = Fraction(x)
    if x <= 0:
        raise ValueError(f"log10_fraction: x must be positive, got {x}")

    def lg(n):
        shift = max(0, n.bit_length() - 64)
        return math.log10(n >> shift) + shift * math.log10(2)

    return lg(x.numerator) - lg(x.denominator)


# --------------------------------------------------------------------------- level function
def level(gamma, eps, c, k, d, R, Lam):
    """Def. 38: ``L(gamma) = (0.9 / ln(ck)) ln(1 + (ck - 1) ln(eps / gamma) / beta)`` with
    ``beta = ck ln d + ln(R^2 / Lam^10) + (ck - 1) ln(1 / eps)`` (floats)."""
    K = c * k
    if K <= 1:
        raise ValueError(f"level: need c*k > 1, got c={c}, k={k}")
    beta = K * math.log(d) + math.log(R**2 / Lam**10) + (K - 1) * math.log(1 / eps)
    return 0.9 / math.log(K) * math.log(1 + (K - 1) * math.log(eps / gamma) / beta)
