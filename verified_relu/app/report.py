"""A readable report of one :class:`~verified_relu.learners.LearnResult`: HTML and Markdown.

``write_report(result, out_dir, teacher=None, X=None, y=None)`` writes into ``out_dir``

* ``report.html`` -- one self-contained page: the figures are embedded as base64 PNG
  (``data:`` URIs), the style is inline, nothing is fetched from anywhere;
* ``report.md`` -- the same content in Markdown, with the figures as PNG files next to it
  (``report_spectra.png``, ``report_neurons.png``, ``report_error_vs_samples.png``).

What it shows, for a result of any method:

* a summary (method, success, message, seed entropy, versions) and the learned network;
* **spectra**: eigenvalues (or singular values) of the moment contractions with their noise
  floors.  Taken from the trace's ``"spectrum"`` records (:mod:`verified_relu.learners.records`)
  when the learner made them (``fast``: the subspace matrices with ``subspace_sigma * op_se``;
  ``cdgkm``: each round's singular values with its operator-norm standard errors ``op_se`` (and
  ``noise_z * op_se`` when the ``noise_threshold`` departure is on); ``netlearn``: the moment
  matrices with their thresholds ``eta'_l``; ``dk``: the eigenvalues of its ``Q`` matrix, which
  has no recorded floor);
  otherwise, when ``X, y`` are given, computed here with
  :func:`verified_relu.moments.moment_contraction` (``return_se=True``) for degrees 2 and 4
  along a fixed random unit ``g`` (seed 0), with the floor ``2 op_se``;
* **neurons** (``teacher`` given): unit directions of the true and the learned neurons
  projected on the learned subspace (the recorded basis ``V`` of ``cdgkm``/``netlearn``, the
  basis of a ``dk`` predictor, otherwise the span of the learned weights), with the
  neuron matching of :func:`verified_relu.metrics.match_neurons`;
* **error against samples** (``teacher``, ``X``, ``y`` given): the same method re-run on nested
  subsamples of ``X`` (fractions ``sample_fractions``; the recorded options for ``fast``, the
  method's default profile otherwise), each scored by its exact relative error
  ``||F - F_hat||^2 / ||F||^2`` in closed form (:meth:`ReLUNetwork.squared_distance`) -- or,
  for DK's improper predictor, by a Monte Carlo estimate on fresh teacher samples with its
  standard error, labelled as such -- together with the result's own exact error and its
  mean squared error on the given samples;
* the diagnostics and the **trace table**: every step's name and its scalar numbers.

Every file is written atomically, after all content has been computed in memory: an error
leaves no new file (and no new directory) behind.  matplotlib is an optional dependency
(``pip install 'verified-relu[plot]'``); it is imported lazily and only its object-oriented
API is used (``Figure`` + Agg canvas), so pyplot's global state is never touched.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .._progress import reporter
from .._validation import as_matrix, as_vector
from ..learners import records, registry
from ..learners.dk_predictor import HermitePredictor
from ..learners.result import LearnResult
from ..metrics import relative_error
from ..network import ReLUNetwork

__all__ = ["ReportArgumentError", "write_report"]

_CALLER = "write_report"


class ReportArgumentError(TypeError, ValueError):
    """An argument of :func:`write_report` of the wrong type: both a ``TypeError`` and a ``ValueError``."""


_DATA_DEGREES = (2, 4)


# ----------------------------------------------------------------------------- helpers
def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("write_report needs matplotlib for its figures: pip install 'verified-relu[plot]'") from exc
    return Figure, FigureCanvasAgg


def _fmt(v):
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)  # never cut: a reviewer reads the whole departure or message


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _flatten(data, prefix="", depth=0):
    """``(key, text)`` pairs for the scalar numbers of a trace step (nested dicts dotted)."""
    out = []
    for key, v in data.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            if depth < 2:
                out.extend(_flatten(v, name + ".", depth + 1))
        elif isinstance(v, (list, tuple)):
            if v and all(_is_number(x) for x in v):
                if len(v) <= 3:
                    out.append((name, "[" + ", ".join(_fmt(x) for x in v) + "]"))
                else:
                    out.append((name, f"{len(v)} values, max |.| {_fmt(max(abs(float(x)) for x in v))}"))
            elif v and all(isinstance(x, dict) for x in v):
                out.append((name, f"{len(v)} records"))
            elif not v:
                out.append((name, "[]"))
        elif v is None or isinstance(v, (bool, str)) or _is_number(v):
            out.append((name, _fmt(v)))
    return out


def _png(fig, canvas_class):
    canvas_class(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


# ----------------------------------------------------------------------------- spectra
def _trace_spectra(result, limit=4):
    """Panels ``(title, [(label, |values|, floor, floor_label)])`` from the trace's ``"spectrum"``
    records (the first ``limit``); learners without such records give none."""
    panels = []
    for step in records.of_kind(result.trace, "spectrum")[:limit]:
        series = [(r["label"], r["values"], r["floor"], r["floor_label"]) for r in step.data["series"]]
        panels.append((step.data["title"], series))
    return panels


def _data_spectra(X, y):
    from ..moments import moment_contraction

    g = np.random.default_rng(0).standard_normal(X.shape[1])
    g /= np.linalg.norm(g)
    series = []
    for l in _DATA_DEGREES:
        est = moment_contraction(X, y, l, g, return_se=True)
        vals = np.linalg.eigvalsh(est.value)
        series.append((f"l={l}", vals.tolist(), 2.0 * float(est.op_se), "2 op_se"))
    return [("moment contractions of the given samples (g: seed 0)", series)]


def _spectra_figure(panels, mpl):
    from matplotlib.ticker import MaxNLocator

    Figure, Canvas = mpl
    fig = Figure(figsize=(5.2 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, series) in zip(axes, panels):
        for i, (label, vals, floor, flabel) in enumerate(series):
            a = np.sort(np.abs(np.asarray(vals, dtype=float)))[::-1]
            color = f"C{i % 10}"
            pos = a[a > 0]
            tiny = pos.min() * 0.5 if pos.size else 1e-300
            ax.semilogy(np.arange(1, a.size + 1), np.maximum(a, tiny), "o-", color=color, label=label)
            if floor is not None and math.isfinite(float(floor)) and floor > 0:
                ax.axhline(float(floor), color=color, ls="--", lw=1, label=f"{label}: {flabel}")
        ax.set_title(title, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("index (by |value|)")
        ax.set_ylabel("|eigenvalue|")
        ax.legend(fontsize=7)
    return _png(fig, Canvas)


def _spectra_rows(panels):
    rows = []
    for title, series in panels:
        for label, vals, floor, flabel in series:
            a = np.sort(np.abs(np.asarray(vals, dtype=float)))[::-1]
            above = "-" if floor is None else str(int(np.sum(a > float(floor))))
            rows.append(
                [
                    title,
                    label,
                    ", ".join(_fmt(x) for x in a[:6]),
                    "-" if floor is None else f"{_fmt(floor)} ({flabel})",
                    above,
                ]
            )
    return rows


# ----------------------------------------------------------------------------- neurons
def _learned_basis(result):
    """``(basis (r, d) orthonormal rows, where it came from)``."""
    for step in records.of_kind(result.trace, "basis"):
        Q = np.linalg.qr(np.asarray(step.data["vectors"], dtype=float).T)[0].T
        return Q, f"{step.data['source']} (trace record {step.name!r}, dim {Q.shape[0]})"
    net = result.network
    if isinstance(net, HermitePredictor):
        Q = np.linalg.qr(np.asarray(net.basis, dtype=float))[0].T
        return Q, f"the predictor's basis (dim {Q.shape[0]})"
    _, s, Vt = np.linalg.svd(net.weights, full_matrices=False)
    r = int(np.sum(s > 1e-10 * s[0]))
    return Vt[:r], f"the span of the learned weights (dim {r})"


def _neurons_figure(result, teacher, mpl):
    Figure, Canvas = mpl
    Q, source = _learned_basis(result)
    groups = [("true", teacher, "o")]
    if isinstance(result.network, ReLUNetwork):
        groups.append(("learned", result.network, "x"))
    fig = Figure(figsize=(5.2, 5.0), layout="constrained")
    ax = fig.subplots()
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.8", lw=1)
    rows = []
    for gi, (kind, net, marker) in enumerate(groups):
        norms = np.linalg.norm(net.weights, axis=1)
        U = net.weights / norms[:, None]
        lam = net.coefficients * norms / 2.0  # the canonical |.|-form coefficient (docs/math.md, Notation)
        P = U @ Q.T  # (k, r) coordinates in the learned basis
        xy = np.zeros((U.shape[0], 2))
        xy[:, : min(2, P.shape[1])] = P[:, :2]
        for i in range(U.shape[0]):
            color = "C3" if lam[i] < 0 else "C0"
            ax.scatter(
                xy[i, 0],
                xy[i, 1],
                marker=marker,
                s=40 + 240 * min(abs(lam[i]), 1.5),
                color=color,
                facecolors="none" if marker == "o" else None,
                linewidths=1.5,
            )
            ax.annotate(f"{kind[0]}{i}", xy[i], textcoords="offset points", xytext=(6, 6 - 14 * gi), fontsize=8)
            # sin of the angle to the subspace as the norm of the orthogonal part, accurate to
            # rounding even near 0 (sqrt(1 - |P u|^2) would lose half the digits there)
            rows.append(
                [
                    kind,
                    str(i),
                    _fmt(lam[i]),
                    _fmt(float(np.linalg.norm(P[i]))),
                    _fmt(float(np.linalg.norm(U[i] - P[i] @ Q))),
                ]
            )
    ax.set_aspect("equal")
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.set_xlabel("coordinate on basis vector 1")
    ax.set_ylabel("coordinate on basis vector 2" if Q.shape[0] > 1 else "(1-dimensional subspace)")
    ax.set_title(
        "unit neurons projected on the learned subspace\n(o true, x learned; blue lambda > 0, red < 0)", fontsize=9
    )
    return _png(fig, Canvas), source, rows


# ----------------------------------------------------------------------------- error against samples
def _relative_error(net, teacher, mc):
    """``(value, standard error or None, kind)``: exact in closed form, or Monte Carlo for a predictor."""
    if isinstance(net, ReLUNetwork):
        return relative_error(teacher, net), None, "exact"
    nsq = teacher.norm_squared()
    Xt, yt = mc
    r2 = (yt - net.predict(Xt)) ** 2
    return float(np.mean(r2)) / nsq, float(np.std(r2, ddof=1) / math.sqrt(r2.size)) / nsq, "Monte Carlo"


def _curve(result, teacher, X, y, fractions, say):
    from ..learners import learn

    n = X.shape[0]
    k = int(result.params.get("k", teacher.k))
    row = registry.get(result.method, caller="write_report")
    options = {}
    if row.kind == "fast":  # its recorded options are plain values that rebuild FastParams
        options = {key: v for key, v in result.params.items() if key != "k"}
    if row.needs_teacher:  # an oracle baseline
        options["teacher"] = teacher
    mc = teacher.sample(20000, rng=np.random.default_rng(1)) if not isinstance(result.network, ReLUNetwork) else None
    perm = np.random.default_rng(0).permutation(n)
    seed = 0 if result.seed_entropy is None else int(result.seed_entropy)
    points, rows, paper_points = [], [], []
    sizes = sorted({max(1, round(f * n)) for f in fractions})
    for i, m in enumerate(sizes, 1):
        idx = perm[:m]
        say(f"re-running {result.method} on {m} of the {n} samples ({i} of {len(sizes)})")
        try:
            res = learn(X[idx], y[idx], k, method=result.method, rng=seed, **options)
        except (ValueError, TypeError, ImportError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # too few samples for the method's profile, or an optional dependency (torch) absent
            rows.append([str(m), "-", "-", f"not run: {_fmt(exc)}"])
            continue
        err, se, kind = _relative_error(res.network, teacher, mc)
        points.append((m, err, se))
        paper = res.checkpoints.get("paper")
        paper_err = None if paper is None else relative_error(teacher, paper)
        if paper_err is not None:
            paper_points.append((m, paper_err))
        rows.append(
            [str(m), _fmt(err), "-" if paper_err is None else _fmt(paper_err), "-" if se is None else _fmt(se)]
            + [f"{kind}; success={res.success}"]
        )
    own = _relative_error(result.network, teacher, mc)
    pred = result.network(X) if isinstance(result.network, ReLUNetwork) else result.network.predict(X)
    mse = float(np.mean((y - pred) ** 2))
    return points, paper_points, rows, own, mse


def _curve_figure(points, own, n, mpl, paper_points=(), own_paper=None):
    Figure, Canvas = mpl
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.subplots()
    floor = 1e-32
    if points:
        m, e, se = zip(*points)
        ax.loglog(m, np.maximum(e, floor), "o-", label="re-run on nested subsamples")
        if any(s is not None for s in se):
            ax.errorbar(m, np.maximum(e, floor), yerr=[2 * (s or 0.0) for s in se], fmt="none", color="C0")
    if paper_points:
        m, e = zip(*paper_points)
        ax.loglog(m, np.maximum(e, floor), "s--", color="C2", label="the paper's steps alone (checkpoint)")
    ax.loglog([n], [max(own[0], floor)], "*", ms=14, color="C1", label="this result")
    if own_paper is not None:
        ax.loglog([n], [max(own_paper, floor)], "P", ms=11, color="C2", label="this result, paper's steps")
    ax.set_xlabel("samples n")
    ax.set_ylabel(f"relative error ({own[2]})")
    ax.set_title("||F - F_hat||^2 / ||F||^2 against samples", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig, Canvas)


# ----------------------------------------------------------------------------- content and rendering
def _network_rows(net):
    if isinstance(net, HermitePredictor):
        return ["quantity", "value"], [
            ["kind", "HermitePredictor (improper)"],
            ["d", str(net.d)],
            ["rank", str(net.rank)],
            ["degree", str(net.degree)],
            ["terms", str(len(net.coefficients))],
        ]
    rows = [[str(i), _fmt(net.coefficients[i]), ", ".join(_fmt(v) for v in net.weights[i])] for i in range(net.k)]
    if np.any(net.linear):
        rows.append(["linear a", "", ", ".join(_fmt(v) for v in net.linear)])
    return ["neuron", "mu", "w"], rows


def _checkpoint_blocks(result, teacher):
    """The papers' checkpoints side by side: what the paper's steps alone produced, then each
    post-processing departure (exact error with a teacher, else the recorded held-out error)."""
    if not result.checkpoints:
        return []
    recorded = result.diagnostics.get("checkpoints", {})
    rows = []
    for name, net in result.checkpoints.items():
        stage = "the paper's steps alone" if name == "paper" else f"after the departure {name!r}"
        if teacher is not None:
            err, kind = relative_error(teacher, net), "exact relative squared error"
        elif name in recorded:
            ((kind, err),) = recorded[name].items()
            kind = kind.replace("_", " ")
        else:
            err, kind = math.nan, "not recorded"
        rows.append([name, stage, kind, _fmt(err)])
    text = (
        "The paper's own output is kept apart from what the departures added: a reviewer's "
        "question is which of them did the work."
    )
    return [
        ("h", "Checkpoints: the paper's steps and the departures"),
        ("p", text),
        ("table", ["checkpoint", "stage", "error", "value"], rows),
    ]


def _build(result, teacher, X, y, fractions, mpl, say):
    """The report as blocks: ``("h", text)``, ``("p", text)``, ``("table", header, rows)``, ``("fig", name, png, caption)``."""
    net = result.network
    b = [("h", f"verified_relu report: method {result.method!r}")]
    summary = [
        ["success", str(result.success)],
        ["message", result.message],
        ["seed entropy", str(result.seed_entropy)],
        ["k requested", str(result.params.get("k"))],
    ]
    summary += [[f"version of {key}", str(v)] for key, v in sorted(result.versions.items())]
    b.append(("table", ["field", "value"], summary))
    b.append(("h", "Learned network"))
    b.append(("table", *_network_rows(net)))
    if teacher is not None and isinstance(net, ReLUNetwork):
        dist = teacher.squared_distance(net)
        text = f"Exact squared L2 distance to the teacher (closed form): {_fmt(dist)}; relative: {_fmt(dist / teacher.norm_squared())}."
        b.append(("p", text))
    b.extend(_checkpoint_blocks(result, teacher))

    b.append(("h", "Spectra of the moment contractions"))
    panels = _trace_spectra(result)
    origin = "recorded in the trace"
    if not panels and X is not None:
        panels, origin = _data_spectra(X, y), "computed from the given samples"
    if panels:
        b.append(("p", f"Absolute eigenvalues (singular values), {origin}, with their noise floors (dashed)."))
        b.append(("fig", "spectra", _spectra_figure(panels, mpl), "Spectra and noise floors"))
        b.append(("table", ["source", "matrix", "top |values|", "floor", "above floor"], _spectra_rows(panels)))
        quiet = [
            f"{title}: {label}"
            for title, series in panels
            for label, vals, floor, _ in series
            if floor is not None and np.all(np.abs(np.asarray(vals, dtype=float)) <= float(floor))
        ]
        if quiet:
            b.append(
                (
                    "p",
                    "Every value is below the noise floor, so nothing in it is distinguishable from "
                    "sampling noise, in: " + "; ".join(quiet) + ".",
                )
            )
    else:
        b.append(("p", "No spectra: the trace records none and no samples (X, y) were given."))

    b.append(("h", "Neurons in the learned subspace"))
    if teacher is None:
        b.append(("p", "No teacher given: the true neurons are unknown."))
    else:
        png, source, rows = _neurons_figure(result, teacher, mpl)
        b.append(
            (
                "p",
                f"Unit neuron directions projected on {source}; marker size grows with |lambda|, lambda = mu |w| / 2 (the canonical form's coefficient). "
                "A learned neuron at -u is the same |.|-form neuron as one at u: relu(z) = relu(-z) + z, "
                "the difference carried by the linear term (neurons are matched up to sign in the table).",
            )
        )
        b.append(("fig", "neurons", png, "Neurons projected on the learned subspace"))
        far = [f"{r[0]} neuron {r[1]} (sin angle {r[4]})" for r in rows if float(r[4]) > 0.5]
        if far:
            b.append(
                (
                    "p",
                    "Far from the plotted subspace (sine of the angle above 0.5), so its projection "
                    "understates it: " + "; ".join(far) + ".",
                )
            )
        b.append(("table", ["network", "neuron", "lambda", "norm of projection", "sin angle to subspace"], rows))
        if isinstance(net, ReLUNetwork):
            from ..metrics import match_neurons

            m = match_neurons(teacher, net)
            b.append(
                (
                    "table",
                    ["true neuron", "learned neuron", "angle (rad)", "sign"],
                    [[str(p.true_index), str(p.learned_index), _fmt(p.angle), str(p.sign)] for p in m.pairs],
                )
            )

    b.append(("h", "Error against samples"))
    if teacher is None or X is None:
        b.append(("p", "Needs the teacher and the samples (X, y)."))
    else:
        points, paper_points, rows, own, mse = _curve(result, teacher, X, y, fractions, say)
        own_paper = result.checkpoints.get("paper")
        own_paper = None if own_paper is None else relative_error(teacher, own_paper)
        b.append(
            (
                "p",
                f"This result: relative error {_fmt(own[0])} ({own[2]}"
                + ("" if own[1] is None else f", standard error {_fmt(own[1])}")
                + f"); mean squared error on the given {X.shape[0]} samples {_fmt(mse)}. "
                "Re-runs of the same method on nested subsamples (seeded permutation 0, the result's seed; "
                + (
                    "the recorded options"
                    if registry.get(result.method).kind == "fast"
                    else "the method's default options"
                )
                + "):",
            )
        )
        figure = _curve_figure(points, own, X.shape[0], mpl, paper_points, own_paper)
        caption = "Error against samples"
        if paper_points or own_paper is not None:
            caption += (
                ": the final network (circles, star) and, as a separate series (squares, plus), the network "
                "the paper's steps produced before any post-processing departure (checkpoint 'paper'). "
                "The gap between the two series is what the departures (refinement on the samples) "
                "added; the paper's guarantee is about the squares alone."
            )
        b.append(("fig", "error_vs_samples", figure, caption))
        b.append(("table", ["n", "relative error", "paper's steps", "standard error", "note"], rows))

    b.append(("h", "Diagnostics"))
    b.append(("table", ["key", "value"], [[k, v] for k, v in _flatten(result.diagnostics)]))
    b.append(("h", "Trace"))
    trace_rows = []
    for i, step in enumerate(result.trace):
        items = _flatten(step.data)
        trace_rows.append([str(i), step.name, "; ".join(f"{k} = {v}" for k, v in items)])
    b.append(("table", ["#", "step", "key numbers"], trace_rows))
    return b


_CSS = (
    "body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:2px 6px;"
    "font-size:13px;vertical-align:top;text-align:left}img{max-width:100%}"
)


def _html(blocks):
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(blocks[0][1])}</title><style>{_CSS}</style></head><body>",
    ]
    for i, blk in enumerate(blocks):
        if blk[0] == "h":
            out.append(f"<h{1 if i == 0 else 2}>{e(blk[1])}</h{1 if i == 0 else 2}>")
        elif blk[0] == "p":
            out.append(f"<p>{e(blk[1])}</p>")
        elif blk[0] == "table":
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in blk[1]) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in blk[2])
            out.append("</table>")
        else:
            data = base64.b64encode(blk[2]).decode("ascii")
            out.append(
                f'<figure><img alt="{e(blk[3])}" data-figure="{e(blk[1])}" src="data:image/png;base64,{data}">'
                f"<figcaption>{e(blk[3])}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _md_cell(c):
    return str(c).replace("|", "\\|").replace("\n", " ")


def _markdown(blocks, names):
    out = []
    for i, blk in enumerate(blocks):
        if blk[0] == "h":
            out.append(("# " if i == 0 else "## ") + blk[1])
        elif blk[0] == "p":
            out.append(blk[1])
        elif blk[0] == "table":
            out.append("| " + " | ".join(_md_cell(h) for h in blk[1]) + " |")
            out.append("|" + "---|" * len(blk[1]))
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk[2])
        else:
            out.append(f"![{blk[3]}]({names[blk[1]]})")
        out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- entry point
def write_report(result, out_dir, *, teacher=None, X=None, y=None, sample_fractions=(0.25, 0.5, 1.0), progress=False):
    """Write ``report.html`` (self-contained) and ``report.md`` (+ PNG figures) for a result.

    Parameters
    ----------
    result : LearnResult
        From :func:`verified_relu.learn`, any method.
    out_dir : str or path-like
        Output directory, created if absent (it must not be an existing file).
    teacher : ReLUNetwork, optional
        The ground truth, for the neuron plot and the exact errors (never used to learn).
    X, y : array_like, optional
        Samples (both or neither): spectra when the trace records none, and the error against
        samples (with ``teacher``).
    sample_fractions : sequence of float in (0, 1]
        Nested subsample sizes, as fractions of ``n``, for the error against samples; ``()``
        skips the re-runs (the result's own error is still reported).
    progress : bool or callable
        A line per long stage (each re-run of the learner, the figures): ``True`` on stderr, a
        callable receives each line, ``False`` (default) is silent.

    Returns
    -------
    dict
        ``{"html": Path, "md": Path, "figures": [Path, ...]}`` (the PNG files of the Markdown page).

    Raises
    ------
    ValueError
        A wrong ``result``, ``out_dir``, ``teacher``, ``X``/``y`` or ``sample_fractions``, named in
        the message (a wrong *type* raises :class:`ReportArgumentError`, both a ``ValueError`` and a
        ``TypeError``).
    ImportError
        matplotlib is not installed (``pip install 'verified-relu[plot]'``).
    """
    if not isinstance(result, LearnResult):
        raise ReportArgumentError(
            f"{_CALLER}: result must be a LearnResult (from verified_relu.learn), got {type(result).__name__}"
        )
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir):
        raise ReportArgumentError(f"{_CALLER}: out_dir must be a non-empty path (str or os.PathLike), got {out_dir!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{_CALLER}: out_dir {str(out)!r} exists and is not a directory")
    d = result.network.d
    if teacher is not None:
        if not isinstance(teacher, ReLUNetwork):
            raise ReportArgumentError(f"{_CALLER}: teacher must be a ReLUNetwork or None, got {type(teacher).__name__}")
        if teacher.d != d:
            raise ValueError(f"{_CALLER}: teacher has d = {teacher.d} but the learned network has d = {d}")
    if (X is None) != (y is None):
        raise ValueError(f"{_CALLER}: give both X and y, or neither")
    if X is not None:
        X = as_matrix(X, "X", cols=d, caller=_CALLER)
        y = as_vector(y, "y", length=X.shape[0], caller=_CALLER)
    try:
        fractions = [float(f) for f in sample_fractions]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_CALLER}: sample_fractions must be a sequence of numbers in (0, 1]") from exc
    if not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"{_CALLER}: sample_fractions must lie in (0, 1], got {fractions}")
    mpl = _matplotlib()

    # everything is computed in memory first: an error here writes nothing
    say = reporter(progress, "report")
    blocks = _build(result, teacher, X, y, fractions, mpl, say)
    names = {blk[1]: f"report_{blk[1]}.png" for blk in blocks if blk[0] == "fig"}
    files = [(names[blk[1]], blk[2]) for blk in blocks if blk[0] == "fig"]
    files += [("report.md", _markdown(blocks, names).encode("utf-8")), ("report.html", _html(blocks).encode("utf-8"))]

    created = not out.exists()
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            with atomic_path(out / name) as tmp:
                tmp.write_bytes(data)
            written.append(out / name)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            try:
                out.rmdir()
            except OSError:
                pass
        raise
    return {"html": out / "report.html", "md": out / "report.md", "figures": [out / names[k] for k in names]}
