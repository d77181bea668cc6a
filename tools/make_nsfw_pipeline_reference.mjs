#!/usr/bin/env node
// Reference outputs of nsfwjs itself on whole images, for the test that proves our *full* pipeline (decode, the pack's
// declared preprocessing "stretch" + "bilinear-align-corners", ONNX Runtime) against the original library:
// tests/Media.Tests/Embeddings/NsfwPipelineTests.cs. Run once; the output is committed.
//
//   npm install --prefix .deps/nsfw-ref --no-audit --no-fund --ignore-scripts @tensorflow/tfjs@4.22.0
//   make packs                                # unpacks nsfwjs into .deps/nsfwjs/package
//   node tools/make_nsfw_pipeline_reference.mjs [--package .deps/nsfwjs/package] [--tfjs .deps/nsfw-ref]
//
// Unlike tools/make_nsfw_reference.mjs (which feeds pre-resized 224x224 pixels, to check the conversion alone), this
// runs nsfwjs's own code: `nsfwjs.load("MobileNetV2")` and `model.infer(img)`, whose preprocessing is
// img.toFloat().div(255) -> tf.image.resizeBilinear(x, [224, 224], alignCorners = true) -> predict, on the tfjs "cpu"
// backend. `img` is the decoded image as an int32 [height, width, 3] tensor, what tf.browser.fromPixels or
// tf.node.decodeImage give nsfwjs. The decoding is Pillow's (Debian's /usr/bin/python3: libjpeg-turbo for JPEG with
// its defaults, ISLOW IDCT and fancy upsampling, which is the library and the settings of our TurboJPEG decoder;
// zlib for PNG), converted to RGB. The SHA-256 of the decoded RGB bytes is recorded so the test can tell a decoding
// difference from a preprocessing or model difference.
//
// Inputs: photos of ../shared/pdq/images (referenced by path and SHA-256, not copied) and the committed drawings of
// tests/Media.Tests/Fixtures/drawings (tools/make_drawing_fixture.py).
// Output: tests/Media.Tests/Fixtures/nsfw/pipeline.json: per image the file, its SHA-256, its decoded size and RGB
// SHA-256, the SHA-256 of the float32 [224, 224, 3] model input (little-endian, NHWC), the 5 probabilities in label order, and the pooled feature (flatten_1, via nsfwjs's infer endpoint): its
// L2 norm, first values and largest values with their indexes.
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
const outFile = path.join(root, "tests/Media.Tests/Fixtures/nsfw/pipeline.json");
const shared = path.resolve(root, "..", "shared");

const LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"];
const FIRST = 16;
const TOP = 8;
// id -> file: "shared:" paths are below ../shared, the others below the repository.
const IMAGES = [
  { id: "bridge-orig", file: "shared:pdq/images/bridge-mods/aaa-orig.jpg" },          // 1600x1004: a 7x downscale without antialiasing
  { id: "bridge-rotate-90", file: "shared:pdq/images/dih/bridge-2-rotate-90.jpg" },   // 1004x1600 portrait, stretched
  { id: "q0003", file: "shared:pdq/images/labelme-subset/q0003.jpg" },                // 256x256 blue sky
  { id: "q0122", file: "shared:pdq/images/labelme-subset/q0122.jpg" },                // 256x256 street
  { id: "square-128", file: "shared:pdq/images/bridge-mods/square-128x128.jpg" },     // an upscale
  { id: "shrink-a-lot", file: "shared:pdq/images/bridge-mods/shrink-a-lot.jpg" },     // 160x100: upscale, aspect changed
  { id: "cartoon-girl-sky", file: "tests/Media.Tests/Fixtures/drawings/cartoon-girl-sky.png" },
  { id: "cartoon-friends-grass", file: "tests/Media.Tests/Fixtures/drawings/cartoon-friends-grass.png" },
];

