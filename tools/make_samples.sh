#!/usr/bin/env bash
# Prepares the sample folder for `make run`: real photographs from Debian's python3-skimage package
# (its .deb is downloaded and unpacked, never installed), edited copies made with ffmpeg, and bad files.
#   samples/1-originals/  photos          samples/2-edited/  copies: scaled, recompressed, rotated, mirrored, brightened
#   samples/3-bad/        a truncated JPEG shipped by the package, and a text file
#   samples/4-audio/      speech (espeak-ng), its MP3/Ogg transcodes and a trimmed copy, tones and noise (sox)
#   samples/5-drawings/   a rendered cartoon (tests/Media.Tests/Fixtures/drawings), for the nsfw pack's Drawing rule
# Folders are numbered so that ingest (which walks folders in name order) indexes the originals first.
set -euo pipefail
out=${1:-samples}
cache=.deps/samples
[ -f "$out/.complete" ] && exit 0
mkdir -p "$cache"
if ! ls "$cache"/python3-skimage_*.deb >/dev/null 2>&1; then
  (cd "$cache" && apt-get download python3-skimage 2>/dev/null) || { echo "make_samples: cannot download python3-skimage (apt)" >&2; exit 1; }
fi
rm -rf "$cache/x" "$out" && mkdir -p "$cache/x" "$out/1-originals" "$out/2-edited" "$out/3-bad" "$out/4-audio" "$out/5-drawings"
dpkg-deb -x "$cache"/python3-skimage_*.deb "$cache/x"
data="$cache/x/usr/lib/python3/dist-packages/skimage/data"
for f in astronaut.png chelsea.png coffee.png rocket.jpg hubble_deep_field.jpg motorcycle_left.png retina.jpg camera.png coins.png page.png; do
  cp "$data/$f" "$out/1-originals/$f"
done
cp "$data/truncated.jpg" "$out/3-bad/truncated.jpg"
echo "meeting notes, not a picture" > "$out/3-bad/notes.txt"
ff() { ffmpeg -nostdin -hide_banner -v error -y "$@"; }
o="$out/1-originals"; e="$out/2-edited"
ff -i "$o/chelsea.png" -vf scale=iw/2:-1 "$e/chelsea-half-size.jpg"
ff -i "$o/astronaut.png" -q:v 25 "$e/astronaut-recompressed.jpg"
ff -i "$o/rocket.jpg" -vf transpose=1 "$e/rocket-rotated-90.jpg"
ff -i "$o/coffee.png" -vf hflip "$e/coffee-mirrored.png"
ff -i "$o/motorcycle_left.png" -vf eq=brightness=0.06:saturation=1.3 "$e/motorcycle-brighter.webp"
ff -i "$o/hubble_deep_field.jpg" -vf "scale=iw*0.8:-1" -q:v 8 "$e/hubble-smaller.jpg"
a="$out/4-audio"
espeak-ng -w "$a/a-speech.wav" "Welcome to the media similarity service. Every upload is hashed, embedded and compared with what we have seen before."
sox -n -r 44100 "$a/b-low-hum.wav" synth 8 sine 90 sine 120 vol 0.6
sox -n -r 44100 "$a/c-whistle.wav" synth 8 sine 3400-3800 vol 0.5
sox -n -r 44100 "$a/d-hiss.wav" synth 8 whitenoise vol 0.3
ff -i "$a/a-speech.wav" -b:a 128k "$a/e-speech-copy.mp3"
ff -i "$a/a-speech.wav" -c:a libvorbis -q:a 3 "$a/f-speech-copy.ogg"
ff -i "$a/a-speech.wav" -ss 1 "$a/g-speech-trimmed.m4a"
cp tests/Media.Tests/Fixtures/drawings/cartoon-girl-sky.png "$out/5-drawings/cartoon-girl-sky.png"
rm -rf "$cache/x"
touch "$out/.complete"
echo "samples ready in $out: $(find "$out" -type f ! -name .complete | wc -l) files"
