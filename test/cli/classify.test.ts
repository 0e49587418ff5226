import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDataPath } from '../../src/testdata.js';
import { runCli, type CliResult } from '../helpers/cli.js';

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
      [['--model', testDataPath('models/deeplabv3_mnv2_dm05_pascal_quant.tflite'), '--labels', testDataPath('labels/pascal_voc_segmentation_labels.txt'), image('cat.png')],
        /deeplabv3_mnv2_dm05_pascal_quant\.tflite: output "ArgMax" has shape \[1, 513, 513\], not a vector of class scores/],
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

  describe('labels that do not fit the model\'s 1001 outputs', () => {
    let dir: string;
    /** A labels file in `dir` holding these lines of imagenet_labels.txt (1001 lines, background first). */
    const labelsFile = async (name: string, pick: (lines: string[]) => string[]) => {
      const file = path.join(dir, name);
      await writeFile(file, `${pick((await readFile(labels(), 'utf8')).trimEnd().split('\n')).join('\n')}\n`);
      return file;
    };
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'coral-pipe-labels-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('refuses 965, 3 or 1003 of them with one line naming the file, the count and the count needed', async () => {
      for (const [name, pick] of [
        ['birds.txt', (l: string[]) => l.slice(0, 965)],
        ['three.txt', (l: string[]) => l.slice(0, 3)],
        ['extra.txt', (l: string[]) => [...l, 'x', 'y']],
      ] as const) {
        const file = await labelsFile(name, pick);
        const r = await classify('--model', model(), '--labels', file, image('parrot.jpg'));
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, '');
        const count = name === 'birds.txt' ? 965 : name === 'three.txt' ? 3 : 1003;
        assert.match(r.stderr, new RegExp(`^coral-pipe classify: LabelsError: ${file.replace(/\./g, '\\.')} has ${count} labels but the model's output has 1001 classes: give 1001 labels.*\n$`));
      }
    });

    it('reads 1000 labels (no background) and 1002 (an extra background first) by the offset rule, with a note: parrot.jpg is still a macaw', async () => {
      const [file, index, label] = REFERENCE.find(([f]) => f === 'parrot.jpg')!;
      for (const [name, pick, note] of [
        ['no-background.txt', (l: string[]) => l.slice(1), /has 1000 labels for 1001 outputs: .*output 0 is "background"/],
        ['two-backgrounds.txt', (l: string[]) => ['background', ...l], /has 1002 labels for 1001 outputs: its first label "background" is not an output/],
      ] as const) {
        const r = await classify('--model', model(), '--labels', await labelsFile(name, pick), '--json', '--top-k', '1', image(file));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^note: .*${name.replace(/\./g, '\\.')} ${note.source}`));
        const top = (JSON.parse(r.stdout) as JsonResult[])[0]!.classes[0]!;
        assert.deepEqual([top.index, top.label], [index, label], name);
      }
    });
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