const DECODE = `
import sys
from PIL import Image, features
im = Image.open(sys.argv[1])
im.load()
rgb = im.convert("RGB")
sys.stdout.buffer.write(f"{rgb.width} {rgb.height} {Image.__version__} {features.version('jpg')}\\n".encode())
sys.stdout.buffer.write(rgb.tobytes())
`;

function decode(file) {
  const out = execFileSync("/usr/bin/python3", ["-c", DECODE, file], { maxBuffer: 1 << 30 });
  const nl = out.indexOf(10);
  const [w, h, pillow, jpeg] = out.subarray(0, nl).toString().split(" ");
  const rgb = out.subarray(nl + 1);
  if (rgb.length !== w * h * 3) throw new Error(`${file}: ${rgb.length} bytes for ${w}x${h}`);
  return { width: +w, height: +h, rgb, decoder: `Pillow ${pillow} (libjpeg API ${jpeg}), convert("RGB")` };
}

const require = createRequire(path.join(tfjsDir, "package.json"));
const tf = require("@tensorflow/tfjs");
await tf.setBackend("cpu");
// nsfwjs's CommonJS build requires "@tensorflow/tfjs": resolve it from the tfjs install.
const Module = require("node:module");
process.env.NODE_PATH = path.join(tfjsDir, "node_modules");
Module._initPaths();
const nsfwjs = require(path.join(packageDir, "dist/cjs/index.js"));
const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
const model = await nsfwjs.load("MobileNetV2");
const layers = model.model.layers;
const head = layers.find((l) => l.getClassName() === "Dense");
const featureLayer = head.inboundNodes[0].inboundLayers[0].name;

const images = [];
for (const { id, file } of IMAGES) {
  const full = file.startsWith("shared:") ? path.join(shared, file.slice(7)) : path.join(root, file);
  const bytes = fs.readFileSync(full);
  const { width, height, rgb, decoder } = decode(full);
  const img = tf.tensor3d(Int32Array.from(rgb), [height, width, 3], "int32");
  const probs = Array.from(tf.tidy(() => model.infer(img).dataSync()));
  // The model input nsfwjs's infer builds (the same three ops, repeated here to read the tensor back), as float32 bytes.
  const input = tf.tidy(() => tf.image.resizeBilinear(img.toFloat().div(tf.scalar(255)), [224, 224], true).dataSync());
  const f = tf.tidy(() => model.infer(img, featureLayer).dataSync().slice());
  img.dispose();
  const norm = Math.sqrt(f.reduce((s, v) => s + v * v, 0));
  images.push({
    id,
    file: file.startsWith("shared:") ? `../shared/${file.slice(7)}` : file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    width,
    height,
    decoder,
    rgbSha256: createHash("sha256").update(rgb).digest("hex"),
    inputSha256: createHash("sha256").update(Buffer.from(input.buffer, input.byteOffset, input.byteLength)).digest("hex"),
    probs,
    top: LABELS[probs.indexOf(Math.max(...probs))],
    featureNorm: norm,
    featureFirst: Array.from(f.slice(0, FIRST)),
    featureTop: Array.from(f.keys()).sort((a, b) => f[b] - f[a] || a - b).slice(0, TOP).map((i) => [i, f[i]]),
  });
  console.log(`${id} ${width}x${height}: ${LABELS.map((l, i) => `${l} ${probs[i].toFixed(6)}`).join("  ")}  |feature| ${norm.toFixed(4)}`);
}

const reference = {
  description: "nsfwjs's own infer() (MobileNetV2, its preprocessing: /255, resizeBilinear alignCorners to 224x224, no crop) " +
    "by TensorFlow.js on whole decoded images; written by tools/make_nsfw_pipeline_reference.mjs",
  nsfwjs: pkg.version,
  tfjs: tf.version.tfjs,
  backend: tf.getBackend(),
  labels: LABELS,
  feature: { layer: featureLayer, first: FIRST, top: TOP },
  images,
};
fs.writeFileSync(outFile, JSON.stringify(reference, null, 2) + "\n");
console.log(`wrote ${path.relative(root, outFile)}`);
