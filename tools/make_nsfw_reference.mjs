#!/usr/bin/env node
// Reference outputs of the original nsfwjs MobileNetV2, computed by TensorFlow.js itself, for the test that proves
// our ONNX conversion (tests/Media.Tests/Embeddings/NsfwPackTests.cs). Run once; the output is committed.
//
//   npm install --prefix .deps/nsfw-ref --no-audit --no-fund --ignore-scripts @tensorflow/tfjs@4.22.0
//   make packs                                # unpacks nsfwjs into .deps/nsfwjs/package
//   node tools/make_nsfw_reference.mjs [--package .deps/nsfwjs/package] [--tfjs .deps/nsfw-ref]
//
// Inputs: a few photos from ../shared/pdq/images (and one synthetic ffmpeg test pattern) decoded and scaled to
// 224x224 RGB24 by ffmpeg, stored as raw .rgb files in tests/Media.Tests/Fixtures/nsfw/ (150,528 bytes each). Both
// sides read those exact bytes and feed float32(byte / 255) in [1, 224, 224, 3] (tfjs, NHWC) or [1, 3, 224, 224]
// (ONNX, NCHW), so the comparison checks the conversion, not a resizer. The ffmpeg command is recorded per image;
// a later ffmpeg may decode a byte differently, which is why the bytes themselves are the fixture.
//
// Output: tests/Media.Tests/Fixtures/nsfw/reference.json: per image the .rgb file, its SHA-256 and provenance,
// the 5 probabilities, and the pooled feature (flatten_1, the 1280-d input of the classifier head): its L2 norm,
// its first values and its largest values with their indexes.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const packageDir = path.resolve(root, arg("--package", ".deps/nsfwjs/package"));
const tfjsDir = path.resolve(root, arg("--tfjs", ".deps/nsfw-ref"));
const outDir = path.join(root, "tests/Media.Tests/Fixtures/nsfw");
const shared = path.resolve(root, "..", "shared");

const SIZE = 224;
const LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"];
const FIRST = 16; // pooled-feature values kept in the JSON: the first ones (many are 0 after ReLU6) ...
const TOP = 8; // ... and the largest ones, as [index, value]
// id -> ffmpeg input arguments (paths relative to ../shared)
const IMAGES = [
  { id: "bridge-orig", input: ["-i", "pdq/images/bridge-mods/aaa-orig.jpg"] },
  { id: "q0003", input: ["-i", "pdq/images/labelme-subset/q0003.jpg"] },
  { id: "q0004", input: ["-i", "pdq/images/labelme-subset/q0004.jpg"] },
  { id: "testsrc2", input: ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=1:duration=1"] },
];

const require = createRequire(path.join(tfjsDir, "package.json"));
const tf = require("@tensorflow/tfjs");
await tf.setBackend("cpu");

const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
const modelDir = path.join(packageDir, "dist/models/mobilenet_v2");
// The bundles are UMD/CommonJS modules (dist/models/package.json says "type": "commonjs"): require them as nsfwjs does.
const requireModel = createRequire(path.join(modelDir, "model.min.js"));
const modelJson = requireModel("./model.min.js");
const weightSpecs = [];
const buffers = [];
for (const group of modelJson.weightsManifest) {
  for (const p of group.paths) buffers.push(Buffer.from(requireModel(`./${p}.min.js`), "base64"));
  weightSpecs.push(...group.weights);
}
const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
const head = model.layers.find((l) => l.getClassName() === "Dense");
const feature = head.inboundNodes[0].inboundLayers[0];
const probe = tf.model({ inputs: model.inputs, outputs: [feature.output, model.outputs[0]] });

fs.mkdirSync(outDir, { recursive: true });
const images = [];
for (const { id, input } of IMAGES) {
  const file = `${id}.rgb`;
  const args = ["-v", "error", "-nostdin", ...input, "-frames:v", "1",
    "-vf", `scale=${SIZE}:${SIZE}:flags=bilinear`, "-f", "rawvideo", "-pix_fmt", "rgb24", "-y", file];
  execFileSync("ffmpeg", args.map((a) => (a.startsWith("pdq/") ? path.join(shared, a) : a === file ? path.join(outDir, file) : a)));
  const bytes = fs.readFileSync(path.join(outDir, file));
  if (bytes.length !== SIZE * SIZE * 3) throw new Error(`${file}: ${bytes.length} bytes`);
  const x = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) x[i] = bytes[i] / 255; // float32(byte / 255), as C# computes it
  const [f, p] = tf.tidy(() => probe.predict(tf.tensor4d(x, [1, SIZE, SIZE, 3])).map((t) => t.dataSync().slice()));
  const norm = Math.sqrt(f.reduce((s, v) => s + v * v, 0));
  const probs = Array.from(p);
  images.push({
    id,
    file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    made: `ffmpeg ${args.join(" ")}`.replaceAll("pdq/", "../shared/pdq/"),
    probs,
    top: LABELS[probs.indexOf(Math.max(...probs))],
    featureNorm: norm,
    featureFirst: Array.from(f.slice(0, FIRST)),
    featureTop: Array.from(f.keys()).sort((a, b) => f[b] - f[a] || a - b).slice(0, TOP).map((i) => [i, f[i]]),
  });
  console.log(`${id}: ${LABELS.map((l, i) => `${l} ${probs[i].toFixed(6)}`).join("  ")}  |feature| ${norm.toFixed(4)}`);
}

const reference = {
  description: "nsfwjs MobileNetV2 run by TensorFlow.js on raw 224x224 RGB24 inputs fed as float32(byte/255), NHWC; " +
    "written by tools/make_nsfw_reference.mjs",
  nsfwjs: pkg.version,
  model: "dist/models/mobilenet_v2",
  tfjs: tf.version.tfjs,
  backend: tf.getBackend(),
  size: SIZE,
  labels: LABELS,
  feature: { layer: feature.name, dimension: feature.outputShape[1], first: FIRST, top: TOP },
  images,
};
fs.writeFileSync(path.join(outDir, "reference.json"), JSON.stringify(reference, null, 2) + "\n");
console.log(`wrote ${path.relative(root, path.join(outDir, "reference.json"))}`);
