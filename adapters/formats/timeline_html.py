"""``timeline --html``: a self-contained page (inline SVG, no network) drawing an instance's timeline.

It draws `projections.timeline.InstanceTimeline` (any policy): each order's validity period (K-T3) with its
amount and currency, cut at the release (K-L3: the rest of the period is only outlined); retracted facts in
grey, each with the retraction's line id and reason; every refund request with its frozen amount (and
denials with their rules); the release; the policy's windows (K-F2's five days) and the overlaps its rules
forbid (K-S3 only); the ``--at`` and ``--known-at`` lines. Every marker is labelled in text beside it (not
only in a tooltip), the labels stacked in lanes so none covers another; the axis has a tick on each month
start (every second, third... month, or whole years, when they would crowd), in the policy's business time
zone, which every time on the page is shown in.

A small inline script records what the browser laid out in ``<body data-rendered>`` (how many of each mark,
the labels, the ticks, each bar's ends, the release line, text boxes that overlap or leave the drawing), so
a headless browser can prove the drawing is really there and readable.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, NamedTuple

from domain.timeutil import tz_of

if TYPE_CHECKING:
    from projections.timeline import InstanceTimeline

WIDTH, LEFT, RIGHT = 1100, 200, 1070  # the plot runs from LEFT to RIGHT
LANE, ROW, BAR = 17, 46, 18
CHAR = 7.0  # an upper bound of the width of one character at 12px (for laying labels out)
COLOURS = {"purchase": "#2b6cb0", "renewal": "#2f855a", "upgrade": "#b7791f", "downgrade": "#805ad5",
           "charge": "#2c7a7b"}
MARKER_COLOURS = {"at": "#1a202c", "known-at": "#4a5568", "refund": "#c53030", "refund-denied": "#9b2c2c",
                  "release": "#000000", "window-marker": "#975a16", "overlap-marker": "#c53030"}


def _width(text: str) -> float:
    return len(text) * CHAR + 6


class _Page:
    """The drawing of one timeline: an axis from ``lo`` to ``hi`` in the policy's zone."""

    def __init__(self, tl: InstanceTimeline) -> None:
        self.tl = tl
        self.tz = tz_of(tl.calendar_tz) if tl.calendar_tz else UTC
        core = [t for o in tl.orders for t in (o.start, o.end)] + [t for r in tl.retracted
                                                                   for t in (r.at, r.start, r.end) if t]
        core += [r.requested_at for r in tl.refunds] + [t for w in tl.windows for t in (w.start, w.end)]
        if tl.release is not None:
            core.append(tl.release.at)
        lo, hi = (min(core), max(core)) if core else (tl.at, tl.at)
        span = max(hi - lo, timedelta(days=30))
        for t in (tl.at, tl.known_at):  # on the axis when near the facts; else an arrow at its edge
            if lo - span / 2 <= t <= hi + span / 2:
                lo, hi = min(lo, t), max(hi, t)
        span = max(hi - lo, timedelta(days=30))
        self.lo, self.hi = lo - span / 25, hi + span / 25

    def x(self, t: datetime) -> float:
        return LEFT + (RIGHT - LEFT) * ((t - self.lo) / (self.hi - self.lo))

    def inside(self, t: datetime) -> bool:
        return self.lo <= t <= self.hi

    def local(self, t: datetime, seconds: bool = False) -> str:
        return t.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _lanes(labels: list[tuple[float, str, str, str]]) -> list[tuple[float, str, str, str, int, str, float]]:
    """Each marker label (x, text, class, title) in the first lane where it covers no other label: returns
    (x, text, class, title, lane, anchor, text x). A label runs right of its line, or left of it near the
    plot's right edge."""
    ends: list[list[tuple[float, float]]] = []
    out = []
    for x, text, cls, title in sorted(labels, key=lambda label: label[0]):
        w, gap = _width(text), 10 if cls.startswith("refund") else 4  # a refund's dot sits at its line
        if x + gap + w <= WIDTH - 4:
            a, b, anchor, tx = x + 1, x + gap + w, "start", x + gap
        else:
            a, b, anchor, tx = x - gap - w, x - 1, "end", x - gap
        lane = next((i for i, spans in enumerate(ends) if all(b + 6 < s or a > e + 6 for s, e in spans)), None)
        if lane is None:
            ends.append([])
            lane = len(ends) - 1
        ends[lane].append((a, b))
        out.append((x, text, cls, title, lane, anchor, tx))
    return out


STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200)  # months between labelled ticks


def _months(page: _Page) -> list[datetime]:
    """Month starts (in the policy's zone) on the axis, every ``step`` months (1, 2, 3, 6; then whole years:
    1, 2, 5, 10...) so that at most 14 are labelled; a step's ticks are the months it divides (January first)."""
    lo, hi = page.lo.astimezone(page.tz), page.hi.astimezone(page.tz)
    k_lo, k_hi = lo.year * 12 + lo.month - 1, hi.year * 12 + hi.month - 1  # months since year 0
    step = next((s for s in STEPS if (k_hi - k_lo) // s + 1 <= 14), STEPS[-1])
    ticks = []
    for k in range(-(-k_lo // step) * step, k_hi + 1, step):
        t = datetime(k // 12, k % 12 + 1, 1, tzinfo=page.tz)
        if lo <= t <= hi:
            ticks.append(t)
    return ticks


class Drawing(NamedTuple):
    title: str  # plain text (escape it)
    subtitle: str  # plain text (escape it)
    svg: str  # the inline ``<svg>`` element, its text escaped
    legend: str  # the legend's HTML (fixed text)


def _script_hash(page: str) -> str:
    """The CSP source (``'sha256-...'``) of the page's one inline script, which no value of the page is put in."""
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode() + "'"


def render(tl: InstanceTimeline) -> str:
    """The timeline as a self-contained HTML page."""
    d = drawing(tl)
    return PAGE.format(title=escape(d.title), subtitle=escape(d.subtitle), legend=d.legend, svg=d.svg)


def drawing(tl: InstanceTimeline, svg_attributes: str = "") -> Drawing:
    """The drawing alone, for a page of its own (`render`) or one that embeds it (the web console);
    ``svg_attributes`` (trusted HTML attributes) are added to the ``<svg>`` element."""
    page = _Page(tl)
    cur = tl.currency or ""
    shapes: list[str] = []  # drawn first: bands, bars
    marks: list[tuple[float, str, str, str]] = []  # (x, label, class, title) of each vertical marker

    def marker(t: datetime, label: str, cls: str, title: str) -> None:
        if page.inside(t):
            marks.append((page.x(t), label, cls, title))
        else:  # beyond the axis: at its edge, with an arrow
            before = t < page.lo
            marks.append((LEFT if before else RIGHT, ("◀ " if before else "") + label + ("" if before else " ▶"),
                          cls + " beyond", title))

    marker(tl.at, f"--at {page.local(tl.at)}", "at", f"--at (business time) {page.local(tl.at, True)}")
    marker(tl.known_at, f"--known-at {page.local(tl.known_at)}", "known-at",
           f"--known-at (what the ledger had recorded by then) {page.local(tl.known_at, True)}")
    for w in tl.windows:
        marks.append((page.x(w.start), f"{w.label} ({w.rule}) until {page.local(w.end)}", "window-marker",
                      f"{w.label} ({w.rule}): {page.local(w.start, True)} → {page.local(w.end, True)}"))
    for r in tl.refunds:
        if r.state == "denied":
            text = f"{r.refund} denied ({', '.join(r.rules) or r.mode})"
        elif not r.primary:
            text = f"{r.refund} (with {r.with_}) {r.state}"
        else:
            text = f"{r.refund} {r.state}: {cur} {r.amount:.2f}" + (
                f" (frozen quote {cur} {r.quoted:.2f})" if r.quoted != r.amount else " (frozen quote)")
        marks.append((page.x(r.requested_at), text, "refund-denied" if r.state == "denied" else "refund",
                      f"refund {r.refund} ({r.mode}), requested {page.local(r.requested_at, True)}, recorded "
                      f"{page.local(r.recorded_at, True)}: {r.state}, frozen quote {cur} {r.quoted:.2f}"))
    if tl.release is not None:
        rule = f" ({tl.release.rule})" if tl.release.rule else ""
        marks.append((page.x(tl.release.at), f"released{rule} by {tl.release.refund}", "release",
                      f"released{rule} by {tl.release.refund} at {page.local(tl.release.at, True)}"))
    for v in tl.rule_overlaps:
        marks.append((page.x(v.start), f"{v.rule}: {v.message}", "overlap-marker",
                      f"{v.rule}: {v.message}, {page.local(v.start, True)} → {page.local(v.end, True)}"))
    placed = _lanes(marks)
    lanes = max((p[4] for p in placed), default=-1) + 1
    top = 44 + lanes * LANE  # the first row
    rows = len(tl.orders) + len(tl.retracted)
    bottom = top + max(rows, 1) * ROW
    axis_y = bottom + 6

    row_of: dict[str, int] = {}
    texts: list[str] = []
    y = top
    for o in tl.orders:
        row_of[o.order] = y
        colour = COLOURS.get(o.kind, "#4a5568")
        a, b = page.x(o.start), page.x(o.used_until)
        shapes.append(f'<rect class="order kind-{escape(o.kind)}" data-order="{escape(o.order)}" x="{a:.1f}" '
                      f'y="{y}" width="{max(b - a, 2):.1f}" height="{BAR}" fill="{colour}" rx="3"><title>'
                      f'{escape(o.kind)} {escape(o.order)}: {page.local(o.start, True)} → '
                      f'{page.local(o.end, True)}</title></rect>')
        if o.used_until < o.end:
            c = page.x(o.end)
            shapes.append(f'<rect class="after-release" data-order="{escape(o.order)}" x="{b:.1f}" y="{y + 1}" '
                          f'width="{max(c - b, 1):.1f}" height="{BAR - 2}" fill="none" stroke="{colour}" '
                          f'stroke-dasharray="3 3"><title>not used: released at {page.local(o.used_until, True)}'
                          '</title></rect>')
        texts.append(f'<text class="row-label" x="8" y="{y + 13}">{escape(o.kind)} {escape(o.order)}</text>')
        money = f"credit {cur} {o.credit:.2f}" if o.kind == "downgrade" else f"paid {cur} {o.amount:.2f}"
        caption = f"{money} · {page.local(o.start)} → {page.local(o.end)}"
        if o.released_at is not None:
            caption += f" · released {page.local(o.used_until)}"
        texts.append(_caption(a, y + BAR + 13, caption, "amount"))
        y += ROW
    for gone in tl.retracted:
        a = page.x(gone.start or gone.at)
        b = page.x(gone.end) if gone.end else a + 8
        what = f"{gone.kind} {gone.order}" if gone.order else gone.fact
        shapes.append(f'<rect class="retracted" x="{a:.1f}" y="{y}" width="{max(b - a, 8):.1f}" height="{BAR}" '
                      f'fill="#cbd5e0" opacity="0.6" stroke="#718096" stroke-dasharray="4 2"><title>retracted '
                      f'{escape(what)} (line {escape(gone.id or "")}) by {escape(gone.by or "")}: {escape(gone.reason)}'
                      '</title></rect>')
        texts.append(f'<text class="row-label retracted-label" x="8" y="{y + 13}">retracted {escape(what)}</text>')
        texts.append(_caption(a, y + BAR + 13, f"line {gone.id}, retracted by {gone.by} (recorded "
                                               f"{page.local(gone.by_recorded_at)}): {gone.reason}", "retraction"))
        y += ROW
    if not rows:
        texts.append(f'<text class="row-label" x="8" y="{top + 13}">no orders</text>')

    bands = []
    for w in tl.windows:
        a, b = page.x(w.start), page.x(w.end)
        bands.append(f'<rect class="window five-day-window" data-rule="{escape(w.rule)}" x="{a:.1f}" y="{top - 6}" '
                     f'width="{max(b - a, 2):.1f}" height="{bottom - top + 6}" fill="#fefcbf" stroke="#d69e2e">'
                     f'<title>{escape(w.label)} ({escape(w.rule)})</title></rect>')
    for v in tl.rule_overlaps:
        ys = [row_of[o] for o in v.orders if o in row_of] or [top]
        a, b = page.x(v.start), page.x(v.end)
        bands.append(f'<rect class="overlap-rule overlap-{escape(v.rule.lower())}" x="{a:.1f}" y="{min(ys) - 4}" '
                     f'width="{max(b - a, 2):.1f}" height="{max(ys) - min(ys) + BAR + 8}" fill="#e53e3e" '
                     f'opacity="0.3"><title>{escape(v.rule)}: {escape(v.message)}</title></rect>')

    lines = []
    for x, text, cls, title, lane, anchor, tx in placed:
        ly = 40 + lane * LANE
        kind = cls.split()[0]
        colour = MARKER_COLOURS.get(kind, "#1a202c")
        dash = {"at": ' stroke-dasharray="6 3"', "known-at": ' stroke-dasharray="2 3"'}.get(kind, "")
        width = {"release": 3, "refund": 2, "refund-denied": 2}.get(kind, 1.5)
        lines.append(f'<g class="marker {cls}"><line x1="{x:.1f}" x2="{x:.1f}" y1="{ly - 11}" y2="{axis_y}" '
                     f'stroke="{colour}" stroke-width="{width}"{dash}/>'
                     + (f'<circle cx="{x:.1f}" cy="{ly - 4}" r="4" fill="{colour}"/>'
                        if kind in ("refund", "refund-denied") else "")
                     + f'<text class="marker-label" x="{tx:.1f}" y="{ly}" text-anchor="{anchor}" style="fill:{colour}">'
                       f'{escape(text)}</text><title>{escape(title)}</title></g>')

    axis = [f'<line class="axis" x1="{LEFT}" x2="{RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#4a5568"/>']
    for t in _months(page):
        x = page.x(t)
        axis.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 8}" y2="{axis_y}" stroke="#e2e8f0"/>'
                    f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 5}" stroke="#4a5568"/>'
                    f'<text class="tick-label" data-t="{t.isoformat()}" x="{x:.1f}" y="{axis_y + 18}" '
                    f'text-anchor="middle">{t.strftime("%Y-%m")}</text>')
    height = axis_y + 30
    zone = (f"{tl.calendar_tz} (the policy's business time zone)" if tl.calendar_tz
            else "UTC (no business time zone applies)")
    subtitle = (f"policy {tl.policy or '—'} · at {page.local(tl.at, True)} · as known at "
                f"{page.local(tl.known_at, True)} · times in {zone}")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg"{svg_attributes} width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}">\n' + "\n".join(axis + bands + shapes + lines + texts) + "\n</svg>")
    return Drawing(f"Timeline of {tl.instance}", subtitle, svg, LEGEND)


def _caption(x: float, y: float, text: str, cls: str) -> str:
    """A caption under a bar, starting where the bar starts, kept inside the plot (cut with … if too long)."""
    room = (WIDTH - 8 - LEFT) / CHAR
    if len(text) > room:
        text = text[:int(room) - 1] + "…"
    x = min(max(x, LEFT), WIDTH - 8 - _width(text))
    return f'<text class="caption {cls}" x="{x:.1f}" y="{y}">{escape(text)}</text>'


LEGEND = """<p class="legend"><span style="color:#2b6cb0">■ purchase</span><span style="color:#2f855a">■ renewal</span>
<span style="color:#b7791f">■ upgrade</span><span style="color:#805ad5">■ downgrade</span>
<span style="color:#2c7a7b">■ charge</span><span style="color:#d69e2e">■ window</span>
<span style="color:#c53030">● refund request</span><span style="color:#000">┃ release</span>
<span style="color:#718096">▨ retracted</span><span style="color:#e53e3e">■ overlap a rule forbids</span></p>"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:"DejaVu Sans",sans-serif;margin:16px}} h1{{font-size:20px;margin:0 0 4px}}
p{{margin:0 0 6px;font-size:13px}} text{{font-size:12px;fill:#2d3748}} .marker-label{{font-weight:600}}
.row-label{{font-weight:600}} .retracted-label{{fill:#718096;text-decoration:line-through}}
.retraction{{fill:#718096}}
.caption,.marker-label{{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}}
.tick-label{{fill:#4a5568}} .legend span{{margin-right:14px}}</style></head>
<body><h1>{title}</h1><p>{subtitle}</p>
{legend}
{svg}
<script>
(function () {{
  var svg = document.querySelector("svg"), box = svg.getBoundingClientRect(), drawn = {{}};
  ["order", "after-release", "window", "retracted", "refund", "refund-denied", "release", "overlap-rule",
   "at", "known-at"].forEach(function (c) {{
    drawn[c] = Array.prototype.filter.call(document.querySelectorAll("svg ." + c), function (el) {{
      var b = el.getBoundingClientRect();
      return b.width > 0 || b.height > 0;
    }}).length;
  }});
  function texts(sel) {{
    return Array.prototype.map.call(document.querySelectorAll(sel), function (el) {{ return el.textContent; }});
  }}
  drawn.labels = texts("svg .marker-label");
  drawn.captions = texts("svg .caption");
  drawn.ticks = Array.prototype.map.call(document.querySelectorAll("svg .tick-label"), function (el) {{
    return {{t: el.getAttribute("data-t"), label: el.textContent, x: el.getBoundingClientRect().left +
             el.getBoundingClientRect().width / 2 - box.left}};
  }});
  drawn.bars = Array.prototype.map.call(document.querySelectorAll("svg rect.order"), function (el) {{
    var b = el.getBoundingClientRect();
    return {{order: el.getAttribute("data-order"), left: b.left - box.left, right: b.right - box.left}};
  }});
  drawn.release_x = Array.prototype.map.call(document.querySelectorAll("svg .release line"), function (el) {{
    var b = el.getBoundingClientRect();
    return b.left + b.width / 2 - box.left;
  }});
  var all = Array.prototype.map.call(document.querySelectorAll("svg text"), function (el) {{
    return {{text: el.textContent, b: el.getBoundingClientRect()}};
  }});
  drawn.overlapping = [];
  drawn.clipped = [];
  all.forEach(function (p, i) {{
    if (p.b.left < box.left - 0.5 || p.b.right > box.right + 0.5 || p.b.top < box.top - 0.5 ||
        p.b.bottom > box.bottom + 0.5) drawn.clipped.push(p.text);
    all.slice(i + 1).forEach(function (q) {{
      if (p.b.left < q.b.right - 1 && q.b.left < p.b.right - 1 && p.b.top < q.b.bottom - 1 &&
          q.b.top < p.b.bottom - 1) drawn.overlapping.push([p.text, q.text]);
    }});
  }});
  document.body.setAttribute("data-rendered", JSON.stringify(drawn));
}})();
</script></body></html>
"""

SCRIPT_HASH = _script_hash(PAGE.format(title="", subtitle="", legend="", svg=""))  # for its CSP (docs/http.md)
