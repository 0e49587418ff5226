/**
 * Bar and line charts as standalone SVG text, for reports (`npm run bench`, `coral-pipe tune --report`). Hand-written because the
 * report needs two chart kinds, no scripts and no network: a charting package would be larger than this.
 */
import type { BarChart, Chart, LineChart } from './report-file.js';

export const CHART_WIDTH = 760;
export const CHART_HEIGHT = 340;
const MARGIN = { left: 70, right: 20, bottom: 52 };
/** Colour-blind-safe (Okabe-Ito), dark enough on white. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

export const colour = (i: number) => PALETTE[i % PALETTE.length]!;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Numbers as a reader wants them on an axis or a bar: 3 significant digits, no exponent. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return String(Math.round(v));
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  if (a === 0) return '0';
  return v.toFixed(2).replace(/\.?0+$/, '');
}

/** Round tick positions from `min` to at least `max`: steps of 1, 2 or 5 times a power of ten. */
export function ticks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; ; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= max - step * 1e-9) break;
  }
  return out;
}

const text = (x: number, y: number, s: string, attrs = '') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;

/** Title and legend (one swatch per series, wrapped onto more lines if needed), and where the plot may start. */
function frame(chart: Chart, labels: readonly { label: string; colour: string; dashed?: boolean }[]): { out: string[]; top: number } {
  const out = [text(MARGIN.left, 20, chart.title, 'font-size="15" font-weight="bold"')];
  let x = MARGIN.left;
  let y = 40;
  for (const item of labels) {
    const width = 34 + item.label.length * 7.2;
    if (x + width > CHART_WIDTH - MARGIN.right && x > MARGIN.left) {
      x = MARGIN.left;
      y += 14;
    }
    out.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${item.colour}" stroke-width="${item.dashed ? 2 : 6}"${item.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(text(x + 22, y, item.label));
    x += width;
  }
  return { out, top: y + 18 };
}

