"""write_report: files, self-containment, numbers checked against independent computations,
atomicity, errors, and the HTML rendered by headless Chromium."""

import base64
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from verified_relu import LearnResult, ReLUNetwork, instances, learn
from verified_relu.app import report
from verified_relu.app.report import write_report

pytest.importorskip("matplotlib")

NET = instances.make("random", 6, 2, rng=1)
SIZES = {"fast": 3000, "cdgkm": 5000, "netlearn": 20000, "dk": 20000, "tensor": 3000}
SRC = re.compile(r'src="([^"]*)"')
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs():
    out = {}
    for method, n in SIZES.items():
        X, y = NET.sample(n, rng=2)
        kw = {"teacher": NET} if method in ("cdgkm", "netlearn", "dk") else {}
        out[method] = (learn(X, y, 2, method=method, rng=3, **kw), X, y)
    return out


def _png_size(data):
    """Width and height from the PNG header (IHDR), read by hand."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _embedded(html):
    srcs = SRC.findall(html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    return [base64.b64decode(s.split(",", 1)[1], validate=True) for s in srcs]


# attributes through which a page can make the browser fetch something
_URL_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "poster",
    "data",
    "action",
    "formaction",
    "background",
    "cite",
    "longdesc",
    "manifest",
    "ping",
    "xlink:href",
    "codebase",
    "archive",
    "profile",
    "usemap",
    "icon",
}
_FETCHING_TAGS = {"script", "link", "iframe", "frame", "object", "embed", "base", "applet", "portal"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)|@import\s+(['\"])(.*?)\3", re.I | re.S)


def _local(ref):
    """A reference that loads nothing: an inline data: URI or a fragment of this page."""
    ref = ref.strip()
    return ref.lower().startswith("data:") or ref.startswith("#")


class _References(HTMLParser):
    """Everything in a page that could make a browser fetch a resource, as ``(where, value)``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._in_style = [], False

    def _css(self, where, text):
        for m in _CSS_URL.finditer(text):
            self.found.append((where, m.group(2) if m.group(2) is not None else m.group(4)))

    def handle_starttag(self, tag, attrs):
        if tag in _FETCHING_TAGS:
            self.found.append((f"<{tag}>", dict(attrs).get("src") or dict(attrs).get("href") or ""))
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh":
            self.found.append(("<meta refresh>", dict(attrs).get("content") or ""))
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value is not None:
                self.found.append((f"<{tag} {name}>", value))
            elif name == "style" and value:
                self._css(f"<{tag} style>", value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css("<style>", data)


def _references(html):
    parser = _References()
    parser.feed(html)
    parser.close()
    return parser.found


_ALWAYS_EXTERNAL = {f"<{t}>" for t in _FETCHING_TAGS} | {"<meta refresh>"}


def _external(html):
    """The references that could load something from outside the page (empty: self-contained)."""
    return [(where, ref) for where, ref in _references(html) if where in _ALWAYS_EXTERNAL or not _local(ref)]


def test_external_reference_check_finds_what_it_should():
    # the check is not vacuous: each of these pages loads something; a data: URI whose base64
    # happens to contain "http" (as real reports do) does not count
    png = "data:image/png;base64,iVBORw0KGgoAfHTtpAAAhttpAAAA"
    assert "http" in png.lower() and _external(f'<p>ok</p><img src="{png}"><a href="#trace">t</a>') == []
    for page in (
        '<img src="https://example.org/a.png">',
        '<img srcset="a.png 2x">',
        '<a href="http://x">x</a>',
        '<link rel="stylesheet" href="s.css">',
        "<script>1</script>",
        '<iframe src="//x"></iframe>',
        "<style>body{background:url(http://x/y.png)}</style>",
        "<style>@import 'a.css';</style>",
        "<div style=\"background-image: url('y.png')\"></div>",
        '<meta http-equiv="refresh" content="0; url=x">',
        '<svg><image xlink:href="z.png"/></svg>',
    ):
        assert _external(page), page


def _mse_rounding_bound(net, X, y):
    """A bound on |fl(mean((y - net(X))^2)) - mean((y - F(X))^2)| for any float64 evaluation order.

    Standard forward error bounds (Higham, Accuracy and Stability, ch. 3-4) with the unit
    roundoff u: each residual is within delta_i = gamma_{d+k+3} (|y_i| + sum_j |mu_j| |w_j|.|x_i|
    + |a|.|x_i|) of the exact one; squaring and a mean of n terms add gamma_{n+2} mean(r^2).
    """
    u = np.finfo(float).eps / 2
    gamma = lambda m: m * u / (1 - m * u)  # noqa: E731
    n, d = X.shape
    A = np.abs(X)
    env = np.abs(y) + (A @ np.abs(net.weights).T) @ np.abs(net.coefficients) + A @ np.abs(net.linear)
    delta = gamma(d + net.k + 3) * env * (1 + 1e-6)  # the envelope itself is a float: a margin for it
    r = np.abs(y - net(X))
    return float(np.mean(2 * r * delta + delta**2) + gamma(n + 2) * np.mean(r**2) * (1 + 1e-6))


def _table_rows(md, first_cell):
    return [line for line in md.splitlines() if line.startswith(f"| {first_cell} |")]


@pytest.mark.parametrize("method", ["fast", "cdgkm", "netlearn", "dk"])
def test_full_report_for_each_method(runs, method, tmp_path):
    res, X, y = runs[method]
    out = write_report(res, tmp_path / "rep", teacher=NET, X=X, y=y)
    assert out["html"].is_file() and out["md"].is_file()
    assert [p.name for p in out["figures"]] == [
        "report_spectra.png",
        "report_neurons.png",
        "report_error_vs_samples.png",
    ]
    html = out["html"].read_text(encoding="utf-8")
    md = out["md"].read_text(encoding="utf-8")
    # self-contained: every reference a browser could follow (src, href, ... attributes, CSS url()
    # and @import, fetching tags) is a data: URI or a fragment.  (A substring search for "http"
    # is no test: the base64 of the PNGs contains such four letters by chance.)
    assert _external(html) == []
    assert [where for where, _ in _references(html)] == ["<img src>"] * 3
    images = _embedded(html)
    assert len(images) == 3 == html.count("<img")
    # the embedded figures are exactly the PNG files of the Markdown page
    for data, path in zip(images, out["figures"]):
        assert data == path.read_bytes()
        w, h = _png_size(data)
        assert w >= 300 and h >= 300
        assert f"]({path.name})" in md
    # no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == sorted(
        ["report.html", "report.md"] + [p.name for p in out["figures"]]
    )
    # every trace step has a row, in order
    trace = md.split("## Trace", 1)[1]
    assert [line.split("|")[2].strip() for line in trace.splitlines() if re.match(r"\| \d+ \| ", line)] == [
        s.name for s in res.trace
    ]


