import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { TestDataMissingError, testDataCandidates, testDataPath } from '../../src/testdata.js';

describe('test data location', () => {
  const saved = process.env.CORAL_TEST_DATA;
  afterEach(() => {
    if (saved === undefined) delete process.env.CORAL_TEST_DATA;
    else process.env.CORAL_TEST_DATA = saved;
  });

  it('looks in $CORAL_TEST_DATA before ../shared/testdata', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coral-testdata-'));
    try {
      await mkdir(path.join(dir, 'labels'));
      await writeFile(path.join(dir, 'labels', 'imagenet_labels.txt'), 'background\n');
      process.env.CORAL_TEST_DATA = dir;
      assert.equal(testDataCandidates()[0], dir);
      assert.equal(testDataPath('labels/imagenet_labels.txt'), path.join(dir, 'labels', 'imagenet_labels.txt'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails naming every place it looked and how to get the data', () => {
    process.env.CORAL_TEST_DATA = path.join(tmpdir(), 'coral-no-such-dir');
    const missing = 'models/no_such_model.tflite';
    assert.throws(() => testDataPath(missing), (err: unknown) => {
      assert.ok(err instanceof TestDataMissingError);
      assert.deepEqual(err.looked, testDataCandidates());
      assert.equal(err.looked.length, 2);
      for (const place of err.looked) assert.ok(err.message.includes(place), place);
      assert.match(err.message, /no_such_model\.tflite/);
      assert.match(err.message, /CORAL_TEST_DATA/);
      assert.match(err.message, /fetch-test-data\.sh/);
      return true;
    });
  });
});
