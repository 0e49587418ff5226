// sd_notify against a real unix datagram socket (a python3 receiver, since Node has no unix datagram
// sockets). The receiver asks the kernel for each sender's credentials, proving the messages come from
// this process itself, as `NotifyAccess=main` requires.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { createNotifier, formatNotifyMessage } from '../../src/systemd/notify.js';

const RECEIVER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = sys.argv[1]
s.bind(('\\0' + addr[1:]) if addr.startswith('@') else addr)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print('bound', flush=True)
for _ in range(int(sys.argv[2])):
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = next(struct.unpack('iII', d[:12])[0] for (lvl, typ, d) in anc if typ == socket.SCM_CREDENTIALS)
    print(json.dumps({'pid': pid, 'message': data.decode()}), flush=True)
`;

/** Starts a receiver for `count` datagrams on `address`; resolves once it is bound. */
async function receiver(address: string, count: number) {
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', RECEIVER, address, String(count)]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  assert.equal(first.value, 'bound', 'receiver failed to bind');
  return {
    async messages(): Promise<{ pid: number; message: string }[]> {
      const out = [];
      for (let i = 0; i < count; i++) out.push(JSON.parse((await lines.next()).value as string));
      child.kill();
      return out;
    },
  };
}

test('READY, STATUS, WATCHDOG and STOPPING reach $NOTIFY_SOCKET from this very process', async () => {
  const address = path.join(mkdtempSync(path.join(os.tmpdir(), 'coral-pipe-notify-')), 'notify.sock');
  const rx = await receiver(address, 4);
  const notifier = createNotifier({ NOTIFY_SOCKET: address, WATCHDOG_USEC: '10000000', WATCHDOG_PID: String(process.pid) });
  assert.equal(notifier.enabled, true);
  assert.equal(notifier.watchdogIntervalMs, 5000);
  notifier.ready('3 devices, model X in 3 segments');
  notifier.status('41 fps,\n0.4% dropped');
  notifier.watchdog();
  notifier.stopping();
  const got = await rx.messages();
  assert.deepEqual(got.map((m) => m.pid), [process.pid, process.pid, process.pid, process.pid]);
  assert.deepEqual(got.map((m) => m.message), [
    'READY=1\nSTATUS=3 devices, model X in 3 segments',
    'STATUS=41 fps, 0.4% dropped',
    'WATCHDOG=1',
    'STOPPING=1',
  ]);
});

test('an abstract-namespace socket (@name) works too', async () => {
  const address = `@coral-pipe-test-${process.pid}`;
  const rx = await receiver(address, 1);
  createNotifier({ NOTIFY_SOCKET: address }).send({ RELOADING: '1' });
  assert.deepEqual((await rx.messages()).map((m) => m.message), ['RELOADING=1']);
});

test('without $NOTIFY_SOCKET every call is a no-op; a dead socket is an error naming it', () => {
  const off = createNotifier({});
  assert.equal(off.enabled, false);
  assert.equal(off.watchdogIntervalMs, undefined);
  off.ready();
  off.watchdog();
  const gone = path.join(os.tmpdir(), `coral-pipe-no-socket-${process.pid}`);
  assert.throws(() => createNotifier({ NOTIFY_SOCKET: gone }).ready(), new RegExp(`NOTIFY_SOCKET ${gone} failed`));
  assert.equal(createNotifier({ NOTIFY_SOCKET: gone, WATCHDOG_USEC: '1000', WATCHDOG_PID: '1' }).watchdogIntervalMs, undefined);
  assert.equal(formatNotifyMessage({ A: '1', B: 'x\ny' }), 'A=1\nB=x y');
});
