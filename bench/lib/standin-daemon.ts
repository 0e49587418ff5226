/**
 * `coral-pipe daemon` with its segments on stand-in accelerators (standin-accelerators.ts), as a child
 * process: the real service, MQTT, intake, decoding and replies; only the classifier factory differs.
 * Arguments: the config file, then a JSON file holding a StandInPipeline.
 */
import { readFileSync } from 'node:fs';
import { readLabels } from '../../src/classify/labels.js';
import type { ClassifierFactory } from '../../src/daemon/frames/classifier.js';
import { classifierOverRunner } from '../../src/daemon/frames/pipeline-classifier.js';
import { queueDepthFor } from '../../src/daemon/frames/queue-depth.js';
import { runService } from '../../src/daemon/lifecycle/service.js';
import { DeviceWatcher } from '../../src/devices/hotplug.js';
import { PipelinedModelRunner } from '../../src/pipeline/runner.js';
import { standInDeviceList, standInSegments, type StandInPipeline } from './standin-accelerators.js';

const [configFile, pipelineFile] = process.argv.slice(2);
if (configFile === undefined || pipelineFile === undefined) throw new Error('usage: standin-daemon.js CONFIG PIPELINE_JSON');
const pipeline = JSON.parse(readFileSync(pipelineFile, 'utf8')) as StandInPipeline;
process.env.FAKE_EDGETPU_DEVICES = standInDeviceList(pipeline);

const createClassifier: ClassifierFactory = async (config, log) => {
  const labels = config.model.labels === undefined ? undefined : await readLabels(config.model.labels);
  // As createPipelineClassifier sizes it: room for every frame the daemon lets in at once.
  const runner = await PipelinedModelRunner.create(standInSegments(pipeline), { inputQueueLimit: queueDepthFor(config.limits, pipeline.models.length) });
  return classifierOverRunner(runner, config, log, { name: 'stand-in accelerators', hash: 'stand-in', ...(labels && { labels }) });
};
// The stand-in devices are always present: no USB or sysfs scanning.
const deviceWatcher = new DeviceWatcher({ enumerate: async () => ({ devices: [...pipeline.devices], problems: [] }), pollIntervalMs: 0 });
process.exitCode = await runService({ configFile, createClassifier, deviceWatcher });