def test_netlearn_neuron_table_matches_the_learner_audit(runs, tmp_path):
    # the report projects the teacher on the recorded V; the learner's audit measured the
    # distance of each unit teacher neuron to V with its own code
    res = runs["netlearn"][0]
    md = write_report(res, tmp_path, teacher=NET, sample_fractions=())["md"].read_text()
    sines = [float(line.split("|")[5]) for line in _table_rows(md, "true")]
    # both are norms of the part of a unit vector orthogonal to an orthonormal basis, accurate to
    # a few d eps ~ 1e-15 absolute (atol 1e-12, whatever the subspace; even if V captured a
    # neuron exactly); the table prints 4 significant digits: relative error <= 5e-4 < rtol
    np.testing.assert_allclose(sines, res.step("audit").data["dist_to_V"], rtol=1e-3, atol=1e-12)


def test_fast_neurons_lie_in_their_own_span(runs, tmp_path):
    # without a recorded basis the subspace is the span of the learned weights: each learned
    # unit neuron projects with norm 1 (exactly, up to rounding)
    res = runs["fast"][0]
    md = write_report(res, tmp_path, teacher=NET, sample_fractions=())["md"].read_text()
    rows = _table_rows(md, "learned")
    assert len(rows) == res.network.k
    assert all(abs(float(r.split("|")[4]) - 1.0) < 1e-3 for r in rows)


