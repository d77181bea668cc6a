#!/usr/bin/env python3
"""Generates tests/Media.Tests/Fixtures/pillow_resize.json: reference outputs of Pillow's Image.resize
(BICUBIC and BILINEAR, the filters CLIP preprocessing uses) on seeded random RGB images, so the C# resampler
is checked against values produced independently of it. Run with Debian's python3-pil (Pillow 9.4):
    /usr/bin/python3 tools/make_pillow_fixture.py
"""
import base64
import json
import random
import sys

from PIL import Image

CASES = [  # (width, height, out_w, out_h, filter)
    (13, 9, 5, 4, "bicubic"),       # downscale, both axes
    (7, 5, 16, 11, "bicubic"),      # upscale: support not widened, overshoot clipped
    (40, 30, 29, 21, "bicubic"),
    (300, 200, 336, 224, "bicubic"),  # CLIP shortest-edge 224 from a 3:2 image (upscale)
    (640, 427, 335, 224, "bicubic"),  # CLIP shortest-edge 224 from a photo-sized image
    (9, 9, 9, 4, "bicubic"),        # vertical pass only
    (31, 17, 11, 17, "bilinear"),   # horizontal pass only
]
FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def main(path):
    rng = random.Random(20261122)
    cases = []
    for w, h, ow, oh, name in CASES:
        pixels = bytes(rng.randrange(256) for _ in range(w * h * 3))
        img = Image.frombytes("RGB", (w, h), pixels)
        out = img.resize((ow, oh), resample=FILTERS[name])
        cases.append({
            "width": w, "height": h, "outWidth": ow, "outHeight": oh, "filter": name,
            "input": base64.b64encode(pixels).decode(),
            "expected": base64.b64encode(out.tobytes()).decode(),
        })
    with open(path, "w") as f:
        json.dump({"source": "Pillow %s Image.resize" % Image.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/Media.Tests/Fixtures/pillow_resize.json")
