/** A small inline-SVG line chart of hit rates over time; no chart library. */

/** One poll of Stats: time, and hit rates in [0, 1] (null: no lookups to rate). */
export interface HitRatePoint {
  readonly t: number;
  readonly cumulative: number | null;
  readonly interval: number | null;
}

const SVG = "http://www.w3.org/2000/svg";
const W = 640;
const H = 200;
const PAD = { left: 36, right: 8, top: 8, bottom: 20 };

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Path data through the points that have a value; a gap where one has none. */
function pathOf(points: readonly HitRatePoint[], pick: (p: HitRatePoint) => number | null, x: (t: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    const v = pick(p);
    if (v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(p.t).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Redraws `svg` with the points of the last `maxWindowMs` (a shorter history fills the width, down to 10 s). */
export function drawHitRateChart(svg: SVGSVGElement, points: readonly HitRatePoint[], maxWindowMs: number): void {
  svg.replaceChildren();
  const now = points.at(-1)?.t ?? Date.now();
  const windowMs = Math.min(maxWindowMs, Math.max(10_000, now - (points[0]?.t ?? now)));
  const start = now - windowMs;
  const x = (t: number) => PAD.left + ((t - start) / windowMs) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v) * (H - PAD.top - PAD.bottom);

  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(el("text", { x: PAD.left - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, `${v * 100}%`));
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + (windowMs * i) / 4;
    const ago = Math.round((now - t) / 1000);
    svg.append(el("text", { x: x(t), y: H - 4, class: "axis", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, ago === 0 ? "now" : `-${ago}s`));
  }
  const visible = points.filter((p) => p.t >= start);
  svg.append(el("path", { d: pathOf(visible, (p) => p.interval, x, y), class: "line interval", "data-testid": "chart-interval" }));
  // Interval rates come and go with traffic: a dot each, so lone ones show too.
  for (const p of visible) if (p.interval !== null) svg.append(el("circle", { cx: x(p.t), cy: y(p.interval), r: 2.5, class: "dot interval" }));
  svg.append(el("path", { d: pathOf(visible, (p) => p.cumulative, x, y), class: "line cumulative", "data-testid": "chart-cumulative" }));
  const last = [...visible].reverse().find((p) => p.cumulative !== null);
  if (last?.cumulative != null) svg.append(el("circle", { cx: x(last.t), cy: y(last.cumulative), r: 3, class: "dot" }));
}
