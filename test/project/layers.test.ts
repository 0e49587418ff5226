/** The layer rule that `npm test` runs (.dependency-cruiser.cjs) refuses what it is meant to refuse. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot, runProcess } from '../helpers/cli.js';

const depcruise = path.join(projectRoot, 'node_modules/.bin/depcruise');
const config = path.join(projectRoot, '.dependency-cruiser.cjs');

/** Runs the project's rule on a tree of the given files (path -> TypeScript source). */
async function cruise(files: Record<string, string>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-layers-'));
  try {
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    return await runProcess(depcruise, ['--config', config, 'src'], { cwd: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the layer rule', () => {
  it('passes on the project itself', async () => {
    const r = await runProcess(depcruise, ['--config', config, 'src'], { cwd: projectRoot });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('refuses an import up the layers, type-only ones too, naming both files', async () => {
    const r = await cruise({
      'src/devices/engine.ts': 'export interface Engine { device: string }\n',
      'src/model/graph.ts': "import type { Engine } from '../devices/engine.js';\nexport const f = (e: Engine) => e.device;\n",
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /layer-1-imports-up: src\/model\/graph\.ts → src\/devices\/engine\.ts/);
  });

  it('holds inside the daemon too: config, mqtt, frames, lifecycle', async () => {
    const r = await cruise({
      'src/daemon/frames/frame-intake.ts': 'export const cameras = 1;\n',
      'src/daemon/config/config-load.ts': "import { cameras } from '../frames/frame-intake.js';\nexport const c = cameras;\n",
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /daemon-0-imports-up: src\/daemon\/config\/config-load\.ts → src\/daemon\/frames\/frame-intake\.ts/);
  });

  it('accepts imports down the layers and refuses a cycle', async () => {
    const down = await cruise({
      'src/tensors/tensor.ts': 'export type DType = "uint8";\n',
      'src/pipeline/runner.ts': "import type { DType } from '../tensors/tensor.js';\nexport const d: DType = 'uint8';\n",
    });
    assert.equal(down.code, 0, down.stdout);
    const cycle = await cruise({
      'src/daemon/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/daemon/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    assert.notEqual(cycle.code, 0);
    assert.match(cycle.stdout, /no-circular/);
  });
});