def test_spectrum_from_data_matches_a_direct_degree2_moment(runs, tmp_path):
    # the tensor baseline records no spectra: the report computes them from X, y.  Independent
    # check of the degree-2 row: M = mean(y (x x^T - I)) / sqrt(2) formed directly
    res, X, y = runs["tensor"]
    out = write_report(res, tmp_path, X=X, y=y)
    assert [p.name for p in out["figures"]] == ["report_spectra.png"]
    md = out["md"].read_text()
    n, d = X.shape
    M = (X.T * y) @ X / n - np.mean(y) * np.eye(d)
    top = np.sort(np.abs(np.linalg.eigvalsh(M / np.sqrt(2))))[::-1]
    row = next(line for line in md.splitlines() if "| l=2 |" in line)
    shown = [float(v) for v in row.split("|")[3].split(",")]
    # the table prints 4 significant digits (relative error <= 5e-4 < rtol).  The two matrices
    # sum the same n terms in different orders: entrywise they differ by at most
    # 2 (n + 2) eps mean(|y| (|x_i x_j| + 1)) (the worst case of any summation order), so their
    # eigenvalues by at most d times that (plus the eigensolvers' d eps ||M||): atol, so that an
    # eigenvalue near 0 (the noise part of the spectrum) cannot fail on rounding alone
    eps = np.finfo(float).eps
    envelope = (np.abs(X).T * np.abs(y)) @ np.abs(X) / n + np.mean(np.abs(y))
    atol = (2 * d * (n + 2) * eps * envelope.max() + d * eps * np.abs(M).sum()) / np.sqrt(2)
    np.testing.assert_allclose(shown, top[: len(shown)], rtol=1e-3, atol=atol)


def test_error_table_sizes_and_own_exact_error(runs, tmp_path):
    res, X, y = runs["cdgkm"]
    md = write_report(res, tmp_path, teacher=NET, X=X, y=y, sample_fractions=(0.5, 1.0))["md"].read_text()
    assert [line.split("|")[1].strip() for line in _table_rows(md, "2500") + _table_rows(md, "5000")] == [
        "2500",
        "5000",
    ]
    # the exact error of the result, recomputed here by Monte Carlo from fresh samples is far
    # too noisy for 1e-14; instead: the printed MSE on the given samples, recomputed directly
    mse = float(np.mean((y - res.network(X)) ** 2))
    shown = re.search(r"mean squared error on the given 5000 samples ([0-9.e+-]+)\. ", md).group(1)
    # the report rounds its own float computation of the same mean to 4 significant digits.  Not
    # a string comparison: another evaluation or summation order may move the float by rounding,
    # which can cross a rounding boundary of the 4th digit.  Both floats are within
    # _mse_rounding_bound of the exact value, and the printed one is within half a unit in its
    # 4th significant digit of its float
    half_unit = 0.5 * 10.0 ** (math.floor(math.log10(float(shown))) - 3) if float(shown) > 0 else 0.0
    assert abs(float(shown) - mse) <= 2 * _mse_rounding_bound(res.network, X, y) + half_unit * (1 + 1e-12)


@pytest.mark.parametrize("method,figures", [("fast", 1), ("cdgkm", 1), ("tensor", 0)])
def test_bare_report(runs, method, figures, tmp_path):
    res = runs[method][0]
    out = write_report(res, tmp_path)
    assert len(out["figures"]) == figures
    html = out["html"].read_text()
    assert html.count("<img") == figures
    assert "No teacher given" in html


