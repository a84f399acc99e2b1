'use strict';
/*
 * Times face-api's per-face nets in node on crops written by bench/face_models.py --node-dir,
 * the way ../shared/data/faceapi_ref/make_ref.js timed them: faces one after another, median of RUNS
 * runs after one warm-up per image, divided by the face count; the median over images is printed as JSON.
 *
 * Setup (once, in a scratch dir outside the repo):
 *   npm init -y && npm install @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
 * Run (modules resolve from the current directory):
 *   node faceapi_node_timing.js CROP_DIR [RUNS]
 * CROP_DIR holds index.json {sample: {det|desc|al: [{file, width, height}]}} and raw RGB (H*W*3 uint8) files.
 */
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const req = createRequire(path.join(process.cwd(), 'package.json'));
const tf = req('@tensorflow/tfjs');
const wasm = req('@tensorflow/tfjs-backend-wasm');
const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');

const CROPS = process.argv[2];
const RUNS = Number(process.argv[3] || 5);

(async () => {
  wasm.setWasmPaths(path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(path.dirname(req.resolve('@vladmandic/face-api/package.json')), 'model');
  const N = faceapi.nets;
  for (const net of [N.faceLandmark68Net, N.faceLandmark68TinyNet, N.faceRecognitionNet, N.ageGenderNet, N.faceExpressionNet]) {
    await net.loadFromDisk(modelDir);
  }
  const index = JSON.parse(fs.readFileSync(path.join(CROPS, 'index.json')));
  const load = (e) => tf.tensor3d(new Int32Array(fs.readFileSync(path.join(CROPS, e.file))), [e.height, e.width, 3], 'int32');
  const sets = {};
  for (const [s, kinds] of Object.entries(index)) {
    sets[s] = {};
    for (const [k, entries] of Object.entries(kinds)) sets[s][k] = entries.map(load);
  }
  const tasks = {
    face_landmark_68: async (s) => { for (const f of sets[s].det) await N.faceLandmark68Net.detectLandmarks(f); },
    face_landmark_68_tiny: async (s) => { for (const f of sets[s].det) await N.faceLandmark68TinyNet.detectLandmarks(f); },
    face_recognition: async (s) => { for (const f of sets[s].desc) await N.faceRecognitionNet.computeFaceDescriptor(f); },
    age_gender: async (s) => { for (const f of sets[s].al) await N.ageGenderNet.predictAgeAndGender(f); },
    face_expression: async (s) => { for (const f of sets[s].al) await N.faceExpressionNet.predictExpressions(f); },
  };
  const med = (xs) => { const v = [...xs].sort((p, q) => p - q); return v[Math.floor(v.length / 2)]; };
  const out = { backend: tf.getBackend(), runs: RUNS, per_face_ms: {} };
  for (const [k, fn] of Object.entries(tasks)) {
    const perImage = [];
    for (const s of Object.keys(sets)) {
      await fn(s);
      const r = [];
      for (let i = 0; i < RUNS; i++) {
        const a = performance.now();
        await fn(s);
        r.push(performance.now() - a);
      }
      perImage.push(med(r) / sets[s].det.length);
    }
    out.per_face_ms[k] = med(perImage);
  }
  console.log(JSON.stringify(out));
})();
