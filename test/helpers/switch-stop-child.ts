/**
 * A daemon in its own process that is stopped while a reload waits for its new MQTT connection (to a
 * server that accepts TCP and never answers), then left to exit on its own: anything the stop leaves
 * behind (the half-open session, a timer) keeps it alive, which the parent sees.
 * argv: config file, then the URL the config is moved to. Prints the reload outcome, then "stopped".
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { FakeClassifier } from './fake-classifier.js';

const [file, brokerUrl] = [process.argv[2]!, process.argv[3]!];
// Unref'd with its sockets: only what the daemon leaves open can keep this process alive.
const silent = net.createServer((socket) => {
  socket.unref();
  socket.on('error', () => {});
});
await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
silent.unref();
const connecting = new Promise((resolve) => silent.once('connection', resolve));

const config = await loadConfig(file);
// A switch timeout far beyond the parent's patience: stop() must not wait for it.
const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log: createLogger({ level: 'silent' }), mqttSwitchTimeoutMs: 120_000 });
const port = (silent.address() as net.AddressInfo).port;
await writeFile(file, (await readFile(file, 'utf8')).replace(brokerUrl, `mqtt://127.0.0.1:${port}`));
const reload = daemon.reloadFile();
await connecting;
const [, outcome] = await Promise.all([daemon.stop(), reload]);
process.stdout.write(`${JSON.stringify(outcome)}\nstopped\n`);
