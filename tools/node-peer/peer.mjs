// The Node peer of `media bench pipeline`: what a competent team would write instead of Media's encode path, with
// onnxruntime-node and sharp (libvips). Per photo: read, SHA-256, decode, bicubic resize of the shortest edge to the
// pack's size, centre crop, normalise to CHW float32; batches of 16 into one ONNX Runtime session with 2 intra-op
// threads. The next batch is decoded (on libuv's thread pool) while the current one runs.
//
//   node peer.mjs --pack DIR --photos DIR [--threads 2] [--batch 16] [--passes 4]
//       prints {"images", "passes", "imagesPerSecond", "firstPassImagesPerSecond"}: the median images/s of the passes
//       after the first (steady state)
//   node peer.mjs --pack DIR --one FILE
//       embeds one photo and exits: the start-up measurement (timed from outside, whole process)
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const threads = Number(args.threads ?? 2);
const batchSize = Number(args.batch ?? 16);
const passes = Math.max(2, Number(args.passes ?? 4));

const pack = JSON.parse(await readFile(path.join(args.pack, 'pack.json'), 'utf8'));
const tower = pack.image;
const pre = tower.preprocess;
const size = pre.cropSize ?? 224;
const mean = pre.mean ?? [0.48145466, 0.4578275, 0.40821073];
const std = pre.std ?? [0.26862954, 0.26130258, 0.27577711];
const session = await ort.InferenceSession.create(path.join(args.pack, tower.model.file), {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
});

/** read → SHA-256 → decode → resize shortest edge (bicubic) → centre crop → normalised CHW floats into out[offset…]. */
async function preprocess(file, out, offset) {
  const bytes = await readFile(file);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const { data } = await sharp(bytes).removeAlpha().resize(size, size, { fit: 'cover', position: 'centre', kernel: 'cubic' })
    .raw().toBuffer({ resolveWithObject: true });
  const plane = size * size;
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < 3; c++) out[offset + c * plane + p] = (data[3 * p + c] / 255 - mean[c]) / std[c];
  return sha;
}

async function prepare(files) {
  const values = new Float32Array(files.length * 3 * size * size);
  await Promise.all(files.map((f, i) => preprocess(f, values, i * 3 * size * size)));
  return new ort.Tensor('float32', values, [files.length, 3, size, size]);
}

async function embed(files) {
  const batches = [];
  for (let i = 0; i < files.length; i += batchSize) batches.push(files.slice(i, i + batchSize));
  let next = prepare(batches[0]);
  let embedded = 0;
  for (let b = 0; b < batches.length; b++) {
    const input = await next;
    if (b + 1 < batches.length) next = prepare(batches[b + 1]);
    const result = await session.run({ [tower.input]: input });
    embedded += result[tower.output].dims[0];
  }
  return embedded;
}

if (args.one) {
  await embed([args.one]);
  process.stdout.write(JSON.stringify({ images: 1 }) + '\n');
} else {
  const files = (await readdir(args.photos)).sort().map(f => path.join(args.photos, f));
  const rates = [];
  for (let p = 0; p < passes; p++) {
    const start = process.hrtime.bigint();
    const n = await embed(files);
    rates.push(n / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  const steady = rates.slice(1).sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ images: files.length, passes, imagesPerSecond: steady[Math.floor(steady.length / 2)], firstPassImagesPerSecond: rates[0] }) + '\n');
}
