import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testDataPath } from '../src/testdata.js';
import { runCli, type CliResult } from './helpers/cli.js';

const classify = (...args: string[]): Promise<CliResult> => runCli('classify', ...args);

const model = () => testDataPath('models/mobilenet_v2_1.0_224_quant.tflite');
const labels = () => testDataPath('labels/imagenet_labels.txt');
const image = (name: string) => testDataPath(`images/${name}`);

/** The reference table of the test data's README: top-1 by the official TFLite runtime. */
const REFERENCE: [string, number, string, number][] = [
  ['cat.png', 286, 'Egyptian cat', 189],
  ['cat_720p.jpg', 286, 'Egyptian cat', 199],
  ['bird.png', 20, 'chickadee', 251],
  ['grace_hopper.png', 653, 'military uniform', 233],
  ['parrot.jpg', 89, 'macaw', 255],
  ['hot_dog.jpg', 935, 'hotdog, hot dog, red hot', 238],
  ['owl.jpg', 83, 'ruffed grouse', 188],
];

interface JsonResult {
  image: string;
  classes: { index: number; label?: string; score: number; raw: number }[];
}

describe('coral-pipe classify', () => {
  it('gives the reference top-1 (index and label) for every test image, scores within 3 of it', async () => {
    const r = await classify('--model', model(), '--labels', labels(), '--json', '--top-k', '2', ...REFERENCE.map(([f]) => image(f)));
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const results = JSON.parse(r.stdout) as JsonResult[];
    assert.equal(results.length, REFERENCE.length);
    REFERENCE.forEach(([file, index, label, raw], i) => {
      const result = results[i]!;
      assert.equal(result.image, image(file));
      assert.equal(result.classes.length, 2);
      const top = result.classes[0]!;
      assert.equal(top.index, index, file);
      // The README shortens the owl's label to its first name.
      assert.ok(top.label === label || top.label!.startsWith(`${label},`), `${file}: ${top.label}`);
      assert.ok(Math.abs(top.raw - raw) <= 3, `${file}: raw ${top.raw}, reference ${raw}`);
      assert.equal(top.score, top.raw / 256, 'the output quantization is 1/256, zero point 0');
    });
  });

  it('prints "index label score (raw)" lines under each image', async () => {
    const r = await classify('--model', model(), '--labels', labels(), '--top-k', '3', image('cat.png'));
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${image('cat.png')}:`);
    assert.equal(lines.length, 4);
    assert.match(lines[1]!, /^286 Egyptian cat 0\.\d{3} \(\d+\)$/);
    for (const line of lines.slice(2)) assert.match(line, /^\d+ .+ [01]\.\d{3} \(\d+\)$/);
  });

  it('fails with one line naming the problem: model that cannot run on the CPU, missing files, non-images', async () => {
    const cases: [string[], RegExp][] = [
      [['--model', testDataPath('models/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), '--labels', labels(), image('cat.png')],
        /edgetpu_?.*: .*custom op "edgetpu-custom-op"/],
      [['--model', '/nonexistent/m.tflite', '--labels', labels(), image('cat.png')], /cannot read model file \/nonexistent\/m\.tflite: no such file/],
      [['--model', model(), '--labels', '/nonexistent/l.txt', image('cat.png')], /cannot read labels file \/nonexistent\/l\.txt/],
      [['--model', model(), '--labels', labels(), labels()], /imagenet_labels\.txt: cannot decode/],
    ];
    for (const [args, message] of cases) {
      const r = await classify(...args);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^coral-pipe classify: /);
      assert.match(lines[0]!, message);
    }
  });

  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [[], ['--model', model(), image('cat.png')], ['--model', model(), '--labels', labels(), '--top-k', 'x', image('cat.png')],
      ['--bogus']]) {
      const r = await classify(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /usage: coral-pipe classify --model MODEL/);
    }
  });
});
