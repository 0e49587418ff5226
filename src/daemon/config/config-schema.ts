/**
 * The daemon's config file, as a zod schema: the single source of truth for validation, the defaults,
 * the TypeScript types and the JSON Schema shipped in config/coral-pipe.schema.json.
 */
import { z } from 'zod';
import { parseLayout, type Layout } from '../../pipeline/layout.js';

/**
 * One level of an MQTT topic that we build ourselves (`<prefix>/<node>/camera/<id>/...`): a `/` would
 * add levels, `+`/`#` would turn a publish topic into a filter, NUL is forbidden by the MQTT spec.
 */
const TOPIC_LEVEL = /^[^/+#\u0000]+$/;
const topicLevel = (what: string) =>
  z.string().regex(TOPIC_LEVEL, { error: `${what} must be one non-empty topic level without "/", "+", "#" or NUL` });

/** A topic prefix may have several levels, but each must be a plain level. */
const topicPrefix = (what: string) =>
  z.string().regex(/^[^/+#\u0000]+(\/[^/+#\u0000]+)*$/, {
    error: `${what} must be non-empty topic levels separated by "/", without "+", "#", NUL or empty levels`,
  });

/** A frame topic is subscribed as is: wildcards would merge several sources into one camera's slot. */
const frameTopic = z
  .string()
  .regex(/^[^+#\u0000$][^+#\u0000]*$/, {
    error: 'frame topic must be a topic name without wildcards ("+", "#"), NUL, or a leading "$"',
  });

const CAMERA_ID = /^[A-Za-z0-9_-]+$/;

const crop = z
  .strictObject({
    x: z.number().int().min(0).describe('left edge, pixels'),
    y: z.number().int().min(0).describe('top edge, pixels'),
    width: z.number().int().min(1),
    height: z.number().int().min(1),
  })
  .describe('region of the frame to classify, in source pixels');

const dropPolicy = z
  .enum(['newest', 'oldest'])
  .describe('which waiting frame a camera keeps when frames arrive faster than the pipeline runs');

const cameraObject = z.strictObject({
  topics: z.array(frameTopic).min(1).describe('topics this camera publishes frames on'),
  crop: crop.optional(),
  dropPolicy: dropPolicy.optional().describe('overrides limits.dropPolicy for this camera'),
});

/** A camera is a topic, a list of topics, or the full object; all normalise to the object. */
const camera = z
  .union([frameTopic, z.array(frameTopic).min(1), cameraObject])
  .transform((c): z.output<typeof cameraObject> =>
    typeof c === 'string' ? { topics: [c] } : Array.isArray(c) ? { topics: c } : c,
  );

const tls = z.strictObject({
  ca: z.string().min(1).optional().describe('CA certificate file (PEM) that signs the broker certificate'),
  cert: z.string().min(1).optional().describe('client certificate file (PEM)'),
  key: z.string().min(1).optional().describe('client private key file (PEM)'),
});

const mqtt = z
  .strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, { error: 'url must look like mqtt://host:1883 or mqtts://host:8883' })
      .default('mqtt://localhost:1883'),
    clientId: z.string().min(1).max(128).optional().describe('default: coral-pipe-<node>'),
    username: z.string().optional(),
    password: z.string().optional(),
    passwordFile: z.string().min(1).optional().describe('file whose first line is the password (keeps it out of this file)'),
    tls: tls.optional(),
    keepalive: z.number().int().min(0).max(65535).default(30).describe('seconds'),
    resultQos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    resultExpirySeconds: z.number().int().min(1).optional().describe('MQTT v5 message expiry of results'),
    topicPrefix: topicPrefix('topic prefix').default('coral-pipe'),
    sharedGroup: topicLevel('shared group')
      .optional()
      .describe('subscribe frame topics as $share/<group>/<topic> so appliances on one broker split the frames'),
    reconnectMinMs: z.number().int().min(10).default(1000),
    reconnectMaxMs: z.number().int().min(10).default(30000),
    maxBufferedMessages: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe('results kept while disconnected; older ones beyond this are dropped and counted'),
  })
  .superRefine((m, ctx) => {
    if (m.password !== undefined && m.passwordFile !== undefined)
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
    if (m.reconnectMaxMs < m.reconnectMinMs)
      ctx.addIssue({ code: 'custom', path: ['reconnectMaxMs'], message: 'must be at least reconnectMinMs' });
  });

