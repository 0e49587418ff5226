/**
 * The appliance daemon: frames in over MQTT, one classifier (pipeline) for every camera, results out.
 * Each camera keeps only its newest waiting frame; at most `limits.queueDepth` frames are in the
 * pipeline at once, taken from the cameras in turn. Bad frames become error events and never stop
 * other cameras. systemd hears READY once the pipeline is built and MQTT is up, and WATCHDOG only
 * while frames keep completing (or nothing is waiting), so a hung accelerator gets the service restarted.
 *
 * A pipeline that fails (an executor died or hung, or a device it uses was unplugged) is rebuilt in
 * place with backoff, keeping the MQTT session; frames wait in their cameras' slots meanwhile. The
 * watchdog stays withheld until a rebuild succeeds, so systemd restarts the process if in-place
 * recovery takes longer than WatchdogSec; without a watchdog the daemon retries slowly for ever.
 */
import type { Logger } from 'pino';
import type { Device } from '../devices/device.js';
import { DeviceWatcher, usbPackageEvents } from '../devices/hotplug.js';
import { PipelineClosedError, PipelineFailedError, SegmentInvokeError } from '../pipeline/errors.js';
import type { Notifier } from '../systemd/notify.js';
import type { ClassifierFactory, FrameClassifier } from './classifier.js';
import { ProcessLeases } from './device-leases.js';
import { DEFAULT_RECOVERY, rebuildDelay, type RecoveryPolicy } from './recovery.js';
import type { CameraConfig } from './config-schema.js';
import { ConfigError, formatProblem } from './config-error.js';
import { loadConfig, type DaemonConfig } from './config-load.js';
import { BadFrameError, isPublishTopic, parseFrame, type Frame } from './frame-intake.js';
import { FrameSlot } from './frame-slot.js';
import { MqttSession, type IncomingMessage, type PublishProperties, type SessionStats } from './mqtt-session.js';
import { frameSubscription, topicsFor, type Topics } from './topics.js';

interface Counters {
  received: number;
  answered: number;
  expired: number;
  errors: number;
  /** Taken from the slot's own count at each stats tick. */
  dropped: number;
}

class Camera {
  readonly slot: FrameSlot<Frame & { sequence: number }>;
  readonly totals: Counters = { received: 0, answered: 0, expired: 0, errors: 0, dropped: 0 };
  /** Totals at the last stats tick, for per-interval rates. */
  lastTick: Counters = { ...this.totals };
  nextSequence = 1;
  lastErrorLog = -Infinity;
  suppressedErrors = 0;

  constructor(
    readonly id: string,
    readonly config: CameraConfig,
    readonly defaultPolicy: 'newest' | 'oldest',
  ) {
    this.slot = new FrameSlot(config.dropPolicy ?? defaultPolicy);
  }
}

export interface DaemonOptions {
  readonly config: DaemonConfig;
  readonly createClassifier: ClassifierFactory;
  readonly log: Logger;
  /** systemd notification; without one the daemon runs the same, unsupervised. */
  readonly notifier?: Notifier;
  /** When to rebuild a failed pipeline; DEFAULT_RECOVERY for what is left out. */
  readonly recovery?: Partial<RecoveryPolicy>;
  /**
   * Devices coming and going (not started yet: the daemon starts and stops it), watched from the start
   * and given to every build. Without one, a real watcher starts once a pipeline uses an Edge TPU
   * (CPU devices do not come and go).
   */
  readonly deviceWatcher?: DeviceWatcher;
  /** Where Edge TPU lease files go; /run/coral-pipe by default. */
  readonly leaseDir?: string;
}

/** What a reload did, also published on the events topic. */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** Why the new config was refused (the old one keeps running). */
  readonly errors?: readonly string[];
  /** Whether a new pipeline was built and swapped in. */
  readonly swappedModel?: boolean;
  /** Changed fields that only take effect on restart (the MQTT connection is never dropped by a reload). */
  readonly needsRestart?: readonly string[];
}

/** Fields whose change needs a new classifier. */
const classifierFields = (c: DaemonConfig) =>
  JSON.stringify([c.model, c.devices, c.topK, c.scoreThreshold, c.limits.maxImagePixels, c.limits.queueDepth]);

