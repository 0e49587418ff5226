/** The benchmark report generator: valid, self-contained SVG and HTML, with bars that say the numbers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { ReportFile } from '../../src/report/report-file.js';
import { renderHtml, renderSvg } from '../../src/report/report-page.js';
import { CHART_HEIGHT, CHART_WIDTH, renderChart, ticks } from '../../src/report/svg-chart.js';

const fixture = (quick = false): ReportFile => ({
  title: 'coral-pipe benchmarks',
  date: '2026-01-02T03:04:05.000Z',
  command: 'npm run bench -- pipeline',
  quick,
  machine: { cpu: 'Test CPU', cpus: 2, memoryGiB: 4, os: 'Linux test x64', node: 'v20.0.0' },
  durations: { pipeline: 12.5, broken: 0.1 },
  otherLoad: { pipeline: 0.25, broken: 0 },
  results: {
    pipeline: [
      {
        title: 'throughput <by> segments & "strategy"',
        rows: [
          { configuration: 'whole', 'items/s': 40, 'p50 ms': 25.123 },
          { configuration: '2 segments <latency>', 'items/s': 80, 'p50 ms': 30 },
        ],
        notes: ['goal: 2 segments >= 1.7x & more'],
        charts: [
          {
            kind: 'bars',
            title: 'items/s by workers',
            yLabel: 'items/s',
            categories: ['1 worker', '2 workers'],
            series: [
              { label: 'segments', values: [null, 80] },
              { label: 'replicas <whole>', values: [40, 70] },
            ],
            reference: { label: 'single', value: 40 },
          },
          {
            kind: 'lines',
            title: 'latency over time',
            xLabel: 's',
            yLabel: 'ms',
            series: [
              { label: 'p50', points: [[0.5, 10], [1.5, 12], [2.5, 11]], colourIndex: 0 },
              { label: 'p99', points: [[0.5, 30], [1.5, 45], [2.5, 33]], colourIndex: 0, dashed: true },
            ],
          },
        ],
      },
    ],
    broken: { error: 'mosquitto not found <here>' },
  },
});

/** Renders SVG text to PNG with librsvg (through sharp), which refuses malformed XML. */
async function rasterise(svg: string): Promise<{ width?: number; height?: number }> {
  return sharp(Buffer.from(svg)).png().toBuffer({ resolveWithObject: true }).then((r) => r.info);
}

/** The fixture's charts, in order. */
const charts = () => {
  const sections = fixture().results.pipeline;
  assert.ok(Array.isArray(sections));
  return sections.flatMap((s) => s.charts ?? []);
};

const attr = (tag: string, name: string) => Number(new RegExp(`\\b${name}="([^"]+)"`).exec(tag)?.[1]);

