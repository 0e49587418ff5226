/**
 * What the daemon says about itself over MQTT: events (non-retained, one per happening), the retained
 * status (so a dashboard joining late sees the current state), and periodic per-camera stats; plus the
 * one-line summary systemd shows as STATUS.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { deviceTypeOf } from '../../devices/device.js';
import type { ClassifierInfo } from './classifier.js';
import type { Cameras, Counters } from './frame-intake.js';
import type { Connection } from '../mqtt/connection.js';
import { round } from './frame-path.js';
import type { Serving } from './serving.js';

export interface CameraStats {
  readonly fps: number;
  readonly droppedFps: number;
  readonly expired: number;
  readonly errors: number;
}

/** The pipeline's health as the status topic shows it. */
export interface PipelineHealth {
  /** The daemon has stopped serving (a clean stop). */
  readonly stopped: boolean;
  /** Why the pipeline failed; undefined while it serves. */
  readonly failure: Error | undefined;
  readonly rebuildAttempts: number;
  /** Why the last rebuild failed. */
  readonly rebuildError: string | undefined;
  /** Enough rebuilds failed that recovery has slowed down. */
  readonly cannotServe: boolean;
}


export class StatusReports {
  private readonly startedAt = new Date();
  private statsAt = performance.now();
  private readonly gc = new GcPauses();

  /** performance.now() of the last stats (or of the start). */
  get lastStatsAt(): number {
    return this.statsAt;
  }

  event({ session, topics }: Connection, event: Record<string, unknown>): void {
    const payload = JSON.stringify({ ...event, time: new Date().toISOString() });
    session.publish({ topic: topics.events, payload, qos: 1, properties: { contentType: 'application/json' } });
  }

  /** The retained status of what `serving` serves, on its connection (or on `on`, a connection being left). */
  status({ config, classifier, connection }: Serving, cameras: Cameras, health: PipelineHealth, on: Connection = connection): void {
    const info = classifier.info;
    const status = {
      node: config.node,
      state: health.stopped ? 'stopped' : health.failure === undefined ? 'running' : health.cannotServe ? 'cannot-serve' : 'failed',
      ...(health.failure !== undefined && { error: health.failure.message }),
      ...(health.rebuildError !== undefined && { rebuildError: health.rebuildError, rebuildAttempts: health.rebuildAttempts }),
      since: this.startedAt.toISOString(),
      model: info.model,
      segments: info.segments,
      strategy: info.strategy ?? null,
      // Per segment: its devices (replicas), the tensors it reads and writes, and the cut after it.
      layout: info.devices.map((devices, i) => ({ devices, ...info.layout?.[i] })),
      devices: Object.fromEntries(info.devices.flatMap((ids, segment) => ids.map((id) => [id, { segment, ...(info.hardware?.[id] ?? { type: deviceTypeOf(id) }) }]))),
      cameras: Object.fromEntries([...cameras.entries()].map(([id, cam]) => [id, { topics: cam.config.topics }])),
      sharedGroup: config.mqtt.sharedGroup ?? null,
    };
    on.session.publishRetained({ topic: on.topics.status, payload: JSON.stringify(status), qos: 1, properties: { contentType: 'application/json' } });
  }

  /** Publishes the rates since the last tick; returns the totals across cameras for the STATUS line. */
  stats({ session, topics }: Connection, cameras: Cameras, inFlight: number, pipeline: Record<string, unknown>, frameMs: Record<string, number>): { fps: number; droppedFps: number } {
    const now = performance.now();
    const seconds = Math.max((now - this.statsAt) / 1000, 1e-3);
    this.statsAt = now;
    const perCamera: Record<string, CameraStats> = {};
    let fps = 0;
    let droppedFps = 0;
    for (const cam of cameras.values()) {
      const totals = { ...cam.totals, dropped: cam.slot.dropped };
      const d = (k: keyof Counters) => totals[k] - cam.lastTick[k];
      const stats = {
        fps: round(d('answered') / seconds),
        droppedFps: round((d('dropped') + d('expired')) / seconds),
        expired: totals.expired,
        errors: totals.errors,
      };
      perCamera[cam.id] = stats;
      fps += stats.fps;
      droppedFps += stats.droppedFps;
      cam.lastTick = totals;
    }
    const mqtt = session.stats();
    const payload = {
      time: new Date().toISOString(),
      intervalSeconds: round(seconds),
      cameras: perCamera,
      inFlight,
      // Mean ms per frame by step since the last message (frames/frame-path.ts).
      frameMs,
      pipeline,
      memory: memoryMiB(),
      gc: this.gc.take(),
      mqtt: { connected: mqtt.connected, protocolVersion: mqtt.protocolVersion, reconnects: mqtt.reconnects, buffered: mqtt.buffered, droppedResults: mqtt.dropped },
    };
    session.publish({ topic: topics.stats, payload: JSON.stringify(payload), qos: 0, properties: { contentType: 'application/json' } });
    return { fps, droppedFps };
  }

  /** Stops counting garbage collections (the daemon has stopped). */
  close(): void {
    this.gc.close();
  }
}

/** A `gc` entry's kind (constants.NODE_PERFORMANCE_GC_*): Node puts it in `detail`, which its typings leave out. */
export function gcKind(entry: PerformanceEntry): number | undefined {
  return (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
}

/**
 * The main thread's garbage-collection pauses, counted until taken. A flood of frames allocates tens of
 * MB/s of short-lived buffers, which can keep V8 in back-to-back mark-compacts (docs/benchmarks.md);
 * `major` per interval shows it on a running appliance.
 */
export class GcPauses {
  private major = 0;
  private minor = 0;
  private ms = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKind(entry);
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) this.minor++;
      this.ms += entry.duration;
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Mark-compacts, scavenges and the ms of every pause (incremental marking steps too) since the last take. */
  take(): { major: number; minor: number; ms: number } {
    const taken = { major: this.major, minor: this.minor, ms: round(this.ms) };
    this.major = this.minor = this.ms = 0;
    return taken;
  }

  close(): void {
    this.observer.disconnect();
  }
}

/**
 * The process's memory by kind, in MiB, so that growth on a long-running appliance can be told apart:
 * JavaScript objects (heap), buffers outside it (frames, tensors, WebAssembly memories count as
 * arrayBuffers) and native memory (libvips, the addon), which only shows in rss.
 */
function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
  return { rss: mib(m.rss), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers) };
}

/** The systemd STATUS line: `3 devices, model X in 3 segments, 41 fps, 0.4% dropped`. */
export function describe(info: ClassifierInfo, fps: number, droppedFps: number): string {
  const devices = new Set(info.devices.flat()).size;
  const offered = fps + droppedFps;
  const dropped = offered === 0 ? 0 : (100 * droppedFps) / offered;
  return `${devices} device${devices === 1 ? '' : 's'}, model ${info.model.name} in ${info.segments} segment${info.segments === 1 ? '' : 's'}, ${round(fps, 1)} fps, ${round(dropped, 1)}% dropped`;
}
