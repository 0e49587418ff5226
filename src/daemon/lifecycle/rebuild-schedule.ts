/**
 * When the daemon tries to rebuild a failed pipeline: a few attempts with exponential backoff (a USB
 * Edge TPU that re-enumerates, or a crashed executor, usually comes back within seconds), then, once
 * it plainly cannot serve, slow retries that never stop (a device may be plugged back in hours later).
 */
export interface RecoveryPolicy {
  /** Delay before the first rebuild attempt. */
  readonly minDelayMs: number;
  /** Cap of the doubling delay between the fast attempts. */
  readonly maxDelayMs: number;
  /** Failed attempts after which the daemon reports that it cannot serve and slows down. */
  readonly fastAttempts: number;
  /** Delay between attempts once it cannot serve. */
  readonly slowDelayMs: number;
}

export const DEFAULT_RECOVERY: RecoveryPolicy = { minDelayMs: 1000, maxDelayMs: 16_000, fastAttempts: 5, slowDelayMs: 60_000 };

/** The delay before attempt number `attempt` (0-based: attempts already failed). */
export function rebuildDelay(policy: RecoveryPolicy, attempt: number): number {
  if (attempt >= policy.fastAttempts) return policy.slowDelayMs;
  return Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
}

/**
 * The rebuild attempts since the pipeline failed and the timer of the next one, spaced as the
 * RecoveryPolicy says. Reset once a pipeline is swapped in.
 */
export class RebuildSchedule {
  /** Attempts started since the pipeline failed. */
  attempts = 0;
  /** Why the last attempt failed. */
  lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly policy: RecoveryPolicy) {}

  /** Runs `rebuild` after the delay due now, unless an attempt is already waiting. */
  schedule(rebuild: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      rebuild();
    }, rebuildDelay(this.policy, this.attempts));
  }

  /** Drops the waiting attempt, if any. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Counts a new attempt; returns its number (1-based). */
  begin(): number {
    return ++this.attempts;
  }

  /** Records why `attempt` failed; says when the next one comes and whether this one was the last fast one. */
  failed(attempt: number, reason: string): { retryInMs: number; lastFast: boolean } {
    this.lastError = reason;
    return { retryInMs: rebuildDelay(this.policy, attempt), lastFast: attempt === this.policy.fastAttempts };
  }

  /** A pipeline serves again. */
  reset(): void {
    this.attempts = 0;
    this.lastError = undefined;
    this.cancel();
  }

  /** So many attempts failed that retries have slowed down. */
  get cannotServe(): boolean {
    return this.attempts >= this.policy.fastAttempts;
  }
}
