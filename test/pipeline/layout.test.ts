/** A pipeline's layout in words (src/pipeline/layout.ts): what tune prints, what a config takes back. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeLayout, LayoutSyntaxError, parseLayout, type Layout } from '../../src/pipeline/layout.js';

describe('layout words', () => {
  it('reads back every layout it writes', () => {
    const layouts: Layout[] = [
      { replicas: [1] },
      { replicas: [3] },
      { strategy: 'params', replicas: [1, 1, 1] },
      { strategy: 'latency', replicas: [2, 1] },
      { replicas: [1, 2] },
    ];
    for (const layout of layouts) assert.deepEqual(parseLayout(describeLayout(layout)), layout, describeLayout(layout));
    assert.deepEqual(layouts.map(describeLayout), ['whole model', 'whole model x 3', '3 segments (params)', '2 segments (latency) x [2, 1]', '2 segments x [1, 2]']);
  });

  it('takes spacing as a person types it', () => {
    assert.deepEqual(parseLayout('  2  segments (latency)  x [2,1] '), { strategy: 'latency', replicas: [2, 1] });
  });

  it('says what it expected when the words are not a layout', () => {
    const refused = (text: string, pattern: RegExp) => assert.throws(() => parseLayout(text), (e: unknown) => e instanceof LayoutSyntaxError && pattern.test(e.message));
    refused('2 segmentz', /"2 segmentz" is not a layout; write it as coral-pipe tune prints it, e\.g\. "whole model x 2"/);
    refused('2 segments (fastest)', /is not a layout/);
    refused('1 segments', /one segment is the "whole model"/);
    refused('3 segments (params) x [2, 1]', /give 3 replica counts of at least 1, one per segment/);
    refused('2 segments x [0, 1]', /give 2 replica counts of at least 1/);
    refused('whole model x 0', /at least 1 replica/);
  });
});
