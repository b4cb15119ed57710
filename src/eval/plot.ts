/**
 * A precision against hit-rate plot of threshold sweeps, as a standalone SVG
 * (no browser, no dependency): one curve per variant, points labelled with
 * their thresholds, the target precision as a dashed line, and the default
 * and calibrated thresholds marked.
 */
import type { Metrics } from "./score.js";

/** One curve. */
export interface PlotSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Metrics[];
  /** Thresholds to ring and label specially (e.g. the default and the calibrated one). */
  readonly marks?: readonly { readonly threshold: number; readonly label: string }[];
}

/** What to draw. */
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

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);

const fmt = (n: number): string => (Math.round(n * 100) / 100).toString();

/** Renders the plot. */
export function renderPlot(options: PlotOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 540;
  const margin = { left: 70, right: 190, top: 64, bottom: 58 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const all = options.series.flatMap((s) => s.points).filter((m) => m.precision !== null);
  const lowest = Math.min(options.targetPrecision ?? 1, ...all.map((m) => m.precision!));
  const yMin = Math.max(0, Math.floor((Number.isFinite(lowest) ? lowest : 0) * 10 - 1e-9) / 10);
  const yMax = 1;
  const xMin = 0;
  const xMax = 1;
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
  const ySteps = Math.round((yMax - yMin) / 0.05);
  for (let i = 0; i <= ySteps; i++) {
    const v = yMin + (i / ySteps) * (yMax - yMin);
    out.push(
      `<line x1="${margin.left}" y1="${y(v)}" x2="${margin.left + plotW}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${margin.left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#333">${fmt(v)}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">hit rate (paraphrases served their own answer)</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">precision (correct hits / all hits)</text>`,
  );
  if (options.targetPrecision !== undefined && options.targetPrecision >= yMin) {
    const ty = y(options.targetPrecision);
    out.push(
      `<line x1="${margin.left}" y1="${ty}" x2="${margin.left + plotW}" y2="${ty}" stroke="#c00" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + plotW - 4}" y="${ty - 5}" text-anchor="end" fill="#c00">target precision ${fmt(options.targetPrecision)}</text>`,
    );
  }

  // Curves.
  const labelEvery = options.labelEvery ?? 0.05;
  const isLabelled = (t: number): boolean => Math.abs(t / labelEvery - Math.round(t / labelEvery)) < 1e-6;
  options.series.forEach((series, index) => {
    const points = series.points.filter((m) => m.precision !== null);
    if (points.length === 0) return;
    const path = points.map((m, i) => `${i === 0 ? "M" : "L"}${x(m.hitRate).toFixed(1)} ${y(m.precision!).toFixed(1)}`).join(" ");
    out.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    let lastLabel: [number, number] | undefined;
    for (const m of points) {
      out.push(
        `<circle cx="${x(m.hitRate).toFixed(1)}" cy="${y(m.precision!).toFixed(1)}" r="2.5" fill="${series.color}"><title>${escapeXml(
          `${series.label}: threshold ${m.threshold.toFixed(2)}, hit rate ${(m.hitRate * 100).toFixed(1)}%, precision ${(m.precision! * 100).toFixed(1)}%, false hits ${m.falseHits}`,
        )}</title></circle>`,
      );
      const px = x(m.hitRate);
      const py = y(m.precision!);
      // Labels at round thresholds, skipping any that would sit on the previous one.
      if (isLabelled(m.threshold) && (lastLabel === undefined || Math.hypot(px - lastLabel[0], py - lastLabel[1]) > 26)) {
        lastLabel = [px, py];
        const dy = index % 2 === 0 ? -7 : 14;
        out.push(`<text x="${(x(m.hitRate) + 4).toFixed(1)}" y="${(y(m.precision!) + dy).toFixed(1)}" font-size="10" fill="${series.color}">${m.threshold.toFixed(2)}</text>`);
      }
    }
    for (const mark of series.marks ?? []) {
      const m = points.find((p) => Math.abs(p.threshold - mark.threshold) < 1e-9);
      if (m === undefined) continue;
      out.push(`<circle cx="${x(m.hitRate).toFixed(1)}" cy="${y(m.precision!).toFixed(1)}" r="7" fill="none" stroke="${series.color}" stroke-width="2"/>`);
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
      const m = series.points.find((p) => Math.abs(p.threshold - mark.threshold) < 1e-9);
      const detail = m === undefined || m.precision === null ? "" : `: ${(m.hitRate * 100).toFixed(1)}% / ${(m.precision * 100).toFixed(1)}%`;
      out.push(`<text x="${lx + 8}" y="${ly + 4}" font-size="11" fill="#333">◯ ${escapeXml(`${mark.label} ${mark.threshold.toFixed(2)}${detail}`)}</text>`);
      ly += 16;
    }
    ly += 10;
  }
  out.push(`<text x="${lx}" y="${ly + 4}" font-size="10" fill="#777">labels: threshold;</text>`);
  out.push(`<text x="${lx}" y="${ly + 18}" font-size="10" fill="#777">marks: hit rate / precision</text>`);
  out.push("</svg>", "");
  return out.join("\n");
}
