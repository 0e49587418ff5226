/** Native memory freed by libvips' threads goes back to the system when trimmed (glibc keeps it otherwise). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import sharp from 'sharp';
import { nativeTrim } from '../../../src/daemon/lifecycle/memory-trim.js';
import { testDataPath } from '../../../src/testdata.js';

it('trim() hands back what decoding threads freed', async () => {
  const { trim, problem } = nativeTrim();
  assert.ok(trim, problem);
  const jpeg = await readFile(testDataPath('images/cat_720p.jpg'));
  // Decodes in libvips' threads, each allocating in its own glibc arena, all freed when done.
  for (let round = 0; round < 4; round++) {
    await Promise.all(Array.from({ length: 16 }, () => sharp(jpeg).resize(224, 224).raw().toBuffer()));
  }
  const before = process.memoryUsage.rss();
  assert.equal(trim(), true);
  const after = process.memoryUsage.rss();
  assert.ok(after < before, `RSS ${before >> 20} MiB before the trim, ${after >> 20} MiB after`);
  console.log(`trim: RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MiB`);
});
