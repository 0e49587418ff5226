/**
 * The pipeline's part of the stats topic: per segment latency and queue depth, per device (id) its
 * invokes, failures, busy fraction since the last report and, for Edge TPUs, health (PCIe ones probed
 * again at each report, for temperature).
 */
import type { Device, DeviceHealth } from '../../devices/device.js';
import { probePci } from '../../devices/pci-probe.js';
import type { PipelineStats } from '../../pipeline/stats.js';

export class PipelineStatsReporter {
  private readonly health = new Map<string, DeviceHealth>();
  /** When the last report was made and each device's engine time then: busy fractions are over the time between. */
  private lastStats = { at: performance.now(), busyMs: new Map<string, number>() };

  constructor(edgeTpus: readonly Device[]) {
    for (const d of edgeTpus) this.health.set(d.id, d.health);
  }

  /** JSON-serialisable; the health it shows is the latest probe's (refreshed in the background). */
  report(s: PipelineStats): Record<string, unknown> {
    void this.refreshHealth();
    const now = performance.now();
    const elapsed = Math.max(now - this.lastStats.at, 1e-3);
    const busyMs = new Map<string, number>();
    const devices: Record<string, Record<string, unknown>> = {};
    for (const [segment, seg] of s.segments.entries()) {
      for (const e of seg.executors) {
        busyMs.set(e.device, e.busyMsTotal);
        const busy = (e.busyMsTotal - (this.lastStats.busyMs.get(e.device) ?? 0)) / elapsed;
        const { problems, ...health } = this.health.get(e.device) ?? { problems: [] };
        devices[e.device] = { segment, invokes: e.count, failures: e.failures, busyFraction: Number(Math.min(1, busy).toFixed(3)), ...health, ...(problems.length > 0 && { problems }) };
      }
    }
    this.lastStats = { at: now, busyMs };
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
