import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { defaultControlSocket, requestReload } from '../../daemon/lifecycle/control-socket.js';

/**
 * Asks the running daemon to reload its config and waits for the outcome: the unit's ExecReload=, so
 * that `systemctl reload coral-pipe` returns once the config is in force and fails, with the daemon's
 * reasons in the journal and on the terminal, when the daemon refused it (the old config serves on).
 */
const reload: Command = {
  name: 'reload',
  summary: 'Make the running daemon reload its config; fails with the reasons if it refuses the config',
  usage:
    'coral-pipe reload [--socket PATH] [--timeout SECONDS]\n' +
    '  --socket   the daemon\'s control socket; default: control.sock in $RUNTIME_DIRECTORY, else /run/coral-pipe\n' +
    '  --timeout  how long to wait for the outcome (a new model may take a while to build); default 170',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { socket: { type: 'string' }, timeout: { type: 'string', default: '170' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const seconds = Number(values.timeout);
    if (!(seconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
    const outcome = await requestReload(values.socket ?? defaultControlSocket(), seconds * 1000);
    if (!outcome.ok) {
      process.stderr.write(`coral-pipe reload: the daemon refused the config and serves on with the previous one:\n`);
      for (const error of outcome.errors ?? []) process.stderr.write(`  ${error}\n`);
      return 1;
    }
    const did = outcome.unchanged
      ? 'nothing changed since the config in force'
      : [outcome.swappedModel ? 'new pipeline swapped in' : 'same pipeline', outcome.switchedMqtt ? 'new MQTT connection' : ''].filter(Boolean).join(', ');
    process.stdout.write(`reloaded: ${did}\n`);
    return 0;
  },
};
export default reload;
