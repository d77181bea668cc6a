#!/usr/bin/python3
"""Inputs of the pipeline benchmarks (`make bench`, `media bench pipeline`, tests/Media.Benchmarks), made once, idempotently.

  OUT/synthetic-clip-vit-b32/  a model pack with CLIP ViT-B/32's exact architecture and cost and random weights
                               (../shared/tools/make_synthetic_clip.py), its pack.json pinning every file's SHA-256
  OUT/ingest-photos/           96 photos with 96 distinct SHA-256s: the distinct files of ../shared/pdq/images (two of
                               its files are byte-identical; the copy is dropped), then flipped and brightened
                               re-encodings of them (ffmpeg) until there are 96
  OUT/stages/                  the per-stage cost inputs: a 1 MP JPEG (1155x866), a 12 MP JPEG (4000x3000) and a 1 MP PNG,
                               all from the shared bridge photo (Lanczos resampling)

Usage: /usr/bin/python3 tools/make_bench_inputs.py [--out .bench] [--shared ../shared]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

PHOTOS = 96


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *args], check=True)


def make_pack(out, shared):
    pack = os.path.join(out, "synthetic-clip-vit-b32")
    manifest = os.path.join(pack, "pack.json")
    if os.path.exists(manifest):
        return
    os.makedirs(pack, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(shared, "tools", "make_synthetic_clip.py"), "--out", pack, "--matmul"], check=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(shared, "clip", name), os.path.join(pack, name))

    def f(name):
        return {"file": name, "sha256": sha256(os.path.join(pack, name))}

    doc = {
        "name": "synthetic-clip-vit-b32", "version": "bench", "space": "synthetic", "dimension": 512, "semantic": False,
        "description": "CLIP ViT-B/32 architecture and cost with random weights (benchmarks only)",
        "image": {"model": f("vision_model.onnx"), "input": "pixel_values", "output": "image_embeds",
                  "preprocess": {"size": 224, "cropSize": 224}},
        "text": {"model": f("text_model.onnx"), "input": "input_ids", "attentionMask": "attention_mask", "output": "text_embeds",
                 "tokenizer": {"type": "clip-bpe", "vocab": f("vocab.json"), "merges": f("merges.txt"), "contextLength": 77,
                               "padId": 49407, "padToContextLength": True}},
    }
    with open(manifest + ".tmp", "w") as fh:
        json.dump(doc, fh, indent=2)
    os.replace(manifest + ".tmp", manifest)  # last: its presence means the pack is complete


def make_photos(out, shared):
    folder = os.path.join(out, "ingest-photos")
    os.makedirs(folder, exist_ok=True)
    images = os.path.join(shared, "pdq", "images")
    sources, seen = [], set()
    for root, _, files in sorted(os.walk(images)):
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.lower().endswith(".jpg") and (digest := sha256(path)) not in seen:
                seen.add(digest)
                sources.append(path)
    photos, hashes, i = [], set(), 0
    while len(photos) < PHOTOS:
        src = sources[i % len(sources)]
        round_ = i // len(sources)
        dest = os.path.join(folder, f"{len(photos):02d}-{os.path.basename(src)}")
        if not os.path.exists(dest):
            if round_ == 0:
                shutil.copyfile(src, dest)
            else:
                flip = "hflip" if round_ % 2 == 1 else "vflip"
                ffmpeg("-i", src, "-vf", f"{flip},eq=brightness={0.01 * (1 + i % 7)}", "-q:v", "3", dest)
        digest = sha256(dest)
        i += 1
        if digest in hashes:  # a re-encoding can only collide by accident; try the next source instead
            os.remove(dest)
            continue
        hashes.add(digest)
        photos.append(dest)
    for stale in set(os.listdir(folder)) - {os.path.basename(p) for p in photos}:
        os.remove(os.path.join(folder, stale))


def make_stages(out, shared):
    folder = os.path.join(out, "stages")
    os.makedirs(folder, exist_ok=True)
    bridge = os.path.join(shared, "pdq", "images", "bridge-mods", "aaa-orig.jpg")
    for name, args in (("jpeg-1mp.jpg", ["-vf", "scale=1155:866:flags=lanczos", "-q:v", "2"]),
                       ("jpeg-12mp.jpg", ["-vf", "scale=4000:3000:flags=lanczos", "-q:v", "2"]),
                       ("png-1mp.png", ["-vf", "scale=1155:866:flags=lanczos"])):
        dest = os.path.join(folder, name)
        if not os.path.exists(dest):
            ffmpeg("-i", bridge, *args, dest + ".tmp" + os.path.splitext(name)[1])
            os.replace(dest + ".tmp" + os.path.splitext(name)[1], dest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".bench")
    ap.add_argument("--shared", default="../shared")
    a = ap.parse_args()
    make_pack(a.out, a.shared)
    make_photos(a.out, a.shared)
    make_stages(a.out, a.shared)


if __name__ == "__main__":
    main()
