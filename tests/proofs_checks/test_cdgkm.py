"""Unit tests of the CDGKM23 check helpers: clumping game, gapped scales, level function and the
small numeric kernels of proofs_checks.cdgkm (the claims themselves are run, with their
mutations, by tests/proofs_checks/test_registry.py over the registry)."""

import itertools
import math
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest

from proofs_checks import _clumping as cg
from proofs_checks import cdgkm


# --------------------------------------------------------------------------- clumping game
def test_fig2_intervals_legal_and_result():
    w = cdgkm.FIG2_BOARD
    move = [(i - 1, j - 1) for i, j in cdgkm.FIG2_MOVE]
    assert all(cg.is_legal_interval(w, i, j, 3, 1) for i, j in move)
    assert cg.apply_move(w, move, 3, 1) == (0, 1, 1, 0)


def test_legal_interval_rules():
    w = (0, 2.5, 1, 4, 0)
    assert cg.is_legal_interval(w, 0, 1, 3, 1)  # empty interior
    assert not cg.is_legal_interval(w, 0, 4, 3, 1)  # interior mixes <= tau and > tau
    assert cg.is_legal_interval(w, 2, 4, 3, 1)  # 4 > max(1, 0) + 1
    assert not cg.is_legal_interval(w, 2, 4, 3, 3)  # 4 > 1 + 3 fails
    assert not cg.is_legal_interval((0, 5, 4, 0), 1, 3, 3, 1)  # endpoint above tau
    with pytest.raises(ValueError, match="i=2, j=2"):
        cg.is_legal_interval(w, 2, 2, 3, 1)


def test_apply_move_merges_shared_endpoints_and_keeps_gaps():
    w = (0, 1, 0.5, 2, 0)
    assert cg.apply_move(w, [(0, 2), (2, 4)], 3, 1) == (0,)
    assert cg.apply_move(w, [(0, 1), (2, 4)], 3, 1) == (0, 0)
    assert cg.apply_move(w, [(0, 1), (3, 4)], 3, 1) == (0, 0.5, 0)  # entry 2 (0-based) untouched
    with pytest.raises(ValueError, match="start at 0"):
        cg.apply_move(w, [(1, 4)], 3, 1)
    with pytest.raises(ValueError, match="not 1-legal"):
        cg.apply_move((0, 5, 0.5, 0), [(0, 3)], 3, 1)  # interior mixes 5 and 0.5
    with pytest.raises(ValueError, match="i_1 < j_1 <= i_2"):
        cg.apply_move(w, [(0, 3), (2, 4)], 3, 1)


def _moves_by_subsets(w, tau, phi):
    """Independent enumeration: every subset of legal intervals forming a chain from 0 to n-1."""
    n = len(w)
    legal = [(i, j) for i in range(n) for j in range(i + 1, n) if cg.is_legal_interval(w, i, j, tau, phi)]
    out = set()
    for r in range(1, n):
        for chain in itertools.combinations(legal, r):
            if chain[0][0] != 0 or chain[-1][1] != n - 1:
                continue
            if all(a[1] <= b[0] for a, b in itertools.pairwise(chain)):
                out.add(cg.apply_move(w, list(chain), tau, phi))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_legal_moves_matches_subset_enumeration(seed):
    gen = np.random.default_rng(seed)
    k = int(gen.integers(3, 8))
    w = (0.0,) + tuple(float(x) for x in gen.choice(np.arange(0, 5.01, 0.5), k - 2)) + (0.0,)
    assert cg.legal_moves(w, 2.0, 1) == _moves_by_subsets(w, 2.0, 1)


def test_min_moves():
    assert cg.min_moves_to_finish((0, 1, 2, 0), 3, 1) == 1  # everything <= tau
    assert cg.min_moves_to_finish((0,), 3, 1) == 0
    assert cg.min_moves_to_finish(cdgkm.FIG2_BOARD, 3, 1) == 1  # chain through all adjacent pairs
    # 1.61 > tau = ln 4 but not > 0.87 + 1: no legal move at all
    assert cg.legal_moves((0, 1.61, 0.87, 0), math.log(4), 1) == set()
    assert cg.min_moves_to_finish((0, 1.61, 0.87, 0), math.log(4), 1) is None
    # 5 and 4.5 are interiors of the legal (0, 2) and (2, 4), which share an endpoint: 1 move
    assert cg.min_moves_to_finish((0, 5, 2, 4.5, 0), 3, 1) == 1


def test_min_moves_two_moves_against_subset_enumeration():
    # a board needing two moves (found by the claim's search), confirmed with the independent
    # subset enumeration: no one-move result has length 1, some one-move result finishes next
    w, tau = (0.0, 3.41, 1.63, 2.07, 0.97, 0.0), math.log(6)
    first = _moves_by_subsets(w, tau, 1)
    assert first and not any(len(s) == 1 for s in first)
    assert any(any(len(t) == 1 for t in _moves_by_subsets(s, tau, 1)) for s in first)
    assert cg.min_moves_to_finish(w, tau, 1) == 2


