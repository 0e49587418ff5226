import type { Command } from './command.js';
import { UsageError } from './command.js';
import { packageVersion } from '../package-version.js';

/** Every sub-command, loaded on demand so that `coral-pipe inspect` does not load MQTT or LiteRT. */
const commands: Record<string, () => Promise<Command>> = {
  segment: async () => (await import('./commands/segment.js')).default,
  'check-chain': async () => (await import('./commands/check-chain.js')).default,
  verify: async () => (await import('./commands/verify.js')).default,
  run: async () => (await import('./commands/run.js')).default,
  'check-config': async () => (await import('./commands/check-config.js')).default,
  daemon: async () => (await import('./commands/daemon.js')).default,
  reload: async () => (await import('./commands/reload.js')).default,
  demo: async () => (await import('./commands/demo.js')).default,
  devices: async () => (await import('./commands/devices.js')).default,
  classify: async () => (await import('./commands/classify.js')).default,
  inspect: async () => (await import('./commands/inspect.js')).default,
  tune: async () => (await import('./commands/tune.js')).default,
};

async function printHelp(): Promise<void> {
  process.stdout.write('usage: coral-pipe COMMAND [options]\n\ncommands:\n');
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  for (const [name, load] of Object.entries(commands)) {
    process.stdout.write(`  ${name.padEnd(width)}  ${(await load()).summary}\n`);
  }
  process.stdout.write('\n`coral-pipe help COMMAND` (or `coral-pipe COMMAND --help`) shows the options of one command;\n' +
    '`coral-pipe --version` (or -V) prints the version.\n');
}

const HELP_FLAGS = ['--help', '-h'];
const VERSION_FLAGS = ['--version', '-V'];

function printCommandHelp(command: Command): number {
  process.stdout.write(`${command.summary}\n\nusage: ${command.usage}\n`);
  return 0;
}

function unknownCommand(name: string): number {
  process.stderr.write(`coral-pipe: unknown command "${name}"; run \`coral-pipe help\` for the list\n`);
  return 2;
}

/** node:util parseArgs's errors (unknown option, missing value): the user's arguments, not a failure. */
function isArgumentError(err: unknown): err is Error {
  return err instanceof Error && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}

/** Errors print as one line naming the problem, so a user sees what to fix rather than a stack. */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || HELP_FLAGS.includes(name)) {
    await printHelp();
    return name === undefined ? 2 : 0;
  }
  if (VERSION_FLAGS.includes(name)) {
    process.stdout.write(`${packageVersion() ?? 'unknown'}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined || HELP_FLAGS.includes(topic)) {
      await printHelp();
      return 0;
    }
    const load = commands[topic];
    return load ? printCommandHelp(await load()) : unknownCommand(topic);
  }
  const load = commands[name];
  if (!load) return unknownCommand(name);
  const command = await load();
  // Here, once for every command: `coral-pipe daemon --config x.yaml --help` shows help, never runs.
  if (rest.some((arg) => HELP_FLAGS.includes(arg))) return printCommandHelp(command);
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || isArgumentError(err)) {
      process.stderr.write(`coral-pipe ${name}: ${err.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`coral-pipe ${name}: ${describe(err)}\n`);
    if (process.env.CORAL_PIPE_DEBUG) console.error(err);
    return 1;
  }
}

// `coral-pipe ... | head`: a reader that has seen enough closes the pipe; stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
