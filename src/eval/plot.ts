/**
 * Plots of the evaluations as standalone SVG (no browser, no dependency):
 * {@link renderXYPlot} draws labelled curves on two axes, and
 * {@link renderPlot} is the threshold sweep's precision against hit rate on
 * top of it (points labelled with their thresholds, the target precision as
 * a dashed line, the default and calibrated thresholds marked). The online
 * evaluation plots realised error against hit rate with the same renderer.
 */
import type { Metrics } from "./score.js";

/** One point of a curve. */
export interface XYPoint {
  readonly x: number;
  readonly y: number;
  /** Short text drawn next to the point (skipped when it would sit on the previous label). */
  readonly label?: string;
  /** Tooltip. */
  readonly title: string;
}

/** One curve (or, with `line: false`, a set of separate points). */
export interface XYSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly XYPoint[];
  /** Join the points with a line (default true). */
  readonly line?: boolean;
  /** Points to ring, each with its legend text. */
  readonly marks?: readonly { readonly point: XYPoint; readonly text: string }[];
}

/** What {@link renderXYPlot} draws. */
export interface XYPlotOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly XYSeries[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  /** Grid step of the y axis (default 0.05). */
  readonly yStep?: number;
  /** A dashed horizontal line (a target or a budget). */
  readonly hLines?: readonly { readonly y: number; readonly label: string }[];
  /** Small grey lines under the legend. */
  readonly notes?: readonly string[];
  readonly width?: number;
  readonly height?: number;
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);

const fmt = (n: number): string => (Math.round(n * 1000) / 1000).toString();

/** Renders curves on two linear axes. */
export function renderXYPlot(options: XYPlotOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 540;
  const margin = { left: 70, right: 210, top: 64, bottom: 58 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const [xMin, xMax] = options.xRange;
  const [yMin, yMax] = options.yRange;
  const x = (v: number): number => margin.left + ((v - xMin) / (xMax - xMin)) * plotW;
  const y = (v: number): number => margin.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle !== undefined) out.push(`<text x="${margin.left}" y="44" fill="#555">${escapeXml(options.subtitle)}</text>`);

  // Grid and axes.
  for (let i = 0; i <= 10; i++) {
    const v = xMin + (i / 10) * (xMax - xMin);
    out.push(
      `<line x1="${x(v)}" y1="${margin.top}" x2="${x(v)}" y2="${margin.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${margin.top + plotH + 18}" text-anchor="middle" fill="#333">${fmt(v)}</text>`,
    );
  }
  const ySteps = Math.max(1, Math.round((yMax - yMin) / (options.yStep ?? 0.05)));
  for (let i = 0; i <= ySteps; i++) {
    const v = yMin + (i / ySteps) * (yMax - yMin);
    out.push(
      `<line x1="${margin.left}" y1="${y(v)}" x2="${margin.left + plotW}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${margin.left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#333">${fmt(v)}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  for (const line of options.hLines ?? []) {
    if (line.y < yMin || line.y > yMax) continue;
    const ty = y(line.y);
    out.push(
      `<line x1="${margin.left}" y1="${ty}" x2="${margin.left + plotW}" y2="${ty}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + plotW - 4}" y="${ty - 5}" text-anchor="end" fill="#c00">${escapeXml(line.label)}</text>`,
    );
  }

  // Curves.
  options.series.forEach((series, index) => {
    const points = series.points;
    if (points.length === 0) return;
    if (series.line ?? true) {
      const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.x).toFixed(1)} ${y(p.y).toFixed(1)}`).join(" ");
      out.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    }
    let lastLabel: [number, number] | undefined;
    for (const p of points) {
      const px = x(p.x);
      const py = y(p.y);
      out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${series.line ?? true ? 2.5 : 4}" fill="${series.color}"><title>${escapeXml(p.title)}</title></circle>`);
      if (p.label !== undefined && (lastLabel === undefined || Math.hypot(px - lastLabel[0], py - lastLabel[1]) > 26)) {
        lastLabel = [px, py];
        const dy = index % 2 === 0 ? -7 : 14;
        out.push(`<text x="${(px + 4).toFixed(1)}" y="${(py + dy).toFixed(1)}" font-size="10" fill="${series.color}">${escapeXml(p.label)}</text>`);
      }
    }
    for (const mark of series.marks ?? []) {
      out.push(`<circle cx="${x(mark.point.x).toFixed(1)}" cy="${y(mark.point.y).toFixed(1)}" r="7" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    }
  });

  // Legend, with each series' marks described.
  let ly = margin.top + 8;
  const lx = margin.left + plotW + 16;
  for (const series of options.series) {
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${series.color}" stroke-width="3"/>`,
      `<text x="${lx + 28}" y="${ly + 4}" font-weight="bold">${escapeXml(series.label)}</text>`,
    );
    ly += 18;
    for (const mark of series.marks ?? []) {
      out.push(`<text x="${lx + 8}" y="${ly + 4}" font-size="11" fill="#333">◯ ${escapeXml(mark.text)}</text>`);
      ly += 16;
    }
    ly += 10;
  }
  for (const note of options.notes ?? []) {
    out.push(`<text x="${lx}" y="${ly + 4}" font-size="10" fill="#777">${escapeXml(note)}</text>`);
    ly += 14;
  }
  out.push("</svg>", "");
  return out.join("\n");
}

