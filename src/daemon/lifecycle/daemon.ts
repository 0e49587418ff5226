/**
 * The appliance daemon: frames in over MQTT, one classifier (pipeline) for every camera, results out.
 * Each camera keeps only its newest waiting frame; at most `limits.queueDepth` frames (by default
 * 2 x segments + 2) are in the pipeline at once, taken from the cameras in turn. Bad frames become
 * error events and never stop other cameras. systemd hears READY once the pipeline is built and MQTT is up, and WATCHDOG only
 * while frames keep completing (or nothing is waiting), so a hung accelerator gets the service restarted.
 *
 * A config reload applies every change without a restart: a new pipeline and, when the broker,
 * credentials or topics changed, a new MQTT session are made beside the running ones and swapped in
 * together once both work (session-switch.ts); if either fails, the reload is refused and nothing changes.
 *
 * A pipeline that fails (an executor died or hung, or a device it uses was unplugged) is rebuilt in
 * place with backoff, keeping the MQTT session; frames wait in their cameras' slots meanwhile. The
 * watchdog stays withheld until a rebuild succeeds, so systemd restarts the process if in-place
 * recovery takes longer than WatchdogSec; without a watchdog the daemon retries slowly for ever.
 *
 * This file holds the lifecycle and the pipeline's life (build, swap, fail, rebuild, reload); the frame
 * path, replies, reports, cameras and watchdog live in their own modules.
 */
import type { Logger } from 'pino';
import type { Device } from '../../devices/device.js';
import type { DeviceWatcher } from '../../devices/hotplug.js';
import type { Notifier } from '../../systemd/notify.js';
import { Cameras, frameSubscriptions, type Counters } from '../frames/frame-intake.js';
import { InferenceError, PipelineDownError, type ClassifierFactory, type FrameClassifier } from '../frames/classifier.js';
import { ProcessLeases } from './device-leases.js';
import { startDeviceWatcher, usesOnlyCpu } from './device-watch.js';
import { ConfigError, problemLines } from '../config/config-error.js';
import { readConfigText, resolveConfig, type DaemonConfig } from '../config/config-load.js';
import { connectionSettings, type Connection } from '../mqtt/connection.js';
import { FramePath } from '../frames/frame-path.js';
import type { Serving } from '../frames/serving.js';
import { birthTopic, discoverySubscriptions, HomeAssistantDiscovery } from '../mqtt/home-assistant.js';
import { MqttSession, redactUrl, type SessionStats } from '../mqtt/mqtt-session.js';
import { DEFAULT_RECOVERY, RebuildSchedule, type RecoveryPolicy } from './rebuild-schedule.js';
import { planReload, type ReloadOutcome } from './reload-plan.js';
import { connectBeside, retire } from '../mqtt/session-switch.js';
import { describe, StatusReports } from '../frames/status-reports.js';
import { topicsFor } from '../mqtt/topics.js';
import { startWatchdog } from './watchdog.js';

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
  /** How long a reload waits for a new MQTT connection before refusing the config; 10 s by default. */
  readonly mqttSwitchTimeoutMs?: number;
  /**
   * Gives up the start: checked once the pipeline is built and while waiting for the first broker
   * connection (which may take for ever when the broker is down), so that a stop or a corrected config
   * is not held up by a broker that never answers. start() then undoes what it did and rejects.
   */
  readonly signal?: AbortSignal;
}

/** What a reload asked for while the daemon stops gets. */
export const STOPPING: ReloadOutcome = { ok: false, errors: ['daemon is stopping'] };

/** What a session for `config` subscribes to: its cameras' frame topics and Home Assistant's birth topic. */
const subscriptionsOf = (config: DaemonConfig) => [...frameSubscriptions(config), ...discoverySubscriptions(config)];

