#!/usr/bin/env python3
"""`make models`: downloads the files every given pack.json pins (url + sha256 + size) and verifies them.

Already present files with the right SHA-256 are kept, so it is idempotent. Downloads go to FILE.part
and are renamed only after the size and SHA-256 check. Without a network it fails within seconds with
a message saying what to do, instead of hanging (connect/read timeout MEDIA_FETCH_TIMEOUT, default 30 s).
"""
import hashlib
import json
import os
import socket
import sys
import urllib.error
import urllib.request

TIMEOUT = float(os.environ.get("MEDIA_FETCH_TIMEOUT", "30"))


def pinned_files(node):
    if isinstance(node, dict):
        if "file" in node and "sha256" in node:
            yield node
        for v in node.values():
            yield from pinned_files(v)
    elif isinstance(node, list):
        for v in node:
            yield from pinned_files(v)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(pack_dir, spec):
    dest = os.path.join(pack_dir, spec["file"])
    if os.path.exists(dest) and sha256(dest) == spec["sha256"]:
        print(f"ok       {dest}")
        return
    if not spec.get("url"):
        raise RuntimeError(f"{dest}: missing and pack.json gives no url")
    part = dest + ".part"
    print(f"download {spec['url']}", flush=True)
    try:
        with urllib.request.urlopen(spec["url"], timeout=TIMEOUT) as resp, open(part, "wb") as out:
            done = 0
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if spec.get("size"):
                    print(f"\r  {done / 1e6:8.1f} / {spec['size'] / 1e6:.1f} MB", end="", flush=True)
            print()
    except (urllib.error.URLError, socket.timeout, OSError) as e:
        if os.path.exists(part):
            os.remove(part)
        raise RuntimeError(
            f"cannot download {spec['url']}: {getattr(e, 'reason', e)}.\n"
            f"  `make models` needs internet access to huggingface.co. On an offline machine, copy the file\n"
            f"  to {dest} by hand (SHA-256 {spec['sha256']}).") from None
    if spec.get("size") and os.path.getsize(part) != spec["size"]:
        raise RuntimeError(f"{spec['url']}: got {os.path.getsize(part)} bytes, pack.json pins {spec['size']}")
    actual = sha256(part)
    if actual != spec["sha256"]:
        os.remove(part)
        raise RuntimeError(f"{spec['url']}: SHA-256 {actual} does not match the pinned {spec['sha256']}")
    os.replace(part, dest)
    print(f"verified {dest}")


def main(packs):
    failed = False
    for pack_dir in packs:
        with open(os.path.join(pack_dir, "pack.json")) as f:
            manifest = json.load(f)
        for spec in pinned_files(manifest):
            try:
                fetch(pack_dir, spec)
            except RuntimeError as e:
                print(f"error: {e}", file=sys.stderr)
                failed = True
                break  # the rest of this pack would fail the same way
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
