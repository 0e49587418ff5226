/**
 * Soak: `coral-pipe daemon` in its own process (as systemd runs it), mobilenet in 2 segments, 4 cameras
 * publishing 640x480 JPEGs faster than the pipeline runs, for CORAL_PIPE_SOAK_SECONDS (60 by default;
 * scripts/soak.sh runs it for hours). Nothing is logged at error level, every frame is answered or
 * dropped (no error events), and SIGTERM still stops it cleanly; on runs of 6 minutes or more the
 * daemon's RSS at the end is within 10% of its RSS after warm-up and is not still growing over the
 * second half. CORAL_PIPE_SOAK_MODEL picks another model under the test data.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { topicsFor } from '../../src/daemon/mqtt/topics.js';
import { testDataPath } from '../../src/testdata.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { Observer } from '../helpers/mqtt-observer.js';
import { cliPath } from '../helpers/cli.js';

const SECONDS = Number(process.env.CORAL_PIPE_SOAK_SECONDS ?? 60);
const MODEL = process.env.CORAL_PIPE_SOAK_MODEL ?? 'models/mobilenet_v2_1.0_224_quant.tflite';
/** Warm-up: pipeline built, WASM memories and sharp's caches at their working size. */
const WARM_UP_SECONDS = Math.min(20, SECONDS / 4);
const CAMERAS = ['c0', 'c1', 'c2', 'c3'];
/** Per camera; four cameras at this rate offer more than two CPU segments answer. */
const FPS = 30;
const cli = cliPath;

/**
 * RSS growth over the second half that fails the soak once measured. The daemon's RSS is a sawtooth:
 * native memory trimmed every 30 s, and the executor workers' V8 heaps, which grow by a few MiB and are
 * collected about every half hour; a one-hour run's second half still shows 0.2 MiB/min of the
 * latter. What this catches is growth like glibc's unreturned arenas before the trim: 0.8-1.3 MiB/min.
 */
const MAX_GROWTH_MIB_PER_MIN = 0.3;
/** The trend is fitted through the highest RSS of each trim period, so the trims do not make a ramp. */
const WINDOW_SECONDS = 30;
/** Fewer windows than this in the second half (runs under 6 min, as in CI) give no trend. */
const MIN_WINDOWS = 6;

/** Least-squares slope of y over x, and its standard error. */
function slope(points: readonly (readonly [number, number])[]): { slope: number; stderr: number } {
  const n = points.length;
  const mean = (f: (p: readonly [number, number]) => number) => points.reduce((a, p) => a + f(p), 0) / n;
  const [mx, my] = [mean((p) => p[0]), mean((p) => p[1])];
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const b = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  const residual = points.reduce((a, [x, y]) => a + (y - my - b * (x - mx)) ** 2, 0);
  return { slope: b, stderr: Math.sqrt(residual / (n - 2) / sxx) };
}

/** Resident set of a process in MiB, from /proc (the appliance runs Linux). */
function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Number((kb / 1024).toFixed(1));
}