def test_arguments_are_checked(runs, tmp_path):
    res, X, y = runs["fast"]
    with pytest.raises(ValueError, match="result must be a LearnResult"):
        write_report({"network": None}, tmp_path)
    with pytest.raises(ValueError, match="out_dir"):
        write_report(res, 3)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="out_dir .* not a directory"):
        write_report(res, f)
    with pytest.raises(ValueError, match="both X and y"):
        write_report(res, tmp_path, X=X)
    with pytest.raises(ValueError, match="teacher has d = 3"):
        write_report(res, tmp_path, teacher=instances.make("random", 3, 1, rng=0))
    with pytest.raises(ValueError, match="X"):
        write_report(res, tmp_path, X=X[:, :3], y=y)
    with pytest.raises(ValueError, match="sample_fractions"):
        write_report(res, tmp_path, teacher=NET, X=X, y=y, sample_fractions=(0.0,))
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_failing_figure_writes_nothing(runs, tmp_path, monkeypatch):
    res = runs["fast"][0]

    def boom(*a, **k):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(report, "_neurons_figure", boom)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(res, tmp_path / "new", teacher=NET)
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    with pytest.raises(RuntimeError):
        write_report(res, tmp_path / "old", teacher=NET)
    assert list((tmp_path / "old").iterdir()) == []


def test_a_failing_write_rolls_back(runs, tmp_path, monkeypatch):
    res = runs["fast"][0]
    real = report.atomic_path
    calls = []

    def flaky(path):
        calls.append(path)
        if len(calls) == 2:  # the second file: the figure is already in place
            raise OSError("disk full")
        return real(path)

    monkeypatch.setattr(report, "atomic_path", flaky)
    with pytest.raises(OSError, match="disk full"):
        write_report(res, tmp_path / "rep")
    assert len(calls) == 2
    assert not (tmp_path / "rep").exists()


