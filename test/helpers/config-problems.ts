/** What the config parser says about a config text, for tests of its refusals. */
import assert from 'node:assert/strict';
import { ConfigError, type ConfigProblem } from '../../src/daemon/config/config-error.js';
import { parseConfigText } from '../../src/daemon/config/config-parse.js';

/** The problems parseConfigText reports for `text` (as file c.yaml); fails the test if it accepts it. */
export function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfigText(text, 'c.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  assert.fail(`accepted: ${text}`);
}