/** One curve of a threshold sweep. */
export interface PlotSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Metrics[];
  /** Thresholds to ring and label specially (e.g. the default and the calibrated one). */
  readonly marks?: readonly { readonly threshold: number; readonly label: string }[];
}

/** What {@link renderPlot} draws. */
export interface PlotOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly PlotSeries[];
  readonly targetPrecision?: number;
  /** Thresholds whose points get a small label (default: every 0.05). */
  readonly labelEvery?: number;
  readonly width?: number;
  readonly height?: number;
}

/** Renders a threshold sweep: precision against hit rate. */
export function renderPlot(options: PlotOptions): string {
  const all = options.series.flatMap((s) => s.points).filter((m) => m.precision !== null);
  const lowest = Math.min(options.targetPrecision ?? 1, ...all.map((m) => m.precision!));
  const yMin = Math.max(0, Math.floor((Number.isFinite(lowest) ? lowest : 0) * 10 - 1e-9) / 10);
  const labelEvery = options.labelEvery ?? 0.05;
  const isLabelled = (t: number): boolean => Math.abs(t / labelEvery - Math.round(t / labelEvery)) < 1e-6;
  const pct = (n: number): string => `${(n * 100).toFixed(1)}%`;
  const series: XYSeries[] = options.series.map((s) => {
    const shown = s.points.filter((m) => m.precision !== null);
    const toPoint = (m: Metrics): XYPoint => ({
      x: m.hitRate,
      y: m.precision!,
      ...(isLabelled(m.threshold) ? { label: m.threshold.toFixed(2) } : {}),
      title: `${s.label}: threshold ${m.threshold.toFixed(2)}, hit rate ${pct(m.hitRate)}, precision ${pct(m.precision!)}, false hits ${m.falseHits}`,
    });
    const marks = (s.marks ?? []).flatMap((mark) => {
      const m = shown.find((p) => Math.abs(p.threshold - mark.threshold) < 1e-9);
      return m === undefined ? [] : [{ point: toPoint(m), text: `${mark.label} ${mark.threshold.toFixed(2)}: ${pct(m.hitRate)} / ${pct(m.precision!)}` }];
    });
    return { label: s.label, color: s.color, points: shown.map(toPoint), marks };
  });
  return renderXYPlot({
    title: options.title,
    ...(options.subtitle === undefined ? {} : { subtitle: options.subtitle }),
    series,
    xLabel: "hit rate (paraphrases served their own answer)",
    yLabel: "precision (correct hits / all hits)",
    xRange: [0, 1],
    yRange: [yMin, 1],
    ...(options.targetPrecision === undefined ? {} : { hLines: [{ y: options.targetPrecision, label: `target precision ${fmt(options.targetPrecision)}` }] }),
    notes: ["labels: threshold;", "marks: hit rate / precision"],
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
  });
}
