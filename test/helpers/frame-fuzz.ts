/**
 * Seeded hostile MQTT frames for the daemon: mutated JPEG and PNG, JSON with base64 images (and broken
 * JSON), random bytes, empty and oversize payloads, each with a random set of MQTT v5 properties.
 */
import sharp from 'sharp';
import type { IClientPublishOptions } from 'mqtt';
import { testDataPath } from '../../src/testdata.js';
import { below, mutateBytes, pick, randomBytes, type Random } from './seeded.js';

export interface FuzzFrame {
  readonly kind: string;
  readonly payload: Buffer;
  readonly properties: NonNullable<IClientPublishOptions['properties']>;
}

export interface FrameSeeds {
  readonly jpeg: Buffer;
  readonly png: Buffer;
}

/** Small real images (so that decoding, the part worth fuzzing, is quick): a 160x120 JPEG and a 96x96 PNG. */
export async function frameSeeds(): Promise<FrameSeeds> {
  const [jpeg, png] = await Promise.all([
    sharp(testDataPath('images/cat_720p.jpg')).resize(160, 120).jpeg({ quality: 80 }).toBuffer(),
    sharp(testDataPath('images/bird.png')).resize(96, 96).png().toBuffer(),
  ]);
  return { jpeg, png };
}

const SIGNATURES = [Buffer.from([0xff, 0xd8, 0xff]), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('{')];
const ODD_VALUES: unknown[] = [null, true, -1, 1.5, 1e400, '', 'x', [], {}, '9007199254740993', 2 ** 53, '2024-13-45T99:00:00Z'];

function image(r: Random, seeds: FrameSeeds): Buffer {
  const base = r() < 0.5 ? seeds.jpeg : seeds.png;
  return r() < 0.1 ? base : mutateBytes(r, base);
}

/** A JSON frame: well-formed with a (mutated) image, or with odd field values, or broken text. */
function json(r: Random, seeds: FrameSeeds): Buffer {
  const body: Record<string, unknown> = { image: image(r, seeds).toString('base64') };
  if (r() < 0.5) body.sequence = r() < 0.5 ? below(r, 1e6) : pick(r, ODD_VALUES);
  if (r() < 0.5) body.timestamp = r() < 0.5 ? Date.now() : pick(r, ODD_VALUES);
  if (r() < 0.15) body.image = pick(r, ODD_VALUES);
  if (r() < 0.1) body.image = randomBytes(r, below(r, 300)).toString('base64');
  const text = Buffer.from(JSON.stringify(body));
  return r() < 0.3 ? mutateBytes(r, text) : text;
}

const PAYLOADS: Record<string, (r: Random, seeds: FrameSeeds, maxPayloadBytes: number) => Buffer> = {
  jpeg: (r, s) => (r() < 0.1 ? s.jpeg : mutateBytes(r, s.jpeg)),
  png: (r, s) => (r() < 0.1 ? s.png : mutateBytes(r, s.png)),
  json: (r, s) => json(r, s),
  random: (r) => {
    const bytes = randomBytes(r, 1 + below(r, 4096));
    if (r() < 0.5) pick(r, SIGNATURES).copy(bytes);
    return bytes;
  },
  empty: () => Buffer.alloc(0),
  oversize: (r, s, max) => {
    const bytes = Buffer.alloc(max + 1 + below(r, 4096), below(r, 256));
    (r() < 0.5 ? s.jpeg : pick(r, SIGNATURES)).copy(bytes);
    return bytes;
  },
};
/** How often each kind comes up, in parts of the total. */
const WEIGHTS: Record<string, number> = { jpeg: 30, png: 20, json: 25, random: 15, empty: 5, oversize: 5 };
const KINDS = Object.entries(WEIGHTS).flatMap(([kind, w]) => Array<string>(w).fill(kind));

const CONTENT_TYPES = ['application/json', 'image/jpeg', 'text/plain', 'application/vnd.x+json', '', 'application/jsonx'];
const ODD_STRINGS = ['1', '-1', 'abc', '1e400', '9007199254740993', '', ' ', '2024-05-01T10:00:00Z', '0x10'];
/** Response topics a publisher may name: the hostile ones are not topic names a client may publish to. */
export const HOSTILE_RESPONSE_TOPICS = ['#', 'a/+/b', 'a/#', '+', ''];

/** MQTT v5 properties, most of the time none. */
function properties(r: Random, replyPrefix: string): FuzzFrame['properties'] {
  const p: FuzzFrame['properties'] = {};
  if (r() < 0.15) p.contentType = pick(r, CONTENT_TYPES);
  if (r() < 0.15) p.userProperties = { [pick(r, ['sequence', 'timestamp', 'other'])]: pick(r, ODD_STRINGS) };
  if (r() < 0.05) p.messageExpiryInterval = below(r, 3);
  if (r() < 0.1) p.responseTopic = r() < 0.5 ? `${replyPrefix}/${below(r, 4)}` : pick(r, HOSTILE_RESPONSE_TOPICS);
  if (r() < 0.1) p.correlationData = randomBytes(r, below(r, 64));
  return p;
}

/** The frame for one seed; replies that a frame asks for go under `replyPrefix`. */
export function fuzzFrame(r: Random, seeds: FrameSeeds, maxPayloadBytes: number, replyPrefix: string): FuzzFrame {
  const kind = pick(r, KINDS);
  return { kind, payload: PAYLOADS[kind]!(r, seeds, maxPayloadBytes), properties: properties(r, replyPrefix) };
}
