"""``timeline --html``: a self-contained page (inline SVG, no network) drawing an instance's history.

Each order's validity period on a time axis (purchase, renewals, upgrades, downgrades), the five-day
window (K-F2), refund applications, retracted facts greyed out, and the renewal/downgrade overlaps that
K-S3 forbids highlighted. A small inline script records what the browser laid out in
``<body data-rendered>``, so a headless browser can prove the drawing is really there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from domain.instance import Instance, known, live
from domain.policies.kingsoft.events import Purchased
from domain.policies.kingsoft.orders import build_orders

WIDTH, LEFT, ROW, TOP = 1000, 150, 34, 40
COLOURS = {"purchase": "#2b6cb0", "renewal": "#2f855a", "upgrade": "#d69e2e", "downgrade": "#805ad5"}
FIVE_DAYS = timedelta(hours=120)


def render(instance: str, events: list[Any], at: datetime, known_at: datetime) -> str:
    facts = known(events, known_at)
    alive = live(facts)
    orders = build_orders(alive)
    void = {f.target: f for f in facts if isinstance(f, Instance.Retracted)}
    retracted = [f for f in facts if f.line in void and not isinstance(f, Instance.Retracted)]
    refunds = [f for f in alive if isinstance(f, Instance.RefundApplied | Instance.RefundDenied)]
    purchase = next((f for f in alive if isinstance(f, Purchased)), None)  # Kingsoft: five-day window

    moments = [at] + [t for o in orders for t in (o.start, o.end)] + [f.at for f in retracted + refunds]
    lo, hi = min(moments), max(moments)
    span = (hi - lo) or timedelta(days=1)
    lo, hi = lo - span / 20, hi + span / 20

    def x(t: datetime) -> float:
        return LEFT + (WIDTH - LEFT - 20) * ((t - lo) / (hi - lo))

    shapes: list[str] = []
    labels: list[str] = []
    y = TOP
    for o in orders:
        colour = COLOURS[o.kind]
        shapes.append(f'<rect class="order kind-{o.kind}" data-order="{escape(o.order)}" x="{x(o.start):.1f}" '
                      f'y="{y}" width="{max(x(o.end) - x(o.start), 2):.1f}" height="{ROW - 12}" fill="{colour}" '
                      f'rx="3"><title>{escape(o.kind)} {escape(o.order)}: {o.start.isoformat()} → '
                      f'{o.end.isoformat()}</title></rect>')
        labels.append(f'<text x="8" y="{y + 15}" class="label">{escape(o.kind)} {escape(o.order)}</text>')
        y += ROW
    for f in retracted:
        reason = void[f.line].reason
        shapes.append(f'<rect class="retracted" x="{x(f.at):.1f}" y="{y}" width="{max(WIDTH * 0.04, 8):.0f}" '
                      f'height="{ROW - 12}" fill="#a0aec0" opacity="0.5" stroke="#718096" stroke-dasharray="4 2">'
                      f'<title>retracted {escape(type(f).__name__)} {escape(f.line or "")}: {escape(reason)}</title>'
                      '</rect>')
        labels.append(f'<text x="8" y="{y + 15}" class="label retracted-label">retracted '
                      f'{escape(f.line or "")}</text>')
        y += ROW
    bottom = y
    if purchase is not None:
        start = purchase.trial_started_at or purchase.activated_at or purchase.at
        shapes.insert(0, f'<rect class="five-day-window" x="{x(start):.1f}" y="{TOP - 12}" '
                         f'width="{max(x(start + FIVE_DAYS) - x(start), 2):.1f}" height="{bottom - TOP + 12}" '
                         f'fill="#fefcbf"><title>five-day window (K-F2)</title></rect>')
    for r in (o for o in orders if o.kind == "renewal"):
        for d in (o for o in orders if o.kind == "downgrade" and o.at >= r.at):
            a, b = max(r.start, d.start), min(r.end, d.end)
            if a < b:
                shapes.append(f'<rect class="overlap-k-s3" x="{x(a):.1f}" y="{TOP - 12}" '
                              f'width="{max(x(b) - x(a), 2):.1f}" height="{bottom - TOP + 12}" fill="#e53e3e" '
                              f'opacity="0.25"><title>K-S3: renewal {escape(r.order)} overlaps downgrade '
                              f'{escape(d.order)}</title></rect>')
    for f in refunds:
        kind = "refund-denied" if isinstance(f, Instance.RefundDenied) else "refund"
        shapes.append(f'<g class="{kind}"><line x1="{x(f.at):.1f}" x2="{x(f.at):.1f}" y1="{TOP - 12}" '
                      f'y2="{bottom}" stroke="#c53030" stroke-width="2"/><circle cx="{x(f.at):.1f}" '
                      f'cy="{TOP - 16}" r="6" fill="#c53030"><title>{kind} {escape(f.refund)} at '
                      f'{f.at.isoformat()}</title></circle></g>')
    shapes.append(f'<line class="at" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{TOP - 24}" y2="{bottom + 4}" '
                  f'stroke="#1a202c" stroke-dasharray="6 3"><title>--at {at.isoformat()}</title></line>')
    axis = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - 20}" y1="{bottom + 10}" y2="{bottom + 10}" '
            'stroke="#4a5568"/>']
    for i in range(5):
        t = lo + (hi - lo) * (i / 4)
        anchor = ("start", "middle", "middle", "middle", "end")[i]
        axis.append(f'<text x="{x(t):.1f}" y="{bottom + 26}" class="tick" text-anchor="{anchor}">'
                    f'{t.date().isoformat()}</text>')
    height = bottom + 40
    return PAGE.format(title=escape(f"Timeline of {instance}"), at=escape(at.isoformat()),
                       known_at=escape(known_at.isoformat()), width=WIDTH, height=height,
                       body="\n".join(shapes + labels + axis))


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:16px}} .label,.tick{{font-size:12px;fill:#2d3748}}
.retracted-label{{fill:#a0aec0;text-decoration:line-through}} .legend span{{margin-right:14px}}</style></head>
<body><h1>{title}</h1><p>at {at} · as known at {known_at}</p>
<p class="legend"><span style="color:#2b6cb0">■ purchase</span><span style="color:#2f855a">■ renewal</span>
<span style="color:#d69e2e">■ upgrade</span><span style="color:#805ad5">■ downgrade</span>
<span style="color:#b7791f">■ five-day window</span><span style="color:#c53030">● refund application</span>
<span style="color:#a0aec0">■ retracted</span><span style="color:#e53e3e">■ K-S3 overlap</span></p>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
{body}
</svg>
<script>
(function () {{
  var drawn = {{}};
  ["order", "five-day-window", "retracted", "refund", "refund-denied", "overlap-k-s3", "at"].forEach(function (c) {{
    var n = 0;
    document.querySelectorAll("svg ." + c).forEach(function (el) {{
      var b = el.getBoundingClientRect();
      if (b.width > 0 || b.height > 0) n += 1;
    }});
    drawn[c] = n;
  }});
  document.body.setAttribute("data-rendered", JSON.stringify(drawn));
}})();
</script></body></html>
"""
