#!/usr/bin/env python3
"""Generates small committed images in pixel layouts that decoders must turn into RGB
(tests/Media.Tests/Fixtures/codecs/). Run with Debian's python3-pil:
    /usr/bin/python3 tools/make_codec_fixtures.py
Each image shows the same scene: left half red (200,30,30), right half blue (30,60,200).
"""
import io
import os
import struct
import sys

from PIL import Image

W, H = 64, 48
LEFT, RIGHT = (200, 30, 30), (30, 60, 200)


def scene(mode="RGB"):
    img = Image.new("RGB", (W, H), RIGHT)
    img.paste(Image.new("RGB", (W // 2, H), LEFT), (0, 0))
    return img.convert(mode) if mode != "RGB" else img


def exif_orientation(value):
    """A minimal little-endian EXIF block holding only Orientation (0x0112, SHORT)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, value, 0) + struct.pack("<I", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd


def main(out):
    os.makedirs(out, exist_ok=True)
    rgb = scene()
    rgb.save(os.path.join(out, "rgb.png"))
    rgb.save(os.path.join(out, "rgb.jpg"), quality=95)
    rgb.save(os.path.join(out, "rgb-lossless.webp"), lossless=True)
    scene("L").save(os.path.join(out, "gray.jpg"), quality=95)
    scene("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=95)
    rgb.convert("P", palette=Image.ADAPTIVE, colors=4).save(os.path.join(out, "palette.png"))
    scene("L").save(os.path.join(out, "gray.png"))
    scene("L").convert("I").point(lambda v: v * 257).save(os.path.join(out, "gray16.png"))  # 16-bit grayscale
    # RGBA: left half opaque red, right half fully transparent (RGB underneath is black).
    rgba = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", (W // 2, H), LEFT + (255,)), (0, 0))
    rgba.save(os.path.join(out, "alpha.png"))
    rgba.save(os.path.join(out, "alpha.webp"), lossless=True)
    rgb.save(os.path.join(out, "rgb.gif"))
    rgb.save(os.path.join(out, "rgb.bmp"))
    rgb.save(os.path.join(out, "rgb.tiff"))
    # EXIF orientation 6 (rotate 90 CW to display): stored pixels are the scene rotated 90 CCW.
    rgb.transpose(Image.ROTATE_90).save(os.path.join(out, "exif-orientation-6.jpg"), quality=95, exif=exif_orientation(6))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/Media.Tests/Fixtures/codecs")
