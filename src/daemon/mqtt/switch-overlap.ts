/**
 * Frames that reach both MQTT sessions while a reload switches from one to the other. With two client
 * ids both are subscribed for a moment, and the broker delivers each frame to each on its own socket:
 * the old session may take a frame just before the switch that reaches the new one just after it, which
 * would then be classified and answered twice. So while a switch is on (and for a few seconds after,
 * for deliveries still on their way), the frames taken are remembered by topic and content, and the
 * new session skips each one an earlier session already took.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from './mqtt-session.js';

/** How long after a switch a delivery may still arrive late on the new session. */
const LATE_DELIVERY_MS = 5000;

interface Taken {
  readonly key: string;
  readonly session: object;
}

export class SwitchOverlap {
  private taken: Taken[] = [];
  /**
   * Until when frames are remembered (performance.now() ms): a receiver need not ask takenElsewhere()
   * after it, when the answer is always no.
   */
  until = -Infinity;

  /** A switch begins: frames taken from now on are remembered (those of an earlier one are dropped). */
  begin(): void {
    this.taken = [];
    this.until = Infinity;
  }

  /** The switch is over (or given up): what was remembered is kept a little longer, for late deliveries. */
  end(now = performance.now()): void {
    this.until = now + LATE_DELIVERY_MS;
  }

  /**
   * Whether `message`, received by the current session `session`, was already taken from another
   * session (then it is forgotten: a camera may send the same bytes again later). Else it is taken and,
   * during a switch, remembered.
   */
  takenElsewhere(session: object, message: IncomingMessage, now = performance.now()): boolean {
    if (now > this.until) {
      this.taken = [];
      return false;
    }
    const key = `${message.topic}\0${createHash('sha1').update(message.payload).digest('base64')}`;
    const i = this.taken.findIndex((t) => t.key === key && t.session !== session);
    if (i >= 0) {
      this.taken.splice(i, 1);
      return true;
    }
    this.taken.push({ key, session });
    return false;
  }
}
