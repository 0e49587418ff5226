/**
 * A daemon in its own process that is stopped while a reload is half-way (inside loadConfig), then
 * left to exit on its own: anything the stop leaves behind (a timer, a socket) keeps it alive, which
 * the parent sees. argv: config file. Prints "stopped" once stop() resolved.
 */
import { loadConfig } from '../../src/daemon/config/config-load.js';
import { Daemon } from '../../src/daemon/lifecycle/daemon.js';
import { createLogger } from '../../src/daemon/lifecycle/logger.js';
import { FakeClassifier } from './fake-classifier.js';

const config = await loadConfig(process.argv[2]!);
const daemon = await Daemon.start({ config, createClassifier: async () => new FakeClassifier(), log: createLogger({ level: 'silent' }) });
const reload = daemon.reloadFile();
// One turn of the event loop: the reload is past its "stopping?" check and waiting for the file.
await new Promise((r) => setImmediate(r));
await Promise.all([daemon.stop(), reload]);
process.stdout.write('stopped\n');
