#!/usr/bin/env bash
# Extracts the held-out photographs of the nsfw pack's near-duplicate test (tests/Media.Tests/Cli/NsfwNearDuplicateTests.cs)
# from Debian's python3-skimage package (its .deb is downloaded once into the cache make_samples.sh uses, never
# installed). Held out: the threshold was calibrated on ../shared/pdq (tools/make_nsfw_calibration.py), never on these.
#   tools/heldout_photos.sh [OUT]     (default .deps/heldout-photos)
set -euo pipefail
out=${1:-.deps/heldout-photos}
cache=.deps/samples
photos=(astronaut.png chelsea.png coffee.png rocket.jpg hubble_deep_field.jpg motorcycle_left.png retina.jpg camera.png coins.png page.png moon.png)
[ -f "$out/.complete" ] && exit 0
mkdir -p "$cache"
if ! ls "$cache"/python3-skimage_*.deb >/dev/null 2>&1; then
  (cd "$cache" && apt-get download python3-skimage 2>/dev/null) || { echo "heldout_photos: cannot download python3-skimage (apt)" >&2; exit 1; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$cache"/python3-skimage_*.deb "$tmp"
rm -rf "$out" && mkdir -p "$out"
for f in "${photos[@]}"; do cp "$tmp/usr/lib/python3/dist-packages/skimage/data/$f" "$out/$f"; done
touch "$out/.complete"
echo "held-out photos ready in $out: ${#photos[@]} files"
