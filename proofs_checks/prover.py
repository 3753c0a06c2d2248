"""Branch-and-bound over boxes with ball arithmetic (Arb, via python-flint): the ``proved`` rung.

A :class:`Problem` is an inequality ``margin(x) >= 0`` (or ``> 0`` when ``strict``) over a
domain, a product of intervals with exact rational ends (or a list of such boxes, or of point
boxes for a finite domain).  ``margin(box)`` returns an :class:`flint.arb` ball (or an exact ``(lo, hi)`` pair of rationals) that contains
``margin(x)`` for every ``x`` in the box (a *rigorous enclosure*): a box is *proved* when the
whole ball is on the right side of 0.  A box that is neither proved nor refuted is bisected
along its widest side.  A counterexample is rigorous: an exact point of the domain (the
midpoint of a box, or the instance ``snap(box)`` picks, e.g. the even ``m`` with ``1/m`` in a
box of ``t``) whose enclosure ``point_margin(point)`` (the inequality in its original,
unreformulated form; ``margin`` by default) lies certainly below 0 (``<= 0`` for a strict
inequality).

:func:`prove` returns a :class:`ProofResult`: ``proved`` (number of boxes, the smallest lower
end of the margin over the proved boxes, precision, seconds), ``refuted`` (the point, the box it
came from and the margin's enclosure there) or ``undecided`` (the boxes left when the budget ran
out, or boxes of zero width that could not be decided).

Precision is explicit: every evaluation runs inside ``flint.ctx.workprec(prec)``, which restores
the global precision on exit.  Nothing else touches global state.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
from collections.abc import Callable
from fractions import Fraction

import flint

__all__ = ["Problem", "ProofResult", "arb_of", "iv", "prove", "width"]


def arb_of(q):
    """An exact ball for a rational (``Fraction`` or int): ``p/q`` rounded outward at the current precision."""
    q = Fraction(q)
    return flint.arb(flint.fmpq(q.numerator, q.denominator))


def iv(lo, hi=None):
    """A ball containing the interval ``[lo, hi]`` (exact rationals); ``iv(lo)`` is the point.

    When ``lo >= 0`` the ball is clipped at 0 so that a nonnegative variable stays nonnegative
    (the ball's radius is rounded up, which would otherwise put a tiny negative part in it)."""
    if hi is None or Fraction(hi) == Fraction(lo):
        return arb_of(lo)
    lo, hi = Fraction(lo), Fraction(hi)
    ball = arb_of(lo).union(arb_of(hi))
    return ball.nonnegative_part() if lo >= 0 else ball


def width(box):
    return max((Fraction(hi) - Fraction(lo) for lo, hi in box), default=Fraction(0))


def _bisect(box):
    i = max(range(len(box)), key=lambda j: Fraction(box[j][1]) - Fraction(box[j][0]))
    lo, hi = Fraction(box[i][0]), Fraction(box[i][1])
    mid = (lo + hi) / 2
    left, right = list(box), list(box)
    left[i], right[i] = (lo, mid), (mid, hi)
    return tuple(left), tuple(right)


def _midpoint(box):
    return tuple((Fraction(lo) + Fraction(hi)) / 2 for lo, hi in box)


def _as_box(box):
    return tuple((Fraction(lo), Fraction(hi)) for lo, hi in box)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One inequality ``margin >= 0`` (``> 0`` if ``strict``) over ``domain``.

    name : str -- short label.
    statement : str -- what the inequality says, in the claim's own terms.
    margin : callable -- ``margin(box) -> flint.arb`` (``box``: tuple of ``(lo, hi)`` Fractions),
        an enclosure of the (possibly reformulated) margin over the box.
    domain : tuple of ``(lo, hi)``, or list of such boxes.
    variables : tuple of str -- names of the box's coordinates.
    strict : bool
    point_margin : callable or None -- ``point_margin(point) -> flint.arb`` (``point``: tuple of
        Fractions), the inequality in its original form at one instance; a counterexample must
        fail it.  Defaults to ``margin`` at the point box.
    describe : callable or None -- ``describe(point) -> dict``: the instance in the claim's own
        variables (nodes, an angle, m), for the counterexample record.
    snap : callable or None -- ``snap(box) -> point or None``: an instance of the domain inside
        the box (for a discrete domain behind a continuous relaxation); defaults to the midpoint.
    reformulation : str -- how the inequality was rewritten (divided by a positive factor, a
        symmetry reduction, a compactification), and what the box proof leaves to that argument.
    """

    name: str
    statement: str
    margin: Callable
    domain: object
    variables: tuple
    strict: bool = False
    point_margin: Callable | None = None
    snap: Callable | None = None
    reformulation: str = ""
    describe: Callable | None = None

    def boxes(self):
        d = self.domain
        if isinstance(d, list):
            return [_as_box(b) for b in d]
        return [_as_box(d)]

    def domain_text(self):
        boxes = self.boxes()
        if len(boxes) == 1:
            return " x ".join(
                f"{v} = {lo}" if lo == hi else f"{v} in [{lo}, {hi}]" for v, (lo, hi) in zip(self.variables, boxes[0])
            )
        pts = [b for b in boxes if width(b) == 0]
        if len(pts) == len(boxes):
            vals = [", ".join(str(lo) for lo, _ in b) for b in boxes]
            if len(self.variables) > 1:
                vals = [f"({v})" for v in vals]
            return f"{', '.join(self.variables)} in {{{', '.join(vals)}}}"
        return f"{len(boxes)} boxes over ({', '.join(self.variables)})"


@dataclasses.dataclass(frozen=True)
class ProofResult:
    """Outcome of :func:`prove`.

    status : {"proved", "refuted", "undecided"}
    boxes : int -- boxes evaluated.
    proved_boxes : int
    min_margin : float or None -- the smallest lower end of the margin over the proved boxes
        (rounded down to a float); None when no box was proved.
    prec : int -- working precision in bits.
    seconds : float
    counterexample : dict or None -- ``point`` (exact rationals as strings), ``box``, and
        ``margin`` (the enclosure ``[lo, hi]`` at the point, ``hi`` below 0).
    unproved : list -- boxes left (undecided only), as lists of ``[lo, hi]`` strings.
    """

    problem: str
    status: str
    boxes: int
    proved_boxes: int
    min_margin: float | None
    prec: int
    seconds: float
    counterexample: dict | None = None
    unproved: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)


def _ends(m):
    """``(lo, hi)``: a margin is a ball, or a pair of exact rationals (the range of a monotone margin
    from its corners), for which the decision is exact."""
    if isinstance(m, tuple):
        return Fraction(m[0]), Fraction(m[1])
    return m.lower(), m.upper()


def _fails(m, strict):
    lo, hi = _ends(m)
    return bool(hi <= 0) if strict else bool(hi < 0)


def _holds(m, strict):
    lo, hi = _ends(m)
    return bool(lo > 0) if strict else bool(lo >= 0)


def _ball(m):
    return arb_of(m[0]).union(arb_of(m[1])) if isinstance(m, tuple) else m


def _box_str(box):
    return [[str(lo), str(hi)] for lo, hi in box]


def _lower_float(ball):
    lo = ball.lower()
    f = float(lo)
    # round down: float(arb) rounds to nearest; step one ulp down if that went above the end
    if flint.arb(f) > lo:
        f = math.nextafter(f, -math.inf)
    return f


def prove(problem, *, prec=128, max_boxes=20000, keep_unproved=20):
    """Branch and bound on ``problem`` at ``prec`` bits with at most ``max_boxes`` evaluations.

    Returns a :class:`ProofResult`.  ``keep_unproved`` caps the number of undecided boxes listed.
    """
    if max_boxes < 1:
        raise ValueError(f"prove: max_boxes must be >= 1, got {max_boxes}")
    if prec < 16:
        raise ValueError(f"prove: prec must be >= 16 bits, got {prec}")
    t0 = time.perf_counter()
    # widest box first (breadth-first): a tight point cannot trap the search in one corner
    heap = [(-width(b), i, b) for i, b in enumerate(problem.boxes())]
    heapq.heapify(heap)
    counter = len(heap)
    evaluated, proved, min_lower, stuck = 0, 0, None, []
    point_margin = problem.point_margin or (lambda pt: problem.margin(tuple((x, x) for x in pt)))

    def result(status, counterexample=None, unproved=()):
        return ProofResult(
            problem.name,
            status,
            evaluated,
            proved,
            None if min_lower is None else _lower_float(min_lower),
            prec,
            time.perf_counter() - t0,
            counterexample,
            [_box_str(b) for b in list(unproved)[:keep_unproved]],
        )

    def try_point(box, box_fails):
        pt = problem.snap(box) if problem.snap else _midpoint(box)
        if pt is None:
            return None
        val = point_margin(tuple(Fraction(x) for x in pt))
        if _fails(val, problem.strict):
            val = _ball(val)
            return {
                "point": [str(x) for x in pt],
                "point_float": [float(x) for x in pt],
                "variables": list(problem.variables),
                "box": _box_str(box),
                "box_fails": bool(box_fails),
                "instance": problem.describe(pt) if problem.describe else None,
                "margin": [float(val.lower()), float(val.upper())],
                "margin_ball": val.str(20, radius=True),
            }
        return None

    with flint.ctx.workprec(prec):
        while heap:
            if evaluated >= max_boxes:
                return result("undecided", unproved=stuck + [b for _, _, b in sorted(heap)])
            box = heapq.heappop(heap)[2]
            evaluated += 1
            m = problem.margin(box)
            if _holds(m, problem.strict):
                proved += 1
                lo = arb_of(m[0]) if isinstance(m, tuple) else m.lower()
                if min_lower is None or lo < min_lower:
                    min_lower = lo
                continue
            box_fails = _fails(m, problem.strict)
            cx = try_point(box, box_fails)
            if cx is not None:
                return result("refuted", cx)
            if width(box) == 0:
                stuck.append(box)
                continue
            for half in _bisect(box):
                heapq.heappush(heap, (-width(half), counter, half))
                counter += 1
    if stuck:
        return result("undecided", unproved=stuck)
    return result("proved")
