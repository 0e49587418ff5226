/**
 * The rebuild attempts since the pipeline failed and the timer of the next one, spaced as the
 * RecoveryPolicy says. Reset once a pipeline is swapped in.
 */
import { rebuildDelay, type RecoveryPolicy } from './recovery.js';

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