const deviceId = z.string().min(1).describe('e.g. usb:0, pci:0, usb:/sys/bus/usb/devices/2-1, cpu:0 (LiteRT.js, else native TensorFlow Lite), litert:0, tflite:0');

const model = z
  .strictObject({
    name: z.string().min(1).optional().describe('default: the model file name without extension'),
    file: z.string().min(1).optional().describe('the whole model; split into `segments` by `strategy`'),
    segments: z.number().int().min(1).max(64).optional().describe('default 1'),
    strategy: z
      .enum(['params', 'latency'])
      .optional()
      .describe('how to split `file`: params (equal parameter bytes per segment, the default) or latency (measured, slowest segment minimised)'),
    segmentFiles: z.array(z.string().min(1)).min(1).optional().describe('already-split segment files, in order'),
    layout: z
      .string()
      .min(1)
      .optional()
      .describe('segments, cut and replicas per segment in the words `coral-pipe tune` prints, e.g. "whole model x 2" or "2 segments (latency) x [2, 1]"; instead of segments and strategy'),
    labels: z.string().min(1).optional().describe('labels file, one label per line'),
  })
  .superRefine((m, ctx) => {
    if ((m.file === undefined) === (m.segmentFiles === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of model.file or model.segmentFiles' });
    if (m.segmentFiles !== undefined && m.segments !== undefined && m.segments !== m.segmentFiles.length)
      ctx.addIssue({ code: 'custom', path: ['segments'], message: `is ${m.segments} but segmentFiles lists ${m.segmentFiles.length}` });
    if (m.segmentFiles !== undefined && m.strategy !== undefined)
      ctx.addIssue({ code: 'custom', path: ['strategy'], message: 'only applies to model.file' });
    if (m.layout === undefined) return;
    for (const field of ['segments', 'strategy'] as const)
      if (m[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'model.layout already says it: give one or the other' });
    let layout: Layout;
    try {
      layout = parseLayout(m.layout);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['layout'], message: (err as Error).message });
      return;
    }
    if (m.segmentFiles !== undefined && layout.replicas.length !== m.segmentFiles.length)
      ctx.addIssue({ code: 'custom', path: ['layout'], message: `says ${layout.replicas.length} segment(s) but segmentFiles lists ${m.segmentFiles.length}` });
  })
  // model.layout in the fields the rest of the daemon reads: segments, strategy and replicas per segment.
  .transform((m): typeof m & { readonly replicas?: readonly number[] } => {
    if (m.layout === undefined) return m;
    const { replicas, strategy } = parseLayout(m.layout);
    return { ...m, segments: replicas.length, ...(strategy !== undefined && m.file !== undefined && { strategy }), replicas };
  });

/** A model is a file path or the full object. */
const modelOrPath = z
  .union([z.string().min(1), model])
  .transform((m): z.output<typeof model> => (typeof m === 'string' ? { file: m } : m));

const limits = z.strictObject({
  maxPayloadBytes: z.number().int().min(1).default(8 * 1024 * 1024).describe('frames larger than this are refused before decoding'),
  maxImagePixels: z.number().int().min(1).default(40_000_000).describe('images whose header declares more pixels are refused'),
  queueDepth: z.number().int().min(1).optional().describe('frames being decoded or in the pipeline at once; default 2 x segments + 2 (fewer lowers latency under overload and throughput with it)'),
  dropPolicy: dropPolicy.default('newest'),
});

