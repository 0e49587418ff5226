import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: this file is at src/testdata.ts, or dist/src/testdata.js once built. */
const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

export class TestDataMissingError extends Error {
  constructor(readonly looked: string[], what: string) {
    super(
      `Coral test data not found (needed ${what}); looked in: ${looked.join(', ')}. ` +
        'Set CORAL_TEST_DATA to a folder holding models/, images/ and labels/, ' +
        'or download one with scripts/fetch-test-data.sh DIR.',
    );
    this.name = 'TestDataMissingError';
  }
}

/** Where test data is looked for, in order: $CORAL_TEST_DATA, then ../shared/testdata beside the project. */
export function testDataCandidates(): string[] {
  const env = process.env.CORAL_TEST_DATA;
  return [...(env ? [path.resolve(env)] : []), path.resolve(projectRoot, '..', 'shared', 'testdata')];
}

/** The absolute path of `relative` inside the first test-data folder that holds it. */
export function testDataPath(relative = '.'): string {
  const looked = testDataCandidates();
  for (const dir of looked) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
  }
  throw new TestDataMissingError(looked, relative);
}
