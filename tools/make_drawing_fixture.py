#!/usr/bin/python3
"""Renders the committed drawing fixtures (tests/Media.Tests/Fixtures/drawings/*.png): cartoon characters with flat
colours and thick black outlines, the kind of picture nsfwjs's "Drawing" class means.

    /usr/bin/python3 tools/make_drawing_fixture.py tests/Media.Tests/Fixtures/drawings

Only Pillow's ImageDraw primitives (polygons, ellipses, chords, arcs; no antialiasing, no fonts), so the pixels depend
on nothing but these coordinates; the PNG bytes are the fixture and this script records how they were made.

What the nsfwjs MobileNetV2 makes of drawings (our pipeline, nsfwjs preprocessing): a drawn *character* scores Drawing
0.95-0.98, while a flat-colour cartoon *scene* without figures (a house, a tree, a sun, clouds, also rendered while
choosing the fixture) scores Drawing only 0.16 and Neutral 0.83: the class was trained on drawn characters (cartoons,
anime), not on every drawing.
"""
import os
import sys

from PIL import Image, ImageDraw

INK = (20, 20, 20)


def character(d, cx, skin=(255, 220, 190), hair=(90, 50, 20), dress=(60, 120, 230), shoes=(200, 40, 40), ow=5):
    """A standing cartoon figure centred on x = cx in a 640-pixel-high frame."""
    d.rectangle([cx - 50, 440, cx - 25, 580], fill=skin, outline=INK, width=ow)                       # legs
    d.rectangle([cx + 25, 440, cx + 50, 580], fill=skin, outline=INK, width=ow)
    d.ellipse([cx - 75, 565, cx - 15, 600], fill=shoes, outline=INK, width=ow)                         # shoes
    d.ellipse([cx + 15, 565, cx + 75, 600], fill=shoes, outline=INK, width=ow)
    d.polygon([(cx - 70, 270), (cx - 150, 400), (cx - 125, 415), (cx - 55, 300)], fill=skin, outline=INK, width=ow)  # arms
    d.polygon([(cx + 70, 270), (cx + 150, 400), (cx + 125, 415), (cx + 55, 300)], fill=skin, outline=INK, width=ow)
    d.ellipse([cx - 160, 395, cx - 120, 435], fill=skin, outline=INK, width=ow)                        # hands
    d.ellipse([cx + 120, 395, cx + 160, 435], fill=skin, outline=INK, width=ow)
    d.polygon([(cx - 70, 250), (cx + 70, 250), (cx + 120, 460), (cx - 120, 460)], fill=dress, outline=INK, width=ow)
    d.ellipse([cx - 100, 60, cx + 100, 260], fill=skin, outline=INK, width=ow)                         # head
    d.chord([cx - 110, 40, cx + 110, 200], 180, 360, fill=hair, outline=INK, width=ow)                  # hair
    d.polygon([(cx - 110, 120), (cx - 120, 300), (cx - 85, 190)], fill=hair, outline=INK, width=ow)
    d.polygon([(cx + 110, 120), (cx + 120, 300), (cx + 85, 190)], fill=hair, outline=INK, width=ow)
    d.ellipse([cx - 45, 150, cx - 25, 175], fill=INK)                                                  # eyes
    d.ellipse([cx + 25, 150, cx + 45, 175], fill=INK)
    d.arc([cx - 30, 195, cx + 30, 235], 20, 160, fill=INK, width=ow - 1)                              # smile
    d.ellipse([cx - 75, 200, cx - 50, 215], fill=(255, 150, 150))                                      # cheeks
    d.ellipse([cx + 50, 200, cx + 75, 215], fill=(255, 150, 150))


def girl_on_sky():
    im = Image.new("RGB", (480, 640), (150, 210, 250))
    character(ImageDraw.Draw(im), 240)
    return im


def two_friends_on_grass():
    im = Image.new("RGB", (900, 640), (180, 230, 160))
    d = ImageDraw.Draw(im)
    character(d, 240, ow=3)
    character(d, 660, hair=(30, 30, 30), dress=(240, 170, 40), shoes=(60, 60, 200), ow=3)
    return im


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/Media.Tests/Fixtures/drawings"
    os.makedirs(out, exist_ok=True)
    for name, im in [("cartoon-girl-sky.png", girl_on_sky()), ("cartoon-friends-grass.png", two_friends_on_grass())]:
        path = os.path.join(out, name)
        im.save(path, optimize=True)
        print(f"{path}: {im.size[0]}x{im.size[1]}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
