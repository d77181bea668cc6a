#!/usr/bin/python3
"""Builds the labelled set that calibrates the nsfw pack's near-duplicate threshold with `media evaluate`
(README "Model packs": nsfw-mobilenet-v2 near-duplicate threshold).

    /usr/bin/python3 tools/make_nsfw_calibration.py ../shared/pdq/images OUT
    bin/media ingest --data OUT/data --pack models/nsfw-mobilenet-v2 --json OUT/photos > /dev/null
    bin/media evaluate --data OUT/data --truth OUT/truth.json --target-precision 1

Originals: the distinct photographs of ../shared/pdq/images (the bridge and the seven labelme photos; the other bridge
files are already edits of the bridge and are left out). Edits of each, made with Pillow 9.4 (Debian's
/usr/bin/python3), all saved as PNG except the recompression:
  crop5      centre crop keeping 95% of width and height (2.5% off each side)
  crop8tl    crop keeping 92%, anchored at the top-left corner (all 8% off the right and bottom)
  crop10     centre crop keeping 90%
  half       resized to half width and height (Pillow LANCZOS, antialiased)
  jpeg30     recompressed as JPEG quality 30
  bright     brightness x1.15 (ImageEnhance.Brightness)
  mirror     mirrored left-right
truth.json labels every (original, its edit) pair a duplicate, and every pair of different photographs — original vs
original, and original vs an edit of another photograph — not a duplicate.
"""
import itertools
import json
import os
import sys

from PIL import Image, ImageEnhance, ImageOps

ORIGINALS = ["bridge-mods/aaa-orig.jpg"] + [f"labelme-subset/{n}.jpg" for n in
                                             ("q0003", "q0004", "q0122", "q0291", "q0746", "q1050", "q2821")]


def crop(im, keep, anchor="centre"):
    w, h = im.size
    cw, ch = round(w * keep), round(h * keep)
    x, y = ((w - cw) // 2, (h - ch) // 2) if anchor == "centre" else (0, 0)
    return im.crop((x, y, x + cw, y + ch))


EDITS = {
    "crop5": lambda im: crop(im, 0.95),
    "crop8tl": lambda im: crop(im, 0.92, "top-left"),
    "crop10": lambda im: crop(im, 0.90),
    "half": lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS),
    "jpeg30": None,
    "bright": lambda im: ImageEnhance.Brightness(im).enhance(1.15),
    "mirror": ImageOps.mirror,
}


def main():
    src, out = sys.argv[1], sys.argv[2]
    photos = os.path.join(out, "photos")
    os.makedirs(photos, exist_ok=True)
    names, edits = [], {}
    for rel in ORIGINALS:
        name = os.path.splitext(os.path.basename(rel))[0].replace("aaa-orig", "bridge")
        im = Image.open(os.path.join(src, rel)).convert("RGB")
        orig = f"photos/{name}.jpg"
        with open(os.path.join(src, rel), "rb") as f, open(os.path.join(out, orig), "wb") as g:
            g.write(f.read())
        names.append(orig)
        edits[orig] = []
        for edit, fn in EDITS.items():
            if fn is None:
                path = f"photos/{name}-{edit}.jpg"
                im.save(os.path.join(out, path), quality=30)
            else:
                path = f"photos/{name}-{edit}.png"
                fn(im).save(os.path.join(out, path))
            edits[orig].append(path)
    pairs = [{"a": o, "b": e, "duplicate": True} for o in names for e in edits[o]]
    pairs += [{"a": a, "b": b, "duplicate": False} for a, b in itertools.combinations(names, 2)]
    pairs += [{"a": a, "b": e, "duplicate": False} for a in names for b in names if a != b for e in edits[b]]
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"pairs": pairs}, f, indent=1)
    pos = sum(p["duplicate"] for p in pairs)
    print(f"{out}: {len(names)} originals, {sum(len(v) for v in edits.values())} edits, {pos} duplicate and {len(pairs) - pos} different pairs")


if __name__ == "__main__":
    main()
