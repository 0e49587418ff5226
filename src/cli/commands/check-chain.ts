/** `coral-pipe check-chain SEGMENT...`: do these segment files, in this order, form one pipeline? */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import type { ChainAnalysis } from '../../model/segment/chain.js';
import { checkSegmentFiles } from '../../model/segment/check-files.js';

const spec = (s: { dtype: string; shape: readonly number[] }) => `${s.dtype}[${s.shape.join('x')}]`;

/** The flow, one line per tensor: where it comes from, who reads it, which segments it skips. */
export function describeFlow(chain: ChainAnalysis): string {
  const from = (i: number) => (i < 0 ? 'input' : `segment ${i}`);
  const lines = chain.segments.map((s, i) => `segment ${i}: ${s.name}  reads ${s.reads.length}, writes ${s.writes.length}`);
  lines.push('', 'tensor flow:');
  for (const [name, flow] of chain.tensors) {
    const to = flow.consumers.length > 0 ? `segment ${flow.consumers.join(', ')}` : '';
    const out = flow.isOutput ? 'pipeline output' : '';
    const skips = flow.skips.length > 0 ? `  (skips segment ${flow.skips.join(', ')})` : '';
    lines.push(`  ${from(flow.producer)} -> ${[to, out].filter(Boolean).join(' + ')}: ${name} ${spec(flow.spec)}${skips}`);
  }
  return `${lines.join('\n')}\n`;
}

const command: Command = {
  name: 'check-chain',
  summary: 'Check that segment files, in the order given, chain into one pipeline; print the tensor flow',
  usage: 'coral-pipe check-chain [--json] SEGMENT...',
  async run(argv) {
    const parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (parsed.positionals.length === 0) throw new UsageError('give the segment files, segment 0 first');
    const { chain } = await checkSegmentFiles(parsed.positionals);
    if (parsed.values.json) {
      const tensors = [...chain.tensors].map(([name, f]) => ({
        name, dtype: f.spec.dtype, shape: f.spec.shape, producer: f.producer, consumers: f.consumers, isOutput: f.isOutput, skips: f.skips,
      }));
      const json = { ok: true, segments: chain.segments.map((s) => s.name), inputs: chain.inputs.map((t) => t.name), outputs: chain.outputs.map((t) => t.name), tensors };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      process.stdout.write(`chain OK: ${chain.segments.length} segments, ${chain.inputs.length} inputs, ${chain.outputs.length} outputs\n${describeFlow(chain)}`);
    }
    return 0;
  },
};

export default command;