function yAxis(yTicks: number[], y: (v: number) => number, label: string, top: number): string[] {
  const right = CHART_WIDTH - MARGIN.right;
  const out: string[] = [];
  for (const t of yTicks) {
    out.push(`<line x1="${MARGIN.left}" y1="${y(t).toFixed(1)}" x2="${right}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(text(MARGIN.left - 6, y(t) + 4, formatNumber(t), 'text-anchor="end"'));
  }
  const mid = (top + CHART_HEIGHT - MARGIN.bottom) / 2;
  out.push(text(16, mid, label, `text-anchor="middle" transform="rotate(-90 16 ${mid.toFixed(1)})"`));
  out.push(`<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${CHART_HEIGHT - MARGIN.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${MARGIN.left}" y1="${CHART_HEIGHT - MARGIN.bottom}" x2="${right}" y2="${CHART_HEIGHT - MARGIN.bottom}" stroke="#333"/>`);
  return out;
}

function svg(body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${CHART_WIDTH}" height="${CHART_HEIGHT}" fill="#fff"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function bars(chart: BarChart): string {
  const values = chart.series.flatMap((s) => [...s.values, ...(s.ranges ?? []).map((r) => r?.[1] ?? null)].filter((v): v is number => v !== null && Number.isFinite(v)));
  const yTicks = ticks(0, Math.max(...values, chart.reference?.value ?? 0, 1e-9) * 1.08);
  const legend = chart.series.map((s, i) => ({ label: s.label, colour: colour(i), dashed: false }));
  if (chart.reference) legend.push({ label: chart.reference.label, colour: '#444', dashed: true });
  const head = frame(chart, legend);
  const yMax = yTicks[yTicks.length - 1]!;
  const plotH = CHART_HEIGHT - head.top - MARGIN.bottom;
  const y = (v: number) => CHART_HEIGHT - MARGIN.bottom - (v / yMax) * plotH;
  const groupW = (CHART_WIDTH - MARGIN.left - MARGIN.right) / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const out = [...head.out, ...yAxis(yTicks, y, chart.yLabel, head.top)];
  chart.categories.forEach((category, c) => {
    const x0 = MARGIN.left + c * groupW + groupW * 0.1;
    out.push(text(MARGIN.left + (c + 0.5) * groupW, CHART_HEIGHT - MARGIN.bottom + 18, category, 'text-anchor="middle"'));
    chart.series.forEach((series, s) => {
      const v = series.values[c];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const x = x0 + s * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${colour(s)}" data-value="${v}"><title>${escapeXml(`${series.label}, ${category}: ${formatNumber(v)}`)}</title></rect>`);
      const range = series.ranges?.[c];
      const mid = x + (barW - 2) / 2;
      if (range) out.push(whisker(mid, y(range[0]), y(range[1]), Math.min(6, barW / 3), range));
      out.push(text(mid, Math.min(y(v), range ? y(range[1]) : Infinity) - 3, formatNumber(v), 'text-anchor="middle" font-size="10"'));
    });
  });
  if (chart.reference) {
    const ry = y(chart.reference.value).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" y1="${ry}" x2="${CHART_WIDTH - MARGIN.right}" y2="${ry}" stroke="#444" stroke-width="1.5" stroke-dasharray="5 3" data-value="${chart.reference.value}"/>`);
  }
  return svg(out);
}

/** The spread of the runs behind a bar: a vertical line from `low` to `high` (SVG y) with caps. */
function whisker(x: number, low: number, high: number, cap: number, range: readonly [number, number]): string {
  const path = `M${(x - cap).toFixed(1)},${high.toFixed(1)}h${(2 * cap).toFixed(1)}M${x.toFixed(1)},${high.toFixed(1)}V${low.toFixed(1)}M${(x - cap).toFixed(1)},${low.toFixed(1)}h${(2 * cap).toFixed(1)}`;
  return `<path d="${path}" stroke="#222" stroke-width="1.2" fill="none" data-range="${range[0]}..${range[1]}"><title>${escapeXml(`${formatNumber(range[0])}..${formatNumber(range[1])}`)}</title></path>`;
}

function lines(chart: LineChart): string {
  const points = chart.series.flatMap((s) => s.points).filter(([x, v]) => Number.isFinite(x) && Number.isFinite(v));
  const xs = points.map(([x]) => x);
  const xTicks = ticks(Math.min(...xs, 0), Math.max(...xs, 1e-9));
  const yTicks = ticks(0, Math.max(...points.map(([, v]) => v), 1e-9) * 1.05);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const style = (i: number) => ({ colour: colour(chart.series[i]!.colourIndex ?? i), dashed: chart.series[i]!.dashed ?? false });
  const head = frame(chart, chart.series.map((s, i) => ({ label: s.label, ...style(i) })));
  const yMax = yTicks[yTicks.length - 1]!;
  const plotW = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = CHART_HEIGHT - head.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v: number) => CHART_HEIGHT - MARGIN.bottom - (v / yMax) * plotH;
  const out = [...head.out, ...yAxis(yTicks, y, chart.yLabel, head.top)];
  for (const t of xTicks) out.push(text(x(t), CHART_HEIGHT - MARGIN.bottom + 16, formatNumber(t), 'text-anchor="middle"'));
  out.push(text(MARGIN.left + plotW / 2, CHART_HEIGHT - 12, chart.xLabel, 'text-anchor="middle"'));
  chart.series.forEach((series, i) => {
    const path = series.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`);
    if (path.length === 0) return;
    const { colour: c, dashed } = style(i);
    out.push(`<polyline points="${path.join(' ')}" fill="none" stroke="${c}" stroke-width="2"${dashed ? ' stroke-dasharray="6 3"' : ''}><title>${escapeXml(series.label)}</title></polyline>`);
  });
  return svg(out);
}

/** One chart as a standalone `<svg>` element of CHART_WIDTH x CHART_HEIGHT. */
export function renderChart(chart: Chart): string {
  return chart.kind === 'bars' ? bars(chart) : lines(chart);
}
