#!/usr/bin/env bash
# Coverage-guided fuzzing of the in-process decoders (TurboJPEG + EXIF, libspng, libwebp, WAV) with SharpFuzz and AFL++.
# Coverage is that of the managed code (Media.Codecs.dll is instrumented by SharpFuzz); the native libraries are not
# instrumented but run on every input, so their crashes and hangs are found too. Findings are replayed at the end.
#
#   tools/fuzz-decoders.sh [SECONDS]      fuzz for SECONDS (default 300), then replay crashes and hangs
#
# Needs afl++, ffmpeg and espeak-ng (Debian: apt-get install afl++ ffmpeg espeak-ng) and NuGet for SharpFuzz.
# Work files go to $FUZZ_DIR (default /tmp/media-fuzz): bin/ (instrumented harness), seeds/, findings/.
# Exit status: 0 when no finding breaks the decoders' contract, 1 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_DIR:-/tmp/media-fuzz}
seconds=${1:-300}
command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 2; }
mkdir -p "$work"

if [ ! -x "$work/tools/sharpfuzz" ]; then
  dotnet tool install --tool-path "$work/tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
rm -rf "$work/bin" "$work/replay"
dotnet publish "$root/tests/Media.Fuzz" -c Release -o "$work/replay" -v q -nologo
cp -r "$work/replay" "$work/bin"
"$work/tools/sharpfuzz" "$work/bin/Media.Codecs.dll"   # instrumented copy for AFL; replay/ stays plain

# Seeds: small real media of every in-process format (AFL works best from inputs of a few KiB).
seeds=$work/seeds
rm -rf "$seeds" && mkdir -p "$seeds"
fixtures=$root/tests/Media.Tests/Fixtures/codecs
cp "$fixtures"/rgb.jpg "$fixtures"/cmyk.jpg "$fixtures"/gray.jpg "$fixtures"/exif-orientation-6.jpg \
   "$fixtures"/rgb.png "$fixtures"/palette.png "$fixtures"/alpha.png "$fixtures"/gray16.png \
   "$fixtures"/rgb-lossless.webp "$fixtures"/alpha.webp "$seeds"/
photo=$root/../shared/pdq/images/labelme-subset/q0003.jpg
if [ -f "$photo" ]; then
  cp "$photo" "$seeds/photo.jpg"
  ffmpeg -nostdin -v error -y -i "$photo" -vf scale=48:-1 "$seeds/photo.png"
  ffmpeg -nostdin -v error -y -i "$photo" -vf scale=48:-1 -c:v libwebp -quality 50 "$seeds/photo.webp"
fi
espeak-ng -w "$work/speech.wav" "hi"
ffmpeg -nostdin -v error -y -i "$work/speech.wav" -ar 8000 -c:a pcm_s16le "$seeds/speech-s16.wav"
ffmpeg -nostdin -v error -y -i "$work/speech.wav" -ar 8000 -ac 2 -c:a pcm_s24le "$seeds/speech-s24-extensible.wav"
ffmpeg -nostdin -v error -y -i "$work/speech.wav" -ar 8000 -c:a pcm_f32le "$seeds/speech-f32.wav"
ffmpeg -nostdin -v error -y -i "$work/speech.wav" -ar 8000 -c:a pcm_u8 "$seeds/speech-u8.wav"

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
rm -rf "$work/findings"
afl-fuzz -i "$seeds" -o "$work/findings" -t 5000 -m none -V "$seconds" -- "$work/bin/Media.Fuzz" | tail -n 25

findings=$(find "$work/findings/default/crashes" "$work/findings/default/hangs" -type f -name 'id:*' 2>/dev/null || true)
grep -E "execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg" "$work/findings/default/fuzzer_stats" || true
if [ -z "$findings" ]; then
  echo "fuzz-decoders: no crashes or hangs in ${seconds} s"
  exit 0
fi
echo "fuzz-decoders: replaying $(echo "$findings" | wc -l) finding(s) (uninstrumented, 60 s each)"
status=0
while IFS= read -r f; do
  timeout 60 "$work/replay/Media.Fuzz" "$f" || { echo "$f: broke the contract, crashed or hung (exit $?)"; status=1; }
done <<< "$findings"
exit $status
