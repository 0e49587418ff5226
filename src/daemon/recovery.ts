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