# --------------------------------------------------------------------------- gapped scales
def test_threshold_and_gamma_min():
    assert cg.threshold(F(1, 2), F(1, 2), 4, 2) == F(1, 2) * F(1, 8) ** 2
    with pytest.raises(ValueError, match="exponent e"):
        cg.threshold(F(1, 2), 1, 1, 0)
    # z0 = (1/10)/2 = 1/20, z1 = T(1/20)/2 = (1/2)(1/80)/2
    assert cg.gamma_min_iterate(F(1, 10), 2, F(1, 2), 4, 1, 1) == F(1, 320)
    with pytest.raises(ValueError, match="k=0"):
        cg.gamma_min_iterate(F(1, 10), 0, 1, 1, 1, 1)


def test_is_gapped_by_hand():
    v = [F(0), F(1, 100), F(1, 2)]
    A, d, e = F(1), 1, 2  # T(g) = g^2
    # for point 0 at gamma = 1/2: distances 1/100 <= T = 1/4 (close) and 1/2 >= gamma (far)
    assert cg.is_gapped(v, 0, F(1, 2), A, d, e)
    # at gamma = 1/20: T = 1/400 < 1/100 < 1/20 -> not gapped
    assert not cg.is_gapped(v, 0, F(1, 20), A, d, e)
    g, i = cg.best_gapped_scale(v, A, d, e, F(1, 1000))
    assert g == F(1, 2) and cg.is_gapped(v, i, g, A, d, e)


def test_binary_search_on_tree_reaches_full_depth():
    A, d, e, eps = F(1, 2), 4, 4, F(1, 10)
    for m in (1, 2, 3):
        v = cg.tree_points(F(1, 5), m, A, d, e, 2)
        gam, i, splits = cg.binary_search_gapped_scale(v, eps, A, d, e)
        assert splits == m
        assert gam == cg.gamma_min_iterate(eps, len(v), A, d, e, m - 1)
        assert cg.is_gapped(v, i, gam, A, d, e)
    with pytest.raises(ValueError, match="spread > eps"):
        cg.binary_search_gapped_scale([F(0), F(1, 20)], eps, A, d, e)


# --------------------------------------------------------------------------- level function
def test_level_function_float():
    p = {"eps": 1e-2, "c": 2, "k": 5, "d": 50, "R": 3.0, "Lam": 0.3}
    K = p["c"] * p["k"]
    assert cg.level(p["eps"], **p) == 0.0
    for gamma in (1e-3, 1e-5, 1e-8):
        T = p["Lam"] ** 10 / p["R"] ** 2 * (gamma / p["d"]) ** K
        assert cg.level(T, **p) == pytest.approx(cg.level(gamma, **p) + 0.9, rel=1e-12)
    with pytest.raises(ValueError, match="c\\*k > 1"):
        cg.level(0.1, 0.1, 1, 1, 2, 1, 0.5)


# --------------------------------------------------------------------------- numeric kernels
def test_lemma26_ratio_exact_cases():
    assert cdgkm._lemma26_ratio(1, 0, 2, 2) == 1  # lower bound tight at b = 0
    assert cdgkm._lemma26_ratio(F(1, 2), F(1, 2), 2, 2) == 0  # both sides vanish
    # a = 1, b = 1 - t: upper ratio (2 - t)/2
    assert cdgkm._lemma26_ratio(1, F(9, 10), 2, 2) == F(19, 20)


def test_inverse_vandermonde_norm():
    ctx = mpmath.MPContext()
    ctx.dps = 30
    golden = (1 + ctx.sqrt(5)) / 2  # ||[[1,0],[-1,1]]||_2
    assert abs(cdgkm._inverse_vandermonde_norm([F(0), F(1)], ctx) - golden) < ctx.mpf(10) ** -28
    nodes = [F(1, 5), F(1, 2), F(4, 5), F(1)]
    ref = 1 / np.linalg.svd(np.vander([float(x) for x in nodes], increasing=True), compute_uv=False)[-1]
    assert float(cdgkm._inverse_vandermonde_norm(nodes, ctx)) == pytest.approx(ref, rel=1e-10)


def test_directions_are_unit_and_counted():
    gen = np.random.default_rng(0)
    for name in ("random", "near_equal", "near_antipodal"):
        U = cdgkm._configuration(name, gen, 4, 30)
        D = cdgkm._directions(U)
        assert D.shape == (4 * 3 + 4, 30)
        np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1, rtol=1e-12)
    with pytest.raises(ValueError, match="name must be"):
        cdgkm._configuration("bogus", gen, 3, 5)


def test_log10_of_huge_fraction():
    assert cg.log10_fraction(F(10**5000, 3)) == pytest.approx(5000 - math.log10(3), abs=1e-9)
