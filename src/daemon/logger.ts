/**
 * The daemon's logs: pino JSON lines on stdout, which journald stores as is. Entries carry the fields
 * people filter on (`event`, `camera`, `segment`, `device`) as top-level keys, e.g.
 * `journalctl -u coral-pipe -o cat | jq 'select(.camera == "front")'`.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Human-readable lines instead of JSON (`--pretty`). */
  readonly pretty?: boolean;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  // A synchronous in-process pretty stream: a transport worker thread would be one more thread on a 2-core board.
  const destination = options.pretty
    ? PinoPretty({ destination: out as unknown as NodeJS.WritableStream, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : out;
  // No pid/hostname in JSON: journald records both already.
  return pino({ level: options.level, base: undefined }, destination);
}