const homeAssistant = z
  .strictObject({
    discovery: z.boolean().default(false).describe('publish MQTT discovery configs so Home Assistant shows a sensor per camera'),
    discoveryPrefix: topicPrefix('discovery prefix')
      .default('homeassistant')
      .describe("Home Assistant's discovery_prefix; its <prefix>/status `online` makes the daemon publish the configs again"),
  })
  .describe('Home Assistant MQTT discovery (off unless discovery: true)');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('for editors: path or URL of coral-pipe.schema.json'),
    node: topicLevel('node').optional().describe('this appliance in topics; default: the host name'),
    mqtt: mqtt.default(() => mqtt.parse({})),
    cameras: z
      .record(z.string().regex(CAMERA_ID, { error: 'camera id must be letters, digits, "_" or "-"' }), camera)
      .refine((c) => Object.keys(c).length > 0, { error: 'at least one camera is needed' })
      .describe('camera id -> frame topic(s) and options'),
    model: modelOrPath,
    topK: z.number().int().min(1).max(1000).default(5),
    scoreThreshold: z.number().min(0).max(1).default(0).describe('results below this score (0..1) are left out'),
    devices: z
      .union([z.literal('auto'), z.array(z.union([deviceId, z.array(deviceId).min(1)])).min(1)])
      .default('auto')
      .describe('auto, or one entry per segment: a device id or a list of replicas'),
    limits: limits.default(() => limits.parse({})),
    statsIntervalSeconds: z.number().min(1).default(60),
    homeAssistant: homeAssistant.default(() => homeAssistant.parse({})),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .default({ level: 'info' }),
  })
  .superRefine((c, ctx) => {
    // zod runs this even after non-fatal issues elsewhere (a bad camera id), so read defensively.
    const segments = c.model?.segmentFiles?.length ?? c.model?.segments ?? 1;
    if (Array.isArray(c.devices) && c.devices.length !== segments)
      ctx.addIssue({
        code: 'custom',
        path: ['devices'],
        message: `lists ${c.devices.length} entries but the model has ${segments} segment(s): give one per segment`,
      });
    else if (Array.isArray(c.devices) && c.model?.replicas !== undefined)
      for (const [i, entry] of c.devices.entries()) {
        const given = typeof entry === 'string' ? 1 : entry.length;
        const wanted = c.model.replicas[i] ?? 1;
        if (given !== wanted) ctx.addIssue({ code: 'custom', path: ['devices', i], message: `model.layout gives segment ${i} ${wanted} replica(s) but this entry names ${given} device(s)` });
      }
    // The daemon reads Home Assistant's birth message there, so it cannot also carry a camera's frames.
    const birth = c.homeAssistant?.discovery ? `${c.homeAssistant.discoveryPrefix}/status` : undefined;
    const owner = new Map<string, string>();
    for (const [id, cam] of Object.entries(c.cameras ?? {}))
      for (const [i, topic] of (cam?.topics ?? []).entries()) {
        const other = owner.get(topic);
        if (other !== undefined)
          ctx.addIssue({ code: 'custom', path: ['cameras', id, 'topics', i], message: `topic "${topic}" is already camera "${other}"'s` });
        if (topic === birth)
          ctx.addIssue({ code: 'custom', path: ['cameras', id, 'topics', i], message: `topic "${topic}" is where Home Assistant announces itself (homeAssistant.discoveryPrefix + "/status")` });
        owner.set(topic, id);
      }
  });

/** The config as written (before defaults), e.g. for building one in code. */
export type ConfigInput = z.input<typeof configSchema>;
/** The config after validation and defaults, paths still as written. */
export type ParsedConfig = z.output<typeof configSchema>;
export type CameraConfig = ParsedConfig['cameras'][string];

/**
 * The JSON Schema editors use, as the text of config/coral-pipe.schema.json: generated by
 * `coral-pipe check-config --schema`, never edited by hand (a test keeps the shipped file equal).
 * It describes the file as written (`io: 'input'`), so defaulted fields are optional.
 */
export function configJsonSchemaText(): string {
  const schema = { ...z.toJSONSchema(configSchema, { io: 'input' }), title: 'coral-pipe daemon configuration' };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
