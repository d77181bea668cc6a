#!/usr/bin/env python3
"""Generates the fixture model packs under models/fixtures (committed; `make fixtures` re-runs this).

color-clip: a tiny CLIP-style dual encoder with hand-set weights whose space means something.
  * image tower  pixel_values float32 [B,3,224,224] (CLIP-normalised) -> image_embeds float32 [B,16]
      undo the CLIP mean/std, 8x8 average pool, soft-assign every pooled pixel to the nearest of
      13 colour prototypes (softmax of -squared distance / tau), average over pixels = the image's
      colour histogram over prototypes, L2-normalised.
  * text tower   input_ids int64 [B,T] -> text_embeds float32 [B,16]
      embedding lookup where colour words map to their prototype's axis and every other token to
      zero, summed over the sequence, plus a small constant on a 'no colour' axis (so text without
      colour words is orthogonal to every image), L2-normalised.
  Both towers use the same tensor names as the Hugging Face / transformers.js CLIP export.
  Its tokenizer is CLIP's byte-level BPE with a small vocabulary of its own (vocab.json, merges.txt
  in CLIP's Hugging Face format): the 512 byte symbols, merges that build each colour word, and the
  start/end tokens.  semantic: false -- for tests and demos only.

tone-clap: the same idea for audio, CLAP-style (transformers.js CLAP tensor names).
  * audio tower  input_features float32 [B,1,1001,64] (log-mel dB, ClapFeatureExtractor settings) -> audio_embeds [B,8]
      mean log-mel over time, relative to its loudest bin, in units of 20 dB (floored at -4); the loudest level in a
      low (< 400 Hz), mid (400-2500 Hz) and high (> 2500 Hz) band, and the mean level over all bins (flatness: noise
      is loud everywhere); softmax over [3*low, 3*mid, 3*high, 4*(flat + 1)] = weights of low, mid, high, noise.
  * text tower   as color-clip, with words for the four prototypes.
  semantic: false.
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
DIM = 16

# name -> RGB in [0,1]
PROTOTYPES = [
    ("red", (0.90, 0.10, 0.10)),
    ("green", (0.10, 0.70, 0.15)),
    ("blue", (0.10, 0.20, 0.90)),
    ("yellow", (0.95, 0.90, 0.10)),
    ("cyan", (0.10, 0.85, 0.90)),
    ("magenta", (0.90, 0.10, 0.85)),
    ("orange", (1.00, 0.55, 0.05)),
    ("purple", (0.50, 0.10, 0.60)),
    ("pink", (1.00, 0.70, 0.80)),
    ("brown", (0.55, 0.35, 0.15)),
    ("white", (0.97, 0.97, 0.97)),
    ("gray", (0.50, 0.50, 0.50)),
    ("black", (0.03, 0.03, 0.03)),
]
SYNONYMS = {
    "grey": "gray", "crimson": "red", "scarlet": "red", "navy": "blue", "azure": "blue",
    "violet": "purple", "teal": "cyan", "lime": "green", "gold": "yellow", "dark": "black",
}
TAU = 0.02


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_vocab(words):
    """CLIP's layout: 256 byte symbols, the same with </w>, merge results in rank order, then the specials.

    Each word is first run through the merges so far; merges that join what is left, left to right,
    are appended. Appended merges rank below every earlier one, so words already whole stay whole.
    """
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols]
    merges = []
    for word in words:
        parts = bpe(word, {pair: i for i, pair in enumerate(merges)})
        acc = parts[0]
        for nxt in parts[1:]:
            merges.append((acc, nxt))
            vocab.append(acc + nxt)
            acc = acc + nxt
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}, merges


def bpe(word, ranks):
    parts = list(word[:-1]) + [word[-1] + "</w>"]
    while len(parts) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
        r, i = min(pairs)
        if r == 1 << 30:
            break
        a, b = parts[i], parts[i + 1]
        out, j = [], 0
        while j < len(parts):
            if j < len(parts) - 1 and parts[j] == a and parts[j + 1] == b:
                out.append(a + b)
                j += 2
            else:
                out.append(parts[j])
                j += 1
        parts = out
    return parts


def image_tower(path):
    k = len(PROTOTYPES)
    protos = np.array([rgb for _, rgb in PROTOTYPES], dtype=np.float32)          # [K,3]
    project = np.zeros((k, DIM), dtype=np.float32)
    project[np.arange(k), np.arange(k)] = 1.0                                     # prototype i -> axis i
    inits = [
        numpy_helper.from_array(np.array(CLIP_STD, np.float32).reshape(1, 3, 1, 1), "std"),
        numpy_helper.from_array(np.array(CLIP_MEAN, np.float32).reshape(1, 3, 1, 1), "mean"),
        numpy_helper.from_array(np.array([0, 3, -1], np.int64), "flat_shape"),
        numpy_helper.from_array(protos.T.copy(), "protos_t"),                       # [3,K]
        numpy_helper.from_array((protos ** 2).sum(1).astype(np.float32), "protos_sq"),  # [K]
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array(-2.0, np.float32), "minus_two"),
        numpy_helper.from_array(np.array(-1.0 / TAU, np.float32), "neg_inv_tau"),
        numpy_helper.from_array(project, "project"),
    ]
    nodes = [
        helper.make_node("Mul", ["pixel_values", "std"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mean"], ["rgb"]),                       # back to [0,1] RGB
        helper.make_node("AveragePool", ["rgb"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]),            # [B,3,P]
        helper.make_node("Transpose", ["flat"], ["pixels"], perm=[0, 2, 1]),        # [B,P,3]
        helper.make_node("Mul", ["pixels", "pixels"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "axis2"], ["pix_sq"], keepdims=1),    # [B,P,1]
        helper.make_node("MatMul", ["pixels", "protos_t"], ["dot"]),                # [B,P,K]
        helper.make_node("Mul", ["dot", "minus_two"], ["dot2"]),
        helper.make_node("Add", ["dot2", "pix_sq"], ["d1"]),
        helper.make_node("Add", ["d1", "protos_sq"], ["dist"]),                     # squared distance
        helper.make_node("Mul", ["dist", "neg_inv_tau"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["assign"], axis=-1),
        helper.make_node("ReduceMean", ["assign"], ["hist"], axes=[1], keepdims=0), # [B,K]
        helper.make_node("MatMul", ["hist", "project"], ["raw"]),                   # [B,D]
        helper.make_node("LpNormalization", ["raw"], ["image_embeds"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "color_clip_vision",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch_size", 3, 224, 224])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch_size", DIM])],
        inits)
    save(graph, path)


def text_tower(path, vocab, word_axes, dim):
    """Colour (or sound) words map to their prototype's axis, every other token to zero; a small constant on the
    last axis keeps text without such words orthogonal to every media embedding."""
    table = np.zeros((len(vocab), dim), dtype=np.float32)
    for word, axis in word_axes.items():
        table[vocab[word + "</w>"], axis] = 1.0
    bias = np.zeros((1, dim), dtype=np.float32)
    bias[0, dim - 1] = 1e-3
    inits = [
        numpy_helper.from_array(table, "token_embedding"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(bias, "no_colour"),
    ]
    nodes = [
        helper.make_node("Gather", ["token_embedding", "input_ids"], ["tokens"], axis=0),  # [B,T,D]
        helper.make_node("ReduceSum", ["tokens", "axis1"], ["summed"], keepdims=0),       # [B,D]
        helper.make_node("Add", ["summed", "no_colour"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["text_embeds"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "color_clip_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch_size", dim])],
        inits)
    save(graph, path)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="media-fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_tokenizer(out, words):
    vocab, merges = build_vocab(words)
    ranks = {pair: i for i, pair in enumerate(merges)}
    for w in words:  # every prototype word must come out of BPE as one token
        assert bpe(w, ranks) == [w + "</w>"], (w, bpe(w, ranks))
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return vocab


def pack_file(out, name):
    return {"file": name, "sha256": sha256(os.path.join(out, name))}


def text_section(out, vocab):
    return {
        "model": pack_file(out, "text_model.onnx"),
        "input": "input_ids",
        "output": "text_embeds",
        "tokenizer": {"type": "clip-bpe", "vocab": pack_file(out, "vocab.json"), "merges": pack_file(out, "merges.txt"),
                      "contextLength": 77, "padId": vocab["<|endoftext|>"]},
    }


def write_pack(out, pack):
    with open(os.path.join(out, "pack.json"), "w") as f:
        json.dump(pack, f, indent=2)
        f.write("\n")
    print(f"wrote {out}")


def color_clip(out):
    os.makedirs(out, exist_ok=True)
    words = [name for name, _ in PROTOTYPES] + list(SYNONYMS)
    vocab = write_tokenizer(out, words)
    axis = {name: i for i, (name, _) in enumerate(PROTOTYPES)}
    image_tower(os.path.join(out, "vision_model.onnx"))
    text_tower(os.path.join(out, "text_model.onnx"), vocab, {w: axis[SYNONYMS.get(w, w)] for w in words}, DIM)
    file = lambda name: pack_file(out, name)

    pack = {
        "name": "color-clip",
        "version": "1.0.0",
        "space": "fixture-color-v1",
        "dimension": DIM,
        "semantic": False,
        "description": "Fixture: hand-set colour prototypes shared by an image and a text tower "
                       "(tools/make_fixture_packs.py). Not a real model; for tests and demos.",
        "image": {
            "model": file("vision_model.onnx"),
            "input": "pixel_values",
            "output": "image_embeds",
            "preprocess": {"size": 224, "cropSize": 224, "resize": "shortest_edge", "resample": "bicubic",
                           "mean": CLIP_MEAN, "std": CLIP_STD},
        },
        "text": text_section(out, vocab),
    }
    write_pack(out, pack)


# ---- tone-clap -------------------------------------------------------------------------------
SOUND_WORDS = {
    "low": 0, "bass": 0, "deep": 0, "rumble": 0, "hum": 0,
    "mid": 1, "voice": 1, "speech": 1, "talking": 1, "spoken": 1, "words": 1,
    "high": 2, "whistle": 2, "treble": 2, "shrill": 2, "beep": 2,
    "noise": 3, "hiss": 3, "static": 3, "rain": 3,
}
AUDIO_DIM = 8
MELS, FRAMES = 64, 1001


def slaney_mel_centres(mels=MELS, fmin=50.0, fmax=14000.0):
    def hz_to_mel(f):
        return 3 * f / 200 if f < 1000 else 15 + np.log(f / 1000) * 27 / np.log(6.4)

    def mel_to_hz(m):
        return 200 * m / 3 if m < 15 else 1000 * np.exp(np.log(6.4) * (m - 15) / 27)

    edges = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), mels + 2)
    return np.array([mel_to_hz(m) for m in edges[1:-1]])


def audio_tower(path):
    centres = slaney_mel_centres()
    bands = [(0, 400), (400, 2500), (2500, 1e9)]
    masks = [np.where((centres >= lo) & (centres < hi), 0.0, -1000.0).astype(np.float32).reshape(1, MELS) for lo, hi in bands]
    project = np.zeros((4, AUDIO_DIM), dtype=np.float32)
    project[np.arange(4), np.arange(4)] = 1.0
    inits = [
        numpy_helper.from_array(np.array([0, MELS], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array(20.0, np.float32), "db_unit"),
        numpy_helper.from_array(np.array(-4.0, np.float32), "floor"),
        numpy_helper.from_array(np.array(3.0, np.float32), "band_gain"),
        numpy_helper.from_array(np.array(4.0, np.float32), "noise_gain"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(project, "project"),
    ] + [numpy_helper.from_array(m, f"mask_{i}") for i, m in enumerate(masks)]
    nodes = [
        helper.make_node("ReduceMean", ["input_features"], ["time_mean"], axes=[1, 2], keepdims=0),   # [B,64] dB
        helper.make_node("ReduceMax", ["time_mean"], ["peak"], axes=[1], keepdims=1),               # [B,1]
        helper.make_node("Sub", ["time_mean", "peak"], ["rel_db"]),
        helper.make_node("Div", ["rel_db", "db_unit"], ["rel_raw"]),
        helper.make_node("Max", ["rel_raw", "floor"], ["rel"]),                                     # [B,64] in [-4, 0]
        helper.make_node("ReduceMean", ["rel"], ["flat"], axes=[1], keepdims=1),                    # [B,1]
        helper.make_node("Add", ["flat", "one"], ["flat1"]),
        helper.make_node("Mul", ["flat1", "noise_gain"], ["noise_logit"]),
    ]
    band_logits = []
    for i in range(3):
        nodes += [
            helper.make_node("Add", ["rel", f"mask_{i}"], [f"masked_{i}"]),
            helper.make_node("ReduceMax", [f"masked_{i}"], [f"band_{i}"], axes=[1], keepdims=1),
            helper.make_node("Mul", [f"band_{i}", "band_gain"], [f"logit_{i}"]),
        ]
        band_logits.append(f"logit_{i}")
    nodes += [
        helper.make_node("Concat", band_logits + ["noise_logit"], ["logits"], axis=1),              # [B,4]
        helper.make_node("Softmax", ["logits"], ["weights"], axis=-1),
        helper.make_node("MatMul", ["weights", "project"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["audio_embeds"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "tone_clap_audio",
        [helper.make_tensor_value_info("input_features", TensorProto.FLOAT, ["batch_size", 1, FRAMES, MELS])],
        [helper.make_tensor_value_info("audio_embeds", TensorProto.FLOAT, ["batch_size", AUDIO_DIM])],
        inits)
    save(graph, path)


def tone_clap(out):
    os.makedirs(out, exist_ok=True)
    vocab = write_tokenizer(out, list(SOUND_WORDS))
    audio_tower(os.path.join(out, "audio_model.onnx"))
    text_tower(os.path.join(out, "text_model.onnx"), vocab, SOUND_WORDS, AUDIO_DIM)
    write_pack(out, {
        "name": "tone-clap",
        "version": "1.0.0",
        "space": "fixture-tone-v1",
        "dimension": AUDIO_DIM,
        "semantic": False,
        "description": "Fixture: hand-set spectral prototypes (low, mid, high, noise) shared by an audio and a text tower "
                       "(tools/make_fixture_packs.py). Not a real model; for tests and demos.",
        "audio": {
            "model": pack_file(out, "audio_model.onnx"),
            "input": "input_features",
            "output": "audio_embeds",
            "preprocess": {"sampleRate": 48000, "clipSeconds": 10, "nFft": 1024, "hop": 480, "window": "hann", "melBins": MELS,
                           "fMin": 50, "fMax": 14000, "melScale": "slaney", "melNorm": "slaney", "powerToDb": True,
                           "padding": "repeatpad", "truncation": "windows"},
        },
        "text": text_section(out, vocab),
    })


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "models/fixtures"
    color_clip(os.path.join(root, "color-clip"))
    tone_clap(os.path.join(root, "tone-clap"))
