/**
 * The daemon's logs: pino JSON lines on stdout, which journald stores as is. Entries carry the fields
 * people filter on (`event`, `camera`, `segment`, `device`) as top-level keys, e.g.
 * `journalctl -u coral-pipe -o cat | jq 'select(.camera == "front")'`. When stdout is the journal, each
 * line starts with the `<N>` of its level, so journald files warnings and errors at their priority
 * (`journalctl -p warning`) and keeps the JSON whole.
 */
import { pino, type DestinationStream, type Level, type Logger, type LevelWithSilent } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { isJournalStream, JOURNAL_PRIORITY, priorityPrefix } from '../../systemd/journal.js';

export type { Logger };

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Human-readable lines instead of JSON (`--pretty`). */
  readonly pretty?: boolean;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
  /** Prefix lines with their journald priority; by default when stdout is the journal stream. */
  readonly journal?: boolean;
}

const PRIORITY_OF: Readonly<Record<Level, number>> = {
  fatal: JOURNAL_PRIORITY.crit,
  error: JOURNAL_PRIORITY.err,
  warn: JOURNAL_PRIORITY.warning,
  info: JOURNAL_PRIORITY.info,
  debug: JOURNAL_PRIORITY.debug,
  trace: JOURNAL_PRIORITY.debug,
};

/** One stream a level, each writing its `<N>`; dedupe sends a line to its own level's stream only. */
function journalStreams(out: DestinationStream): DestinationStream {
  return pino.multistream(
    Object.entries(PRIORITY_OF).map(([level, priority]) => {
      const prefix = priorityPrefix(priority);
      return { level: level as Level, stream: { write: (line: string) => out.write(prefix + line) } };
    }),
    { dedupe: true },
  );
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  // A synchronous in-process pretty stream: a transport worker thread would be one more thread on a 2-core board.
  const journal = options.journal ?? (options.destination === undefined && isJournalStream(1));
  let destination = journal ? journalStreams(out) : out;
  if (options.pretty)
    destination = PinoPretty({ destination: out as unknown as NodeJS.WritableStream, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  // No pid/hostname in JSON: journald records both already.
  return pino({ level: options.level, base: undefined }, destination);
}
