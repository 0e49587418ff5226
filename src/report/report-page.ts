/**
 * A report page, made from the JSON `npm run bench` (or `coral-pipe tune --report`) writes: a self-contained HTML page (charts
 * inline, then each section's table and notes) and one SVG of all charts (viewable alone, convertible
 * to PNG). Nothing in either refers to anything outside the file.
 */
import type { ReportFile, ReportSection } from './report-file.js';
import { CHART_HEIGHT, CHART_WIDTH, escapeXml, renderChart } from './svg-chart.js';

/** A table cell: integers as they are, other numbers to 2 decimals (none from 100 up). */
export const cell = (v: string | number | undefined) =>
  v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 100 ? 0 : 2)) : v;

const sectionsOf = (file: ReportFile) =>
  Object.entries(file.results).flatMap(([module, r]) => ('error' in r ? [] : r.map((section) => ({ module, section }))));

function summaryLine(file: ReportFile): string {
  const m = file.machine;
  const others = Object.values(file.otherLoad ?? {});
  const load = others.length > 0 ? ` · other load ≤ ${Math.max(...others).toFixed(2)} cores` : '';
  return `${file.date} · ${m.cpu ?? '?'} × ${m.cpus ?? '?'} · ${m.memoryGiB ?? '?'} GiB · ${m.os ?? ''} · Node ${m.node ?? '?'}${load}`;
}

const QUICK = 'QUICK RUN: a smoke test, figures not comparable';

function table(section: ReportSection): string {
  const headers = [...new Set(section.rows.flatMap((r) => Object.keys(r)))];
  if (headers.length === 0) return '';
  const head = headers.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const body = section.rows
    .map((r) => `<tr>${headers.map((h) => `<td${typeof r[h] === 'number' ? ' class="n"' : ''}>${escapeXml(cell(r[h]))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderHtml(file: ReportFile): string {
  const parts: string[] = [];
  for (const [module, result] of Object.entries(file.results)) {
    parts.push(`<h2>${escapeXml(module)}</h2>`);
    if ('error' in result) {
      parts.push(`<p class="error">FAILED: ${escapeXml(result.error)}</p>`);
      continue;
    }
    for (const section of result) {
      parts.push(`<h3>${escapeXml(section.title)}</h3>`);
      for (const chart of section.charts ?? []) parts.push(`<figure>${renderChart(chart)}</figure>`);
      parts.push(table(section));
      if (section.notes.length > 0) parts.push(`<ul class="notes">${section.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>`);
    }
  }
  const machine = Object.entries(file.machine).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(String(v))}</td></tr>`).join('');
  const durations = Object.entries(file.durations ?? {})
    .map(([k, v]) => `${escapeXml(k)} ${v.toFixed(0)} s${file.otherLoad?.[k] !== undefined ? ` (other processes: ${file.otherLoad[k]!.toFixed(2)} cores busy)` : ''}`)
    .join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(file.title)} ${escapeXml(file.date)}</title>
<style>
body { font-family: sans-serif; max-width: ${CHART_WIDTH + 40}px; margin: 1em auto; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5em 0; }
.notes { font-size: 13px; color: #444; }
.error { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>${escapeXml(file.title)}</h1>
<p>${escapeXml(summaryLine(file))}</p>${file.quick ? `\n<p class="error">${QUICK}</p>` : ''}
<p>Command: <code>${escapeXml(file.command)}</code>${durations ? `; took ${durations}` : ''}</p>
<table>${machine}</table>
${parts.join('\n')}
</body>
</html>
`;
}

const HEADER = 62;

/** Every chart of the run stacked in one SVG, under a line saying when and where it ran. */
export function renderSvg(file: ReportFile): string {
  const charts = sectionsOf(file).flatMap(({ section }) => section.charts ?? []);
  const failed = Object.entries(file.results).filter(([, r]) => 'error' in r).map(([m]) => m);
  const height = HEADER + charts.length * CHART_HEIGHT;
  const body = charts.map((chart, i) => `<g transform="translate(0 ${HEADER + i * CHART_HEIGHT})">\n${renderChart(chart)}\n</g>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${height}" viewBox="0 0 ${CHART_WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${CHART_WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="17" font-weight="bold">${escapeXml(file.title)}${charts.length === 0 ? ': no charts in this run' : ''}</text>`,
    `<text x="10" y="38" font-size="11">${escapeXml(summaryLine(file))}</text>`,
    `<text x="10" y="52" font-size="11" fill="#b00">${escapeXml([...(file.quick ? [QUICK] : []), ...(failed.length > 0 ? [`FAILED: ${failed.join(', ')}`] : [])].join(' · '))}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