def test_missing_matplotlib_says_how_to_install(runs, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'verified-relu[plot]'")):
        write_report(runs["fast"][0], tmp_path / "rep")
    assert not (tmp_path / "rep").exists()


# ----------------------------------------------------------------------------- headless Chromium
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is required under CI=true (.ci/run installs it) but no chromium binary is on PATH")
    pytest.skip("no chromium binary on PATH (install Debian's 'chromium' package to run this test)")


def _run_chromium(exe, tmp_path, *args):
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _blue_pixels(png_path):
    from matplotlib.image import imread

    rgb = np.round(imread(png_path)[..., :3] * 255)
    return int(np.sum(np.all(np.abs(rgb - [31, 119, 180]) < 30, axis=-1)))  # matplotlib's C0


@pytest.mark.slow  # starts headless Chromium
def test_chromium_renders_the_figures(runs, tmp_path):
    exe = _chromium()
    res, X, y = runs["cdgkm"]
    out = write_report(res, tmp_path / "rep", teacher=NET, X=X, y=y, sample_fractions=(0.5, 1.0))
    html = out["html"].read_text(encoding="utf-8")
    expected = [list(_png_size(p.read_bytes())) for p in out["figures"]]
    # 1. the browser decodes every image at its PNG size: a copy of the page with a probe script
    probe = (
        '<pre id="probe"></pre><script>window.addEventListener("load",function(){var r=[];'
        'document.querySelectorAll("img").forEach(function(i){r.push([i.complete,i.naturalWidth,i.naturalHeight])});'
        'document.getElementById("probe").textContent=JSON.stringify(r);});</script>'
    )
    (tmp_path / "probe.html").write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = _run_chromium(exe, tmp_path, "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "probe.html").as_uri())
    seen = json.loads(re.search(r'<pre id="probe">([^<]*)</pre>', dom).group(1))
    assert seen == [[True, w, h] for w, h in expected]
    # 2. a screenshot of the page itself shows the plots' colour; the same page without its
    #    images (control) shows none of it
    shot, control = tmp_path / "shot.png", tmp_path / "control.png"
    (tmp_path / "noimg.html").write_text(re.sub(r"<img [^>]*>", "", html), encoding="utf-8")
    _run_chromium(
        exe, tmp_path, "--hide-scrollbars", "--window-size=1000,6000", f"--screenshot={shot}", out["html"].as_uri()
    )
    _run_chromium(
        exe,
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1000,6000",
        f"--screenshot={control}",
        (tmp_path / "noimg.html").as_uri(),
    )
    assert _blue_pixels(shot) > 500
    assert _blue_pixels(control) == 0


@pytest.mark.parametrize("method", ["cdgkm", "dk"])
def test_report_of_a_json_round_tripped_result_is_the_same(runs, method, tmp_path):
    # the CLI reports results read back from JSON: same trace, same page
    res, X, y = runs[method]
    back = LearnResult.from_json(res.to_json())
    a = write_report(res, tmp_path / "a", teacher=NET, X=X, y=y, sample_fractions=())
    b = write_report(back, tmp_path / "b", teacher=NET, X=X, y=y, sample_fractions=())
    assert a["md"].read_text() == b["md"].read_text()
    assert len(b["figures"]) == 3


def test_report_says_when_spectra_are_noise_and_neurons_far_and_cuts_no_text(tmp_path):
    """A result whose recorded spectrum lies under its floor and whose learned subspace misses a
    true neuron: the report says both; a long departure message appears in full."""
    pytest.importorskip("matplotlib")
    from verified_relu.learners import TraceStep, records

    teacher = ReLUNetwork(np.eye(4)[:2], [1.0, -1.0])
    net = ReLUNetwork(np.eye(4)[:1], [1.0])
    long = "departure note " + "x" * 300
    trace = (
        records.spectrum("spec", "quiet matrix", [("l=2", [1e-4, 2e-5], 1e-3, "op_se")]),
        records.basis("b", [[1.0, 0.0, 0.0, 0.0]], "a one-dimensional subspace"),
        TraceStep("note", {"text": long}),
    )
    res = LearnResult(
        network=net, success=False, message="m", method="tensor", params={"k": 2}, trace=trace, diagnostics={}
    )
    md = write_report(res, tmp_path / "r", teacher=teacher, sample_fractions=())["md"].read_text(encoding="utf-8")
    assert "Every value is below the noise floor" in md and "quiet matrix: l=2" in md
    assert "Far from the plotted subspace" in md and "true neuron 1" in md
    assert long in md


@pytest.mark.parametrize("method", ["fast", "cdgkm"])
def test_error_against_samples_shows_the_paper_steps_as_their_own_series(runs, method, tmp_path):
    """A paper learner's re-runs report the error of checkpoint 'paper' beside the final error, each
    equal to the closed-form error of a re-run on the same subsample; the fast learner has no
    checkpoint, so its column is empty and no caption speaks of one."""
    res, X, y = runs[method]
    out = write_report(res, tmp_path / "rep", teacher=NET, X=X, y=y, sample_fractions=(0.5,))
    md = out["md"].read_text(encoding="utf-8")
    section = md.split("## Error against samples", 1)[1].split("## Diagnostics", 1)[0]
    assert "| n | relative error | paper's steps | standard error | note |" in section
    m = round(0.5 * X.shape[0])
    (row,) = _table_rows(section, str(m))
    final, paper = (cell.strip() for cell in row.split("|")[2:4])
    idx = np.random.default_rng(0).permutation(X.shape[0])[:m]
    kw = {"teacher": NET} if method == "cdgkm" else {}
    again = learn(X[idx], y[idx], 2, method=method, rng=int(res.seed_entropy), **kw)
    assert float(final) == pytest.approx(NET.squared_distance(again.network) / NET.norm_squared(), rel=1e-3)
    if method == "cdgkm":
        expected = NET.squared_distance(again.checkpoints["paper"]) / NET.norm_squared()
        assert float(paper) == pytest.approx(expected, rel=1e-3)
        assert "the paper's guarantee is about the squares alone" in md
    else:
        assert paper == "-"
        assert "paper's steps alone (checkpoint)" not in md