describe('soak', () => {
  it(`serves 4 overloaded cameras for ${SECONDS} s with no errors${SECONDS >= 360 ? ' and flat memory' : ''}`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
    assert.ok(SECONDS >= 8, 'CORAL_PIPE_SOAK_SECONDS must be at least 8');
    const broker = await Mosquitto.start();
    t.after(() => broker.close());
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-soak-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const node = `soak-${process.pid}`;
    const frameTopic = (c: string) => `soak/${process.pid}/${c}`;
    const file = path.join(dir, 'soak.yaml');
    await writeFile(
      file,
      [
        `node: ${node}`,
        `mqtt: {url: "${broker.url}", topicPrefix: soak, resultQos: 0}`,
        `model: {file: ${JSON.stringify(testDataPath(MODEL))}, segments: 2, labels: ${JSON.stringify(testDataPath('labels/imagenet_labels.txt'))}}`,
        'devices: [cpu:0, cpu:1]',
        'cameras:',
        ...CAMERAS.map((c) => `  ${c}: ${frameTopic(c)}`),
        'statsIntervalSeconds: 5',
        '',
      ].join('\n'),
    );
    const topics = topicsFor('soak', node);
    // Frames: four real photos at a camera's usual 640x480.
    const frames = await Promise.all(
      ['cat_720p.jpg', 'parrot.jpg', 'hot_dog.jpg', 'owl.jpg'].map((f) => sharp(testDataPath(`images/${f}`)).resize(640, 480, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer()),
    );
    const observer = await Observer.connect(broker.url, [`soak/${node}/#`]);
    t.after(() => observer.close());

    const child = spawn(process.execPath, [cli, 'daemon', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    t.after(() => child.kill('SIGKILL'));
    await observer.nextText(topics.availability, 'online', 0, 60_000);

    // Counted and let go as they arrive: hours of results must not pile up in this process.
    const carried = { results: 0, errors: 0, stats: 0 };
    const started = performance.now();
    type Stats = { cameras: Record<string, { droppedFps: number; errors: number }>; memory: Record<string, number> };
    let lastStats: Stats | undefined;
    const memory: { s: number; split: Record<string, number> }[] = [];
    observer.client.on('message', (topic, payload) => {
      if (CAMERAS.some((c) => topic === topics.result(c))) carried.results++;
      else if (CAMERAS.some((c) => topic === topics.error(c))) carried.errors++;
      else if (topic === topics.stats) {
        carried.stats++;
        lastStats = JSON.parse(payload.toString()) as Stats;
        memory.push({ s: Math.round((performance.now() - started) / 1000), split: lastStats.memory });
      }
      observer.seen.length = 0;
    });
    let published = 0;
    const publisher = setInterval(() => {
      for (const [i, c] of CAMERAS.entries()) observer.client.publish(frameTopic(c), frames[(published + i) % frames.length]!, { qos: 0 });
      published += CAMERAS.length;
    }, 1000 / FPS);
    t.after(() => clearInterval(publisher));

    const samples: { s: number; rss: number }[] = [];
    while (performance.now() - started < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(child.exitCode, null, `daemon exited:\n${out.slice(-2000)}`);
      const s = Math.round((performance.now() - started) / 1000);
      samples.push({ s, rss: rssMiB(child.pid!) });
    }
    clearInterval(publisher);
    // RSS swings by a few percent with garbage collection: compare medians of five one-second samples.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const warm = median(samples.filter((x) => x.s >= WARM_UP_SECONDS).slice(0, 5).map((x) => x.rss));
    const end = median(samples.slice(-5).map((x) => x.rss));
    const peak = Math.max(...samples.map((x) => x.rss));
    // The trend of the second half, when any warm-up growth is over: a slow leak passes the 10% check
    // on a short run and still kills a 1 GB board within a day.
    const windows = new Map<number, number>();
    for (const x of samples.filter((x) => x.s >= SECONDS / 2)) {
      const w = Math.floor(x.s / WINDOW_SECONDS);
      windows.set(w, Math.max(windows.get(w) ?? 0, x.rss));
    }
    const trend = windows.size >= MIN_WINDOWS ? slope([...windows].map(([w, rss]) => [(w * WINDOW_SECONDS) / 60, rss])) : undefined;
    if (trend) console.log(`soak RSS trend over the second half: ${trend.slope.toFixed(3)} ± ${(2 * trend.stderr).toFixed(3)} MiB/min (${(trend.slope * 60 * 24).toFixed(0)} MiB a day)`);
    else console.log(`soak RSS trend: the second half is too short for one (under ${MIN_WINDOWS} windows of ${WINDOW_SECONDS} s)`);
    console.log(`soak: ${SECONDS} s, ${published} frames offered, ${carried.results} answered (${(carried.results / SECONDS).toFixed(1)}/s), ${carried.errors} error events`);
    console.log(`soak RSS (MiB, medians of 5 s): after warm-up (${WARM_UP_SECONDS} s) ${warm}, end ${end}, peak ${peak}; every 10 s: ${samples.filter((x) => x.s % 10 === 0).map((x) => x.rss).join(' ')}`);
    for (const m of memory) console.log(`soak memory at ${m.s} s (MiB): ${JSON.stringify(m.split)}`);

    const stopped = observer.nextText(topics.availability, 'stopped', 0, 60_000);
    child.kill('SIGTERM');
    assert.equal(await exit, 0, out.slice(-2000));
    await stopped;

    const logged = out.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    const errors = logged.filter((l) => l.level >= 50).map((l) => l.msg);
    console.log(`soak log: ${logged.length} lines, ${logged.filter((l) => l.level === 40).length} warnings, ${errors.length} errors`);
    assert.deepEqual(errors, []);
    assert.equal(carried.errors, 0);
    assert.ok(carried.results > 0 && carried.stats > 0);
    // Overloaded: the cameras offered more than the pipeline answered, and the surplus was dropped, not queued.
    assert.ok(carried.results < published * 0.9, `${carried.results} of ${published} answered: not overloaded`);
    assert.ok(Object.values(lastStats!.cameras).some((c) => c.droppedFps > 0), JSON.stringify(lastStats));
    // Within a minute, garbage collection and the trims swing RSS by ±15% on a loaded 2-core machine
    // (CI saw 392 -> 451 MiB with no leak), so memory is judged only on runs long enough for a trend;
    // that dropped frames are not kept is test/daemon/frames/frame-intake.test.ts's to show.
    if (!trend) return;
    assert.ok(end <= warm * 1.1, `RSS grew from ${warm} MiB after warm-up to ${end} MiB at the end (more than 10%)`);
    // Fails only on evidence: the trend's lower 95% bound above the limit.
    assert.ok(trend.slope - 2 * trend.stderr <= MAX_GROWTH_MIB_PER_MIN, `RSS still growing in the second half: ${trend.slope.toFixed(3)} ± ${(2 * trend.stderr).toFixed(3)} MiB/min`);
  });
});