/** `work`, or the signal's reason as soon as it aborts (the work itself goes on unless its owner stops it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

export class Daemon {
  /** The config, classifier and MQTT connection in force, swapped whole by serve(). */
  private serving: Serving;
  private readonly cameras = new Cameras();
  private readonly reports = new StatusReports();
  private readonly discovery = new HomeAssistantDiscovery();
  private readonly frames: FramePath;
  /** Home Assistant's birth topic while discovery is on: messages there are not frames. */
  private birth: string | undefined;
  private readonly rebuilds: RebuildSchedule;
  private reloading: Promise<unknown> = Promise.resolve();
  /** Replaced classifiers still answering their last frames; stop() waits for them. */
  private readonly retiring = new Set<Promise<void>>();
  private statsTimer: NodeJS.Timeout | undefined;
  /** Set when the pipeline as a whole failed (dead or hung executor): no more watchdog pings. */
  private pipelineFailure: Error | undefined;
  private stopping = false;
  /** Aborted by stop(), so that a reload waiting for a new MQTT connection gives up at once. */
  private readonly halt = new AbortController();
  private watchdogTimer: NodeJS.Timeout | undefined;
  private statusLine = '';
  /** The config text the last reload tried, and how that went. */
  private lastTried: { readonly text: string; readonly outcome: ReloadOutcome } | undefined;

  private constructor(
    config: DaemonConfig,
    classifier: FrameClassifier,
    private readonly options: DaemonOptions,
    private readonly leases: ProcessLeases,
    private watcher: DeviceWatcher | undefined,
  ) {
    this.rebuilds = new RebuildSchedule({ ...DEFAULT_RECOVERY, ...options.recovery });
    this.cameras.set(config);
    this.frames = new FramePath(this.cameras, options.log, (err) => this.pipelineFailed(err), (message) => {
      if (message.topic === this.birth) this.discovery.birth(message, this.config, this.connection);
    });
    this.serving = { config, classifier, connection: this.newConnection(config) };
    this.birth = birthTopic(config);
    this.frames.serve(this.serving, false);
  }

  private get config(): DaemonConfig {
    return this.serving.config;
  }

  private get classifier(): FrameClassifier {
    return this.serving.classifier;
  }

  private get connection(): Connection {
    return this.serving.connection;
  }

  /** Makes `next` what serves, for the daemon and the frame path at once; `resume`: its classifier is a working one. */
  private serve(next: Serving, resume = false): void {
    this.serving = next;
    this.birth = birthTopic(next.config);
    this.frames.serve(next, resume);
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
    try {
      options.signal?.throwIfAborted();
      daemon.followDevices();
      await daemon.watchDevicesIfNeeded();
      daemon.publishStatus();
      daemon.discovery.publish(config, daemon.connection);
      const session = daemon.connection.session;
      options.notifier?.status(`pipeline built; connecting to the MQTT broker at ${redactUrl(session.url)}`);
      await untilAborted(session.start(), options.signal);
    } catch (err) {
      await daemon.shutDown();
      throw err;
    }
    daemon.statusLine = describe(classifier.info, 0, 0);
    options.notifier?.ready(daemon.statusLine);
    log.info({ event: 'ready', node: config.node, cameras: daemon.cameras.size, ...classifier.info }, 'daemon ready');
    daemon.scheduleStats();
    daemon.watchdogTimer = startWatchdog(options.notifier, log, () => ({
      progress: daemon.frames.progress,
      inFlight: daemon.frames.inFlight,
      failure: daemon.pipelineFailure,
    }));
    return daemon;
  }

  /** Stops taking frames, answers those already in the pipeline, says `stopped`, disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.options.notifier?.stopping('stopping');
    await this.shutDown();
    this.options.log.info({ event: 'stopped' }, 'daemon stopped');
  }

  /** stop() without telling systemd or the log: also what undoes a start that was given up. */
  private async shutDown(): Promise<void> {
    this.stopping = true;
    this.frames.stop();
    this.halt.abort();
    clearInterval(this.watchdogTimer);
    clearTimeout(this.statsTimer);
    this.rebuilds.cancel();
    this.watcher?.stop();
    await this.reloading;
    await Promise.all([this.classifier.close(), ...this.retiring]);
    this.leases.releaseAll();
    // The retained status says `stopped` too, before availability does, so the two never disagree.
    this.publishStatus();
    this.reports.close();
    await this.connection.session.stop();
  }

  /** Edge TPUs leased by this process now. */
  leasedDevices(): string[] {
    return this.leases.ids();
  }

  mqttStats(): SessionStats {
    return this.connection.session.stats();
  }

  cameraTotals(id: string): Readonly<Counters> | undefined {
    const cam = this.cameras.get(id);
    return cam && { ...cam.totals, dropped: cam.slot.dropped };
  }

  /** A session (not started) for `config`, subscribed to the frame topics of its cameras. */
  private newConnection(config: DaemonConfig): Connection {
    const session = new MqttSession({
      ...connectionSettings(config),
      subscriptions: subscriptionsOf(config),
      log: this.options.log,
      onMessage: this.frames.accept,
    });
    return { session, topics: topicsFor(config.mqtt.topicPrefix, config.node) };
  }

  /** Builds a classifier for `config` on the devices present now, leasing its Edge TPUs. */
  private build(config: DaemonConfig): Promise<FrameClassifier> {
    return this.options.createClassifier(config, this.options.log, {
      ...(this.watcher && { devices: this.watcher.devices() }),
      claim: (ids) => this.leases.claim(ids),
    });
  }

  /** Makes `built` the classifier for new frames; the old one answers what it holds, then closes. */
  private swapIn(built: FrameClassifier, next: Omit<Serving, 'classifier'> = this.serving): void {
    const log = this.options.log;
    const old = this.classifier;
    this.pipelineFailure = undefined;
    this.rebuilds.reset();
    this.serve({ ...next, classifier: built }, true);
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
    if (this.watcher || this.stopping || usesOnlyCpu(this.classifier.info)) return;
    const watcher = await startDeviceWatcher(this.options.log);
    if (!watcher) return;
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
      this.reports.event(this.connection, { event: 'device-removed', device: device.id, segment });
      this.pipelineFailed(new PipelineDownError(`pipeline failed: segment ${segment} on ${device.id} was removed`, `segment ${segment}`, device.id));
    });
    watcher.on('added', (device: Device) => {
      log.info({ event: 'device-added', device: device.id }, `device ${device.id} added`);
      if (this.pipelineFailure === undefined || this.stopping) return;
      this.rebuilds.cancel();
      void this.rebuild();
    });
    watcher.on('problem', (err: Error) => log.warn({ event: 'devices', err: err.message }, `device watch: ${err.message}`));
  }

  /** The current pipeline is dead: say so everywhere once, and rebuild it (the watchdog stays withheld until then). */
  private pipelineFailed(err: Error): void {
    if (this.pipelineFailure !== undefined) return;
    this.pipelineFailure = err;
    this.frames.pause();
    const where = err instanceof InferenceError ? { segment: err.segment, device: err.device } : {};
    this.options.log.error({ event: 'pipeline-failed', ...where, err: err.message }, err.message);
    this.reports.event(this.connection, { event: 'pipeline-failed', ...where, error: err.message });
    this.publishStatus();
    // A PipelineDownError's message already starts with "pipeline failed" (or "pipeline closed").
    this.options.notifier?.status(err instanceof PipelineDownError ? err.message : `pipeline failed: ${err.message}`);
    this.scheduleRebuild();
  }

  private scheduleRebuild(): void {
    if (this.stopping) return;
    this.rebuilds.schedule(() => void this.rebuild());
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
    const attempt = this.rebuilds.begin();
    let built: FrameClassifier;
    try {
      built = await this.build(this.config);
    } catch (err) {
      const reason = String((err as Error).message ?? err).split('\n')[0]!;
      const { retryInMs, lastFast } = this.rebuilds.failed(attempt, reason);
      if (lastFast) {
        const text = `cannot serve the config: ${reason}; retrying every ${Math.round(retryInMs / 1000)} s`;
        log.error({ event: 'cannot-serve', attempts: attempt, err: reason, retryInMs }, text);
        this.reports.event(this.connection, { event: 'cannot-serve', attempts: attempt, error: reason, retryInMs });
        this.options.notifier?.status(text);
      } else {
        log.warn({ event: 'rebuild-failed', attempt, err: reason, retryInMs }, `pipeline rebuild ${attempt} failed: ${reason}`);
        this.reports.event(this.connection, { event: 'rebuild-failed', attempt, error: reason, retryInMs });
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
    this.reports.event(this.connection, { event: 'pipeline-rebuilt', attempts: attempt, model: info.model, devices: info.devices });
    this.publishStatus();
    this.statusLine = describe(this.classifier.info, 0, 0);
    this.options.notifier?.status(this.statusLine);
  }

  /**
   * Re-reads the config file (SIGHUP, `coral-pipe reload`, or the file changed) and applies it. An
   * invalid config, a pipeline that fails to build or an MQTT connection that does not come up within
   * `mqttSwitchTimeoutMs` is refused with the reason in the log, on the events topic and in the systemd
   * status, and the running pipeline and session keep serving. Reloads run one at a time.
   *
   * `edit` is for the file watcher: a text already tried (say, by `systemctl reload` right after the
   * edit) is not tried again, so one edit makes one reload. A request always tries: the files the config
   * names may have changed, or appeared, since.
   */
  reloadFile(trigger: 'request' | 'edit' = 'request'): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.reload(trigger));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reload(trigger: 'request' | 'edit'): Promise<ReloadOutcome> {
    if (this.stopping) return STOPPING;
    let text: string;
    try {
      text = await readConfigText(this.config.file);
    } catch (err) {
      return this.refuse(problemLines(err));
    }
    if (trigger === 'edit' && this.lastTried?.text === text) {
      this.options.log.info({ event: 'reload', why: 'file changed', alreadyTried: true }, 'config file changed to the text the last reload tried: not reloading again');
      return this.lastTried.outcome;
    }
    const outcome = await this.apply(text);
    this.lastTried = { text, outcome };
    return outcome;
  }

  /** Applies config text read from the config file, or refuses it. */
  private async apply(text: string): Promise<ReloadOutcome> {
    const log = this.options.log;
    let next: DaemonConfig;
    try {
      next = await resolveConfig(text, this.config.file);
    } catch (err) {
      return this.refuse(problemLines(err));
    }
    const { newClassifier, newConnection, changed } = planReload(this.config, next);
    if (!changed) {
      log.info({ event: 'reload', unchanged: true }, 'config unchanged: nothing to reload');
      return { ok: true, unchanged: true };
    }
    // The pipeline first, then the connection, so nothing appears on new topics unless both work.
    let built: FrameClassifier | undefined;
    if (newClassifier) {
      try {
        built = await this.build(next);
      } catch (err) {
        // A model that cannot serve is a config problem: each names its file:line like those above.
        if (err instanceof ConfigError) return this.refuse(problemLines(err));
        return this.refuse([`new pipeline failed to build: ${(err as Error).message}`]);
      }
    }
    let opened: Connection | undefined;
    if (newConnection && !this.stopping) {
      opened = this.newConnection(next);
      this.frames.overlap.begin();
      try {
        await connectBeside(this.connection, opened, this.options.mqttSwitchTimeoutMs ?? 10_000, this.halt.signal);
      } catch (err) {
        this.frames.overlap.end();
        // A factory may hand out the running instance again (see swapIn): that one serves on.
        if (built !== this.classifier) await built?.close();
        return this.stopping ? STOPPING : this.refuse([(err as Error).message]);
      }
    }
    if (this.stopping) {
      await Promise.all([built?.close(), opened?.session.stop()]);
      return STOPPING;
    }
    const current = this.serving;
    // The broker or topics left behind keep a retained status: it says `stopped`, as availability will.
    if (opened) this.publishStatus(true, current.connection);
    if (next.log.level !== current.config.log.level) log.level = next.log.level;
    const statsRetimed = next.statsIntervalSeconds !== current.config.statsIntervalSeconds;
    this.cameras.set(next);
    // One swap: new frames go to the new classifier (frames already taken stay with the old one, which
    // close() lets finish), and answers from here on, those of frames taken earlier too, go out on the
    // new session.
    const serving = { config: next, connection: opened ?? current.connection };
    if (built) this.swapIn(built, serving);
    else this.serve({ ...serving, classifier: current.classifier });
    if (built) await this.watchDevicesIfNeeded();
    await this.connection.session.setSubscriptions(subscriptionsOf(next));
    if (statsRetimed) this.scheduleStats();
    this.publishStatus();
    this.discovery.publish(next, this.connection);
    if (opened) {
      const old = current.connection;
      await retire(old, opened);
      this.frames.overlap.end();
      // Again, now that the old session is gone: on the same topics its `stopped` must not be the last word.
      this.publishStatus();
    }
    const outcome: ReloadOutcome = { ok: true, swappedModel: built !== undefined, ...(opened && { switchedMqtt: true }) };
    this.reports.event(this.connection, { event: 'reload', ...outcome, model: this.classifier.info.model });
    log.info({ event: 'reload', ...outcome, model: this.classifier.info.model.name, ...(opened && { url: redactUrl(next.mqtt.url) }) }, 'config reloaded');
    this.options.notifier?.status(this.statusLine);
    return outcome;
  }

  private refuse(errors: readonly string[]): ReloadOutcome {
    this.options.log.error({ event: 'reload', errors }, `config rejected, still running the previous one: ${errors[0]}`);
    this.reports.event(this.connection, { event: 'reload', ok: false, errors });
    this.options.notifier?.status(`config rejected: ${errors[0]}; ${this.statusLine}`);
    return { ok: false, errors };
  }

  /**
   * Schedules the next stats one interval after the last ones. A reload calls it only when the interval
   * changed, so reloads more frequent than the interval cannot hold the stats back.
   */
  private scheduleStats(): void {
    clearTimeout(this.statsTimer);
    // A reload that finishes while stop() waits for it must not leave a timer holding the process open.
    if (this.stopping) return;
    const due = this.reports.lastStatsAt + this.config.statsIntervalSeconds * 1000 - performance.now();
    this.statsTimer = setTimeout(() => {
      this.publishStats();
      this.scheduleStats();
    }, Math.max(0, due));
  }

  /** The retained status, on the connection in force or on `on`, one being left. */
  private publishStatus(stopped = this.stopping, on: Connection = this.connection): void {
    this.reports.status(this.serving, this.cameras, {
      stopped,
      failure: this.pipelineFailure,
      rebuildAttempts: this.rebuilds.attempts,
      rebuildError: this.rebuilds.lastError,
      cannotServe: this.rebuilds.cannotServe,
    }, on);
  }

  private publishStats(): void {
    const { fps, droppedFps } = this.reports.stats(this.connection, this.cameras, this.frames.inFlight, this.classifier.stats(), this.frames.steps.take());
    this.statusLine = describe(this.classifier.info, fps, droppedFps);
    this.options.notifier?.status(this.statusLine);
  }
}
