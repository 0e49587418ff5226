/**
 * The pipeline's part of the stats topic: per segment latency and queue depth, per device (id) its
 * invokes, failures, the fractions of the time since the last report it was busy, idle (waiting for
 * items: a segment before it is slower) and blocked (holding a finished item: one after it is slower)
 * and, for Edge TPUs, health (PCIe ones probed again at each report, for temperature).
 */
import type { Device, DeviceHealth } from '../../devices/device.js';
import { probePci } from '../../devices/pci-probe.js';
import type { PipelineStats } from '../../pipeline/stats.js';

/** An executor's busy, idle and blocked ms so far. */
type Times = [number, number, number];

export class PipelineStatsReporter {
  private readonly health = new Map<string, DeviceHealth>();
  /** When the last report was made and each device's times then: fractions are over the time between. */
  private lastStats = { at: performance.now(), times: new Map<string, Times>() };

  constructor(edgeTpus: readonly Device[]) {
    for (const d of edgeTpus) this.health.set(d.id, d.health);
  }

  /** JSON-serialisable; the health it shows is the latest probe's (refreshed in the background). */
  report(s: PipelineStats): Record<string, unknown> {
    void this.refreshHealth();
    const now = performance.now();
    const elapsed = Math.max(now - this.lastStats.at, 1e-3);
    const times = new Map<string, Times>();
    const devices: Record<string, Record<string, unknown>> = {};
    for (const [segment, seg] of s.segments.entries()) {
      for (const e of seg.executors) {
        const sofar: Times = [e.busyMsTotal, e.idleMsTotal, e.blockedMsTotal];
        const then = this.lastStats.times.get(e.device) ?? [0, 0, 0];
        const [busy, idle, blocked] = sofar.map((ms, i) => Number(Math.min(1, (ms - then[i]!) / elapsed).toFixed(3)));
        times.set(e.device, sofar);
        const { problems, ...health } = this.health.get(e.device) ?? { problems: [] };
        devices[e.device] = {
          segment,
          invokes: e.count,
          failures: e.failures,
          busyFraction: busy,
          idleFraction: idle,
          blockedFraction: blocked,
          ...health,
          ...(problems.length > 0 && { problems }),
        };
      }
    }
    this.lastStats = { at: now, times };
    return {
      devices,
      inFlight: s.inFlight,
      latencyMsP50: s.latencyMsP50,
      latencyMsP99: s.latencyMsP99,
      segments: s.segments.map((seg) => ({
        name: seg.name,
        devices: seg.devices,
        count: seg.count,
        failures: seg.failures,
        busyMsMean: Number(seg.busyMsMean.toFixed(3)),
        latencyMsP50: seg.latencyMsP50,
        latencyMsP99: seg.latencyMsP99,
        queueDepth: seg.queueDepth,
      })),
    };
  }

  private async refreshHealth(): Promise<void> {
    if (![...this.health.keys()].some((id) => id.startsWith('pci:'))) return;
    for (const device of await probePci().catch(() => [])) if (this.health.has(device.id)) this.health.set(device.id, device.health);
  }
}