describe('benchmark report', () => {
  it('writes one SVG of all charts that renders at the size it declares', async () => {
    const svg = renderSvg(fixture());
    const info = await rasterise(svg);
    assert.equal(info.width, CHART_WIDTH);
    assert.ok(info.height! > 2 * CHART_HEIGHT && info.height! < 3 * CHART_HEIGHT, `height ${info.height}`);
    assert.match(svg, /FAILED: broken/);
    assert.match(svg, /Test CPU × 2/);
  });

  it('draws bars whose heights are proportional to their values, none for a missing value', () => {
    const svg = renderChart(charts()[0]!);
    const bars = [...svg.matchAll(/<rect [^>]*data-value="[^"]+"[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(bars.map((b) => attr(b, 'data-value')).sort((a, b) => a - b), [40, 70, 80]);
    const perUnit = bars.map((b) => attr(b, 'height') / attr(b, 'data-value'));
    for (const r of perUnit) assert.ok(Math.abs(r - perUnit[0]!) < 0.02, `heights per unit differ: ${perUnit.join(', ')}`);
    // All bars stand on the same baseline.
    const bottoms = bars.map((b) => attr(b, 'y') + attr(b, 'height'));
    for (const b of bottoms) assert.ok(Math.abs(b - bottoms[0]!) < 0.2, `bars do not share a baseline: ${bottoms.join(', ')}`);
    // The reference line sits at the height of a bar of the same value.
    const reference = /<line [^>]*stroke-dasharray[^>]*data-value="40"[^>]*>/.exec(svg)?.[0];
    assert.ok(reference, 'reference line missing');
    const bar40 = bars.find((b) => attr(b, 'data-value') === 40)!;
    assert.ok(Math.abs(attr(reference, 'y1') - attr(bar40, 'y')) < 0.2);
  });

  it('draws the spread of a bar\'s runs as a whisker from their least to their most, on the bar\'s scale', async () => {
    const chart = charts()[0]!;
    assert.equal(chart.kind, 'bars');
    const svg = renderChart({ ...chart, series: [chart.series[0]!, { ...chart.series[1]!, ranges: [[35, 52], null] }] } as typeof chart);
    const whiskers = [...svg.matchAll(/<path [^>]*data-range="[^"]+"[^>]*>/g)].map((m) => m[0]);
    assert.equal(whiskers.length, 1, 'one whisker: the other bars have no range');
    assert.equal(/data-range="([^"]+)"/.exec(whiskers[0]!)![1], '35..52');
    const bar40 = [...svg.matchAll(/<rect [^>]*data-value="40"[^>]*>/g)][0]![0];
    const perUnit = attr(bar40, 'height') / 40;
    const baseline = attr(bar40, 'y') + attr(bar40, 'height');
    // The path runs from the top cap (52) down to the bottom cap (35), centred on the bar of 40.
    const d = /d="([^"]+)"/.exec(whiskers[0]!)![1]!;
    const ys = [...d.matchAll(/M[\d.]+,([\d.]+)|V([\d.]+)/g)].map((m) => Number(m[1] ?? m[2]));
    assert.ok(Math.abs(Math.min(...ys) - (baseline - 52 * perUnit)) < 0.2, `top ${Math.min(...ys)}`);
    assert.ok(Math.abs(Math.max(...ys) - (baseline - 35 * perUnit)) < 0.2, `bottom ${Math.max(...ys)}`);
    const centre = attr(bar40, 'x') + attr(bar40, 'width') / 2;
    assert.ok(Math.abs(Number(/M[\d.]+,[\d.]+h[\d.]+M([\d.]+)/.exec(d)![1]) - centre) < 0.2);
    assert.ok((await rasterise(svg)).width === CHART_WIDTH);
  });

  it('draws one line per series, dashed where asked', () => {
    const svg = renderChart(charts()[1]!);
    const lines = [...svg.matchAll(/<polyline [^>]*>/g)].map((m) => m[0]);
    assert.equal(lines.length, 2);
    assert.equal(lines.filter((l) => l.includes('stroke-dasharray')).length, 1);
    assert.equal(/points="([^"]+)"/.exec(lines[0]!)![1]!.split(' ').length, 3);
  });

  it('writes a self-contained HTML page with the charts, escaped tables, notes and failures', async () => {
    const html = renderHtml(fixture());
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<\/html>\n$/);
    assert.doesNotMatch(html, /<script|<link|\bsrc=|\bhref=/i);
    assert.ok(html.includes('throughput &lt;by&gt; segments &amp; &quot;strategy&quot;'));
    assert.ok(html.includes('<td>2 segments &lt;latency&gt;</td>'));
    assert.ok(html.includes('<td class="n">25.12</td>'), 'numbers are formatted to 2 decimals');
    assert.ok(html.includes('goal: 2 segments &gt;= 1.7x &amp; more'));
    assert.ok(html.includes('FAILED: mosquitto not found &lt;here&gt;'));
    assert.ok(html.includes('npm run bench -- pipeline'));
    assert.ok(html.includes('pipeline 13 s (other processes: 0.25 cores busy)'), 'says how busy the machine was otherwise');
    assert.doesNotMatch(html, /QUICK RUN/);
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    assert.equal(svgs.length, 2);
    for (const svg of svgs) assert.equal((await rasterise(svg)).width, CHART_WIDTH);
  });

  it('marks a quick run as not comparable', () => {
    assert.match(renderHtml(fixture(true)), /QUICK RUN/);
    assert.match(renderSvg(fixture(true)), /QUICK RUN/);
  });

  it('puts axis ticks on round numbers that cover the data', () => {
    for (const [min, max] of [[0, 112], [0, 0.37], [0, 1]] as const) {
      const t = ticks(min, max);
      assert.ok(t[0]! <= min && t[t.length - 1]! >= max, `${t} does not cover ${min}..${max}`);
      const step = t[1]! - t[0]!;
      assert.match(String(step / 10 ** Math.floor(Math.log10(step))), /^(1|2|5)(\.0+\d?)?$/);
      for (let i = 1; i < t.length; i++) assert.ok(Math.abs(t[i]! - t[i - 1]! - step) < step * 1e-9);
    }
  });
});