export interface CameraStats {
  readonly fps: number;
  readonly droppedFps: number;
  readonly expired: number;
  readonly errors: number;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export class Daemon {
  private readonly session: MqttSession;
  private readonly topics: Topics;
  private cameras = new Map<string, Camera>();
  private cameraOfTopic = new Map<string, Camera>();
  private reloading: Promise<unknown> = Promise.resolve();
  /** Replaced classifiers still answering their last frames; stop() waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  private statsTimer: NodeJS.Timeout | undefined;
  private turn = 0;
  private inFlight = 0;
  /** Frames answered or refused by the pipeline: what the watchdog counts as progress. */
  private progress = 0;
  /** Set when the pipeline as a whole failed (dead or hung executor): no more watchdog pings. */
  private pipelineFailure: Error | undefined;
  private stopping = false;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  private lastStatsAt = performance.now();
  private statusLine = '';
  private readonly recoveryPolicy: RecoveryPolicy;
  /** Rebuilds tried since the pipeline failed, the next one's timer, and why the last one failed. */
  private rebuildAttempts = 0;
  private rebuildTimer: NodeJS.Timeout | undefined;
  private buildError: string | undefined;

  private constructor(
    private config: DaemonConfig,
    private classifier: FrameClassifier,
    private readonly options: DaemonOptions,
    private readonly leases: ProcessLeases,
    private watcher: DeviceWatcher | undefined,
  ) {
    this.recoveryPolicy = { ...DEFAULT_RECOVERY, ...options.recovery };
    this.topics = topicsFor(config.mqtt.topicPrefix, config.node);
    this.setCameras(config);
    const m = config.mqtt;
    this.session = new MqttSession({
      url: m.url,
      clientId: m.clientId,
      ...(m.username !== undefined && { username: m.username }),
      ...config.secrets,
      keepalive: m.keepalive,
      availabilityTopic: this.topics.availability,
      subscriptions: this.subscriptions(),
      reconnectMinMs: m.reconnectMinMs,
      reconnectMaxMs: m.reconnectMaxMs,
      maxBufferedMessages: m.maxBufferedMessages,
      log: options.log,
      onMessage: (message) => this.onMessage(message),
    });
  }

  /** Builds the pipeline, connects to MQTT, then tells systemd it is ready. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config, log } = options;
    const leases = new ProcessLeases(options.leaseDir === undefined ? {} : { runtimeDir: options.leaseDir });
    const watcher = options.deviceWatcher;
    let classifier: FrameClassifier;
    try {
      await watcher?.start();
      classifier = await options.createClassifier(config, log, {
        ...(watcher && { devices: watcher.devices() }),
        claim: (ids) => leases.claim(ids),
      });
    } catch (err) {
      watcher?.stop();
      leases.releaseAll();
      throw err;
    }
    const daemon = new Daemon(config, classifier, options, leases, watcher);
    daemon.followDevices();
    await daemon.watchDevicesIfNeeded();
    daemon.publishStatus();
    await daemon.session.start();
    daemon.statusLine = daemon.describe(0, 0);
    options.notifier?.ready(daemon.statusLine);
    log.info({ event: 'ready', node: config.node, cameras: daemon.cameras.size, ...classifier.info }, 'daemon ready');
    daemon.startStatsTimer();
    const watchdogMs = options.notifier?.watchdogIntervalMs;
    if (watchdogMs !== undefined) {
      let lastProgress = 0;
      daemon.watchdogTimer = setInterval(() => {
        // Progress, or nothing to do: both mean the pipeline is not stuck. A failed one is never fine.
        const alive = daemon.pipelineFailure === undefined && (daemon.progress > lastProgress || daemon.inFlight === 0);
        if (alive) options.notifier!.watchdog();
        else log.warn({ event: 'watchdog-withheld', inFlight: daemon.inFlight, failed: daemon.pipelineFailure?.message }, 'no frame completed since the last watchdog tick');
        lastProgress = daemon.progress;
      }, watchdogMs);
    }
    return daemon;
  }

  /** Stops taking frames, answers those already in the pipeline, says `stopped`, disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.watchdogTimer);
    clearInterval(this.statsTimer);
    clearTimeout(this.rebuildTimer);
    this.watcher?.stop();
    this.options.notifier?.stopping('stopping');
    await this.reloading;
    await Promise.all([this.classifier.close(), ...this.retiring]);
    this.leases.releaseAll();
    await this.session.stop();
    this.options.log.info({ event: 'stopped' }, 'daemon stopped');
  }

  /** Edge TPUs leased by this process now. */
  leasedDevices(): string[] {
    return this.leases.ids();
  }

  /** Builds a classifier for `config` on the devices present now, leasing its Edge TPUs. */
  private build(config: DaemonConfig): Promise<FrameClassifier> {
    return this.options.createClassifier(config, this.options.log, {
      ...(this.watcher && { devices: this.watcher.devices() }),
      claim: (ids) => this.leases.claim(ids),
    });
  }

  /** Makes `built` the classifier for new frames; the old one answers what it holds, then closes. */
  private swapIn(built: FrameClassifier): void {
    const log = this.options.log;
    const old = this.classifier;
    this.classifier = built;
    this.pipelineFailure = undefined;
    this.buildError = undefined;
    this.rebuildAttempts = 0;
    clearTimeout(this.rebuildTimer);
    this.rebuildTimer = undefined;
    // A factory may hand out one shared instance; closing it would stop the one just swapped in.
    if (old === built) return;
    const closing = old
      .close()
      .catch((err: Error) => log.warn({ event: 'retire', err: err.message }, 'closing the old pipeline failed'))
      .finally(() => this.retiring.delete(closing));
    this.retiring.add(closing);
  }

  /** Starts the real device watcher once a pipeline uses an Edge TPU (CPU devices do not come and go). */
  private async watchDevicesIfNeeded(): Promise<void> {
    if (this.watcher || this.stopping || this.classifier.info.devices.flat().every((id) => id.startsWith('cpu:'))) return;
    const usbEvents = await usbPackageEvents().catch((err: Error) => {
      this.options.log.warn({ event: 'devices', err: err.message }, `USB hot-plug events unavailable (polling only): ${err.message}`);
      return undefined;
    });
    const watcher = new DeviceWatcher(usbEvents ? { usbEvents } : {});
    try {
      await watcher.start();
    } catch (err) {
      this.options.log.warn({ event: 'devices', err: (err as Error).message }, 'cannot watch devices; unplugged devices show up as executor failures only');
      return;
    }
    if (this.watcher || this.stopping) {
      watcher.stop();
      return;
    }
    this.watcher = watcher;
    this.followDevices();
  }

  /** A device the pipeline uses going away fails the pipeline (and so rebuilds it); one coming back retries at once. */
  private followDevices(): void {
    const watcher = this.watcher;
    if (!watcher) return;
    const log = this.options.log;
    watcher.on('removed', (device: Device) => {
      const segment = this.classifier.info.devices.findIndex((ids) => ids.includes(device.id));
      log.warn({ event: 'device-removed', device: device.id, inUse: segment >= 0 }, `device ${device.id} removed`);
      if (segment < 0 || this.stopping) return;
      this.publishEvent({ event: 'device-removed', device: device.id, segment });
      this.pipelineFailed(new PipelineFailedError(`segment ${segment}`, device.id, 'was removed'));
    });
    watcher.on('added', (device: Device) => {
      log.info({ event: 'device-added', device: device.id }, `device ${device.id} added`);
      if (this.pipelineFailure === undefined || this.stopping) return;
      clearTimeout(this.rebuildTimer);
      this.rebuildTimer = undefined;
      void this.rebuild();
    });
    watcher.on('problem', (err: Error) => log.warn({ event: 'devices', err: err.message }, `device watch: ${err.message}`));
  }

  private scheduleRebuild(): void {
    if (this.stopping || this.rebuildTimer !== undefined) return;
    const delay = rebuildDelay(this.recoveryPolicy, this.rebuildAttempts);
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = undefined;
      void this.rebuild();
    }, delay);
  }

  /** One rebuild attempt, in turn with reloads; schedules the next one if it fails. Never rejects. */
  private rebuild(): Promise<void> {
    const run = this.reloading.then(() => this.rebuildOnce());
    this.reloading = run.catch(() => undefined);
    return run.catch((err: Error) => this.options.log.error({ event: 'rebuild', err: err.message }, `rebuild crashed: ${err.message}`));
  }

  private async rebuildOnce(): Promise<void> {
    // A reload may have swapped in a working pipeline meanwhile.
    if (this.stopping || this.pipelineFailure === undefined) return;
    const log = this.options.log;
    const attempt = ++this.rebuildAttempts;
    let built: FrameClassifier;
    try {
      built = await this.build(this.config);
    } catch (err) {
      const reason = String((err as Error).message ?? err).split('\n')[0]!;
      this.buildError = reason;
      const retryInMs = rebuildDelay(this.recoveryPolicy, attempt);
      if (attempt === this.recoveryPolicy.fastAttempts) {
        const text = `cannot serve the config: ${reason}; retrying every ${Math.round(retryInMs / 1000)} s`;
        log.error({ event: 'cannot-serve', attempts: attempt, err: reason, retryInMs }, text);
        this.publishEvent({ event: 'cannot-serve', attempts: attempt, error: reason, retryInMs });
        this.options.notifier?.status(text);
      } else {
        log.warn({ event: 'rebuild-failed', attempt, err: reason, retryInMs }, `pipeline rebuild ${attempt} failed: ${reason}`);
        this.publishEvent({ event: 'rebuild-failed', attempt, error: reason, retryInMs });
      }
      this.publishStatus();
      this.scheduleRebuild();
      return;
    }
    if (this.stopping) {
      await built.close();
      return;
    }
    this.swapIn(built);
    await this.watchDevicesIfNeeded();
    const info = built.info;
    log.info({ event: 'pipeline-rebuilt', attempts: attempt, devices: info.devices }, `pipeline rebuilt after ${attempt} attempt(s)`);
    this.publishEvent({ event: 'pipeline-rebuilt', attempts: attempt, model: info.model, devices: info.devices });
    this.publishStatus();
    this.statusLine = this.describe(0, 0);
    this.options.notifier?.status(this.statusLine);
    this.pump();
  }

  /**
   * Re-reads the config file (SIGHUP, or the file changed) and applies it. An invalid config or a
   * pipeline that fails to build is refused with the reason in the log, on the events topic and in the
   * systemd status, and the running pipeline keeps serving. Reloads run one at a time.
   */
  reloadFile(): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.reload());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reload(): Promise<ReloadOutcome> {
    const log = this.options.log;
    if (this.stopping) return { ok: false, errors: ['daemon is stopping'] };
    let next: DaemonConfig;
    try {
      next = await loadConfig(this.config.file);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.problems.map(formatProblem) : [String((err as Error).message)];
      return this.refuse(errors);
    }
    // The connection stays as it is: changes to it wait for a restart.
    const needsRestart = [
      ...(JSON.stringify(next.mqtt) !== JSON.stringify(this.config.mqtt) || JSON.stringify(next.secrets) !== JSON.stringify(this.config.secrets) ? ['mqtt'] : []),
      ...(next.node !== this.config.node ? ['node'] : []),
    ];
    const applied: DaemonConfig = { ...next, mqtt: this.config.mqtt, node: this.config.node, secrets: this.config.secrets };
    let swappedModel = false;
    if (classifierFields(applied) !== classifierFields(this.config)) {
      let built: FrameClassifier;
      try {
        built = await this.build(applied);
      } catch (err) {
        return this.refuse([`new pipeline failed to build: ${(err as Error).message}`]);
      }
      if (this.stopping) {
        await built.close();
        return { ok: false, errors: ['daemon is stopping'] };
      }
      // Frames already taken stay with the old classifier, which close() lets finish before freeing it.
      this.swapIn(built);
      swappedModel = true;
      await this.watchDevicesIfNeeded();
    }
    if (applied.log.level !== this.config.log.level) log.level = applied.log.level;
    this.config = applied;
    this.setCameras(applied);
    await this.session.setSubscriptions(this.subscriptions());
    this.startStatsTimer();
    this.publishStatus();
    this.pump();
    const outcome: ReloadOutcome = { ok: true, swappedModel, ...(needsRestart.length > 0 && { needsRestart }) };
    this.publishEvent({ event: 'reload', ...outcome, model: this.classifier.info.model });
    if (needsRestart.length > 0) log.warn({ event: 'reload', needsRestart }, `config reloaded; changes to ${needsRestart.join(', ')} take effect on restart`);
    log.info({ event: 'reload', swappedModel, model: this.classifier.info.model.name }, 'config reloaded');
    this.options.notifier?.status(this.statusLine);
    return outcome;
  }

  private refuse(errors: readonly string[]): ReloadOutcome {
    this.options.log.error({ event: 'reload', errors }, `config rejected, still running the previous one: ${errors[0]}`);
    this.publishEvent({ event: 'reload', ok: false, errors });
    this.options.notifier?.status(`config rejected: ${errors[0]}; ${this.statusLine}`);
    return { ok: false, errors };
  }

  private publishEvent(event: Record<string, unknown>): void {
    const payload = JSON.stringify({ ...event, time: new Date().toISOString() });
    this.session.publish({ topic: this.topics.events, payload, qos: 1, properties: { contentType: 'application/json' } });
  }

  /** Cameras whose config is unchanged keep their slot and counters. */
  private setCameras(config: DaemonConfig): void {
    const cameras = new Map<string, Camera>();
    const ofTopic = new Map<string, Camera>();
    for (const [id, camera] of Object.entries(config.cameras)) {
      const old = this.cameras.get(id);
      const same = old && JSON.stringify([old.config, old.defaultPolicy]) === JSON.stringify([camera, config.limits.dropPolicy]);
      const cam = same ? old : new Camera(id, camera, config.limits.dropPolicy);
      cameras.set(id, cam);
      for (const topic of camera.topics) ofTopic.set(topic, cam);
    }
    this.cameras = cameras;
    this.cameraOfTopic = ofTopic;
  }

  private subscriptions(): string[] {
    return [...this.cameraOfTopic.keys()].map((t) => frameSubscription(t, this.config.mqtt.sharedGroup));
  }

  private startStatsTimer(): void {
    clearInterval(this.statsTimer);
    // A reload that finishes while stop() waits for it must not leave a timer holding the process open.
    if (this.stopping) return;
    this.statsTimer = setInterval(() => this.publishStats(), this.config.statsIntervalSeconds * 1000);
  }

  mqttStats(): SessionStats {
    return this.session.stats();
  }

  cameraTotals(id: string): Readonly<Counters> | undefined {
    const cam = this.cameras.get(id);
    return cam && { ...cam.totals, dropped: cam.slot.dropped };
  }

  private onMessage(message: IncomingMessage): void {
    const cam = this.cameraOfTopic.get(message.topic);
    if (cam === undefined || this.stopping) return;
    try {
      const frame = parseFrame(cam.id, message, this.config.limits);
      cam.totals.received++;
      cam.slot.put({ ...frame, sequence: frame.sequence ?? cam.nextSequence++ });
      this.pump();
    } catch (err) {
      const reason = err instanceof BadFrameError ? err.reason : String((err as Error).message ?? err);
      this.reportBadFrame(cam, reason, message.properties.responseTopic, message.properties.correlationData);
    }
  }

  /** Starts frames while there is room in the pipeline, one camera after another. */
  private pump(): void {
    // While the pipeline is down, frames wait in their slots (newest kept) for the rebuilt one.
    while (!this.stopping && this.pipelineFailure === undefined && this.inFlight < this.config.limits.queueDepth) {
      const next = this.nextFrame();
      if (next === undefined) return;
      const [cam, frame] = next;
      this.inFlight++;
      void this.process(cam, frame).then((progressed) => {
        this.inFlight--;
        if (progressed) this.progress++;
        this.pump();
      });
    }
  }

  private nextFrame(): [Camera, Frame & { sequence: number }] | undefined {
    const cams = [...this.cameras.values()];
    for (let i = 0; i < cams.length; i++) {
      const cam = cams[(this.turn + i) % cams.length]!;
      const frame = cam.slot.take();
      if (frame === undefined) continue;
      if (frame.expiresAt !== undefined && performance.now() > frame.expiresAt) {
        cam.totals.expired++;
        continue;
      }
      this.turn = (this.turn + i + 1) % cams.length;
      return [cam, frame];
    }
    return undefined;
  }

  /** Classifies and answers one frame; resolves false when the pipeline itself is down. Never rejects. */
  private async process(cam: Camera, frame: Frame & { sequence: number }): Promise<boolean> {
    // Pinned for this frame: a reload swaps this.classifier, and the frame stays with the one it entered.
    const classifier = this.classifier;
    const startedAt = performance.now();
    let classification;
    try {
      classification = await classifier.classify(frame.image, cam.config.crop);
    } catch (err) {
      // libvips repeats its complaint over several lines; the first says it.
      const reason = String((err as Error).message ?? err).split('\n')[0]!;
      this.reportBadFrame(cam, reason, frame.responseTopic, frame.correlationData, frame.sequence, err);
      const down = err instanceof PipelineFailedError || err instanceof PipelineClosedError;
      if (down && classifier === this.classifier) this.pipelineFailed(err);
      return !down;
    }
    cam.totals.answered++;
    const info = classifier.info;
    const result = {
      camera: cam.id,
      sequence: frame.sequence,
      timestamp: new Date(frame.timestamp).toISOString(),
      top: classification.top,
      model: info.model,
      segments: info.segments,
      devices: info.devices,
      latencyMs: {
        queue: round(startedAt - frame.receivedAt),
        decode: round(classification.decodeMs),
        inference: round(classification.inferenceMs),
        total: round(performance.now() - frame.receivedAt),
      },
    };
    this.publishFrameReply(this.topics.result(cam.id), JSON.stringify(result), frame.sequence, frame);
    return true;
  }

  /** The current pipeline is dead: say so everywhere once, and rebuild it (the watchdog stays withheld until then). */
  private pipelineFailed(err: Error): void {
    if (this.pipelineFailure !== undefined) return;
    this.pipelineFailure = err;
    const where = err instanceof PipelineFailedError ? { segment: err.segment, device: err.device } : {};
    this.options.log.error({ event: 'pipeline-failed', ...where, err: err.message }, err.message);
    this.publishEvent({ event: 'pipeline-failed', ...where, error: err.message });
    this.publishStatus();
    // PipelineFailedError's message already starts with "pipeline failed".
    this.options.notifier?.status(err instanceof PipelineFailedError ? err.message : `pipeline failed: ${err.message}`);
    this.scheduleRebuild();
  }

  /** Publishes on `topic`, and to the frame's v5 response topic too when it named one. */
  private publishFrameReply(topic: string, payload: string, sequence: number | undefined, frame: { timestamp?: number; responseTopic?: string; correlationData?: Buffer }): void {
    const m = this.config.mqtt;
    const properties: PublishProperties = {
      contentType: 'application/json',
      userProperties: {
        ...(sequence !== undefined && { sequence: String(sequence) }),
        timestamp: String(frame.timestamp ?? Date.now()),
      },
      ...(m.resultExpirySeconds !== undefined && { messageExpiryInterval: m.resultExpirySeconds }),
      ...(frame.correlationData !== undefined && { correlationData: frame.correlationData }),
    };
    this.session.publish({ topic, payload, qos: m.resultQos, properties });
    // Also reached with a refused frame's raw response topic: never publish where the broker would drop us.
    if (frame.responseTopic !== undefined && isPublishTopic(frame.responseTopic)) this.session.publish({ topic: frame.responseTopic, payload, qos: m.resultQos, properties });
  }

  /** Counts, publishes an error event, and logs at most once per camera per stats interval. */
  private reportBadFrame(cam: Camera, reason: string, responseTopic?: string, correlationData?: Buffer, sequence?: number, err?: unknown): void {
    cam.totals.errors++;
    const payload = JSON.stringify({ camera: cam.id, ...(sequence !== undefined && { sequence }), error: reason, time: new Date().toISOString() });
    this.publishFrameReply(this.topics.error(cam.id), payload, sequence, {
      ...(responseTopic !== undefined && { responseTopic }),
      ...(correlationData !== undefined && { correlationData }),
    });
    const now = performance.now();
    if (now - cam.lastErrorLog < this.config.statsIntervalSeconds * 1000) {
      cam.suppressedErrors++;
      return;
    }
    // Segment and device tell journald users which accelerator misbehaves.
    const where = err instanceof SegmentInvokeError || err instanceof PipelineFailedError ? { segment: err.segment, device: err.device } : {};
    this.options.log.warn({ event: 'bad-frame', camera: cam.id, ...where, reason, suppressed: cam.suppressedErrors }, `camera ${cam.id}: frame refused: ${reason}`);
    cam.lastErrorLog = now;
    cam.suppressedErrors = 0;
  }

  private publishStatus(): void {
    const info = this.classifier.info;
    const status = {
      node: this.config.node,
      state: this.pipelineFailure === undefined ? 'running' : this.rebuildAttempts >= this.recoveryPolicy.fastAttempts ? 'cannot-serve' : 'failed',
      ...(this.pipelineFailure !== undefined && { error: this.pipelineFailure.message }),
      ...(this.buildError !== undefined && { rebuildError: this.buildError, rebuildAttempts: this.rebuildAttempts }),
      since: this.startedAt.toISOString(),
      model: info.model,
      segments: info.segments,
      devices: info.devices,
      cameras: Object.fromEntries([...this.cameras].map(([id, cam]) => [id, { topics: cam.config.topics }])),
      sharedGroup: this.config.mqtt.sharedGroup ?? null,
    };
    this.session.publishRetained({ topic: this.topics.status, payload: JSON.stringify(status), qos: 1, properties: { contentType: 'application/json' } });
  }

  private publishStats(): void {
    const now = performance.now();
    const seconds = Math.max((now - this.lastStatsAt) / 1000, 1e-3);
    this.lastStatsAt = now;
    const cameras: Record<string, CameraStats> = {};
    let fps = 0;
    let droppedFps = 0;
    for (const cam of this.cameras.values()) {
      const totals = { ...cam.totals, dropped: cam.slot.dropped };
      const d = (k: keyof Counters) => totals[k] - cam.lastTick[k];
      const stats = {
        fps: round(d('answered') / seconds),
        droppedFps: round((d('dropped') + d('expired')) / seconds),
        expired: totals.expired,
        errors: totals.errors,
      };
      cameras[cam.id] = stats;
      fps += stats.fps;
      droppedFps += stats.droppedFps;
      cam.lastTick = totals;
    }
    const mqtt = this.session.stats();
    const payload = {
      time: new Date().toISOString(),
      intervalSeconds: round(seconds),
      cameras,
      inFlight: this.inFlight,
      pipeline: this.classifier.stats(),
      mqtt: { connected: mqtt.connected, protocolVersion: mqtt.protocolVersion, reconnects: mqtt.reconnects, buffered: mqtt.buffered, droppedResults: mqtt.dropped },
    };
    this.session.publish({ topic: this.topics.stats, payload: JSON.stringify(payload), qos: 0, properties: { contentType: 'application/json' } });
    this.statusLine = this.describe(fps, droppedFps);
    this.options.notifier?.status(this.statusLine);
  }

  /** The systemd STATUS line: `3 devices, model X in 3 segments, 41 fps, 0.4% dropped`. */
  private describe(fps: number, droppedFps: number): string {
    const info = this.classifier.info;
    const devices = new Set(info.devices.flat()).size;
    const offered = fps + droppedFps;
    const dropped = offered === 0 ? 0 : (100 * droppedFps) / offered;
    return `${devices} device${devices === 1 ? '' : 's'}, model ${info.model.name} in ${info.segments} segment${info.segments === 1 ? '' : 's'}, ${round(fps, 1)} fps, ${round(dropped, 1)}% dropped`;
  }
}
