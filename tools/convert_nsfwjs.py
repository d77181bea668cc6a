#!/usr/bin/python3
"""Converts an nsfwjs TensorFlow.js Keras *layers* model to ONNX (opset 17), with python3-onnx and numpy only.

    /usr/bin/python3 tools/convert_nsfwjs.py PACKAGE_DIR MODEL OUT.onnx [--pack-json PACK.json]

PACKAGE_DIR is the unpacked `npm pack nsfwjs` tarball (the folder holding package.json), MODEL one of its
dist/models/ folders (mobilenet_v2, inception_v3). The ONNX model has

    input   pixel_values  float32 [batch, 3, S, S]  NCHW RGB in [0, 1] (pixel / 255, as nsfwjs feeds the model;
                                                    the Keras model itself has no normalisation layer)
    output  embedding     float32 [batch, D]        the pooled feature before the classifier head, L2-normalised
    output  probs         float32 [batch, 5]        softmax over Drawing, Hentai, Neutral, Porn, Sexy

How the Keras layers map (see docs/nsfw-pack.md):
  * Conv2D / DepthwiseConv2D -> Conv (depthwise: group = channels), kernels HWIO -> OIHW; "same" padding computed as
    TensorFlow does (total = max((out-1)*stride + k_eff - in, 0), the odd pixel at the bottom/right), "valid" none;
  * ZeroPadding2D -> folded into the pads of the convolution it feeds (a Pad node when it feeds anything else);
  * BatchNormalization -> folded into the preceding convolution's weights and bias (float64 arithmetic, one
    float32 rounding); a Mul+Add pair when it does not follow a linear convolution;
  * ReLU (max_value 6) -> Clip(0, 6); Activation/activation=relu -> Relu; softmax -> Softmax over channels;
  * AveragePooling2D / MaxPooling2D -> AveragePool (padding excluded from the mean, as TF) / MaxPool;
  * Flatten -> Flatten, after a Transpose to NHWC when the spatial size is not 1x1 (Keras flattens NHWC);
  * Dense -> Gemm (+ activation), Dropout -> nothing (inference), Add -> Add, Concatenate -> Concat on channels.

The output is deterministic (fixed node order and names, no timestamps, pinned IR version and producer), so its
SHA-256 can be pinned in pack.json; converting twice gives the same bytes.
"""
from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import math
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; pinned so the bytes do not depend on the onnx package
PRODUCER = "media/tools/convert_nsfwjs.py"
PRODUCER_VERSION = "1"
LABELS = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]  # nsfwjs dist/esm/nsfw_classes.js, index order


class ConversionError(Exception):
    pass


# ---- the UMD bundles ---------------------------------------------------------------------------------------------
# Each dist/models/<name>/*.min.js is a browserify standalone bundle of one module:
#   !function(e){...UMD...}(function(){return function e(a,n,i){...}({1:[function(e,a,n){a.exports=VALUE},{}]},{},[1])(1)});
# VALUE is a JavaScript object literal (model.min.js: unquoted keys, `!0`/`!1` for true/false, numbers like `.5`)
# or a string literal (the shards: base64 weight bytes). We locate the one `<module>.exports=` of module 1 and parse
# VALUE with a small JavaScript-literal parser, then insist that the module body ends right after it.

_EXPORT = re.compile(r"\{1:\[function\(([A-Za-z_$][\w$]*),([A-Za-z_$][\w$]*),([A-Za-z_$][\w$]*)\)\{\2\.exports=")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "'": "'", '"': '"', "\\": "\\", "/": "/"}


class _JsLiteral:
    """Recursive-descent parser for the subset of JavaScript literals that minifiers emit for JSON-like data."""

    def __init__(self, text: str, where: str):
        self.s, self.where = text, where

    def fail(self, i: int, what: str):
        raise ConversionError(f"{self.where}: {what} at offset {i}: ...{self.s[max(0, i - 40):i + 40]!r}...")

    def ws(self, i: int) -> int:
        s = self.s
        while i < len(s) and s[i] in " \t\r\n":
            i += 1
        return i

    def value(self, i: int):
        s = self.s
        i = self.ws(i)
        if i >= len(s):
            self.fail(i, "unexpected end")
        c = s[i]
        if c == "{":
            return self.obj(i + 1)
        if c == "[":
            return self.arr(i + 1)
        if c in "\"'":
            return self.string(i)
        for word, v in (("!0", True), ("!1", False), ("true", True), ("false", False), ("null", None), ("void 0", None)):
            if s.startswith(word, i) and not (s[i + len(word):i + len(word) + 1].isalnum()):
                return v, i + len(word)
        m = _NUMBER.match(s, i)
        if m:
            t = m.group(0)
            return (float(t) if re.search(r"[.eE]", t) else int(t)), m.end()
        self.fail(i, "unsupported JavaScript value")

    def obj(self, i: int):
        s, out = self.s, {}
        i = self.ws(i)
        if s[i] == "}":
            return out, i + 1
        while True:
            i = self.ws(i)
            if s[i] in "\"'":
                key, i = self.string(i)
            else:
                m = _IDENT.match(s, i) or re.compile(r"\d+").match(s, i)
                if not m:
                    self.fail(i, "expected an object key")
                key, i = m.group(0), m.end()
            i = self.ws(i)
            if s[i] != ":":
                self.fail(i, "expected ':'")
            if key in out:
                self.fail(i, f"duplicate key {key!r}")
            out[key], i = self.value(i + 1)
            i = self.ws(i)
            if s[i] == ",":
                i += 1
                continue
            if s[i] == "}":
                return out, i + 1
            self.fail(i, "expected ',' or '}'")

    def arr(self, i: int):
        s, out = self.s, []
        i = self.ws(i)
        if s[i] == "]":
            return out, i + 1
        while True:
            v, i = self.value(i)
            out.append(v)
            i = self.ws(i)
            if s[i] == ",":
                i += 1
                continue
            if s[i] == "]":
                return out, i + 1
            self.fail(i, "expected ',' or ']'")

    def string(self, i: int):
        s, q, j, parts = self.s, self.s[i], i + 1, []
        start = j
        while True:
            if j >= len(s):
                self.fail(i, "unterminated string")
            c = s[j]
            if c == q:
                parts.append(s[start:j])
                return "".join(parts), j + 1
            if c == "\\":
                parts.append(s[start:j])
                e = s[j + 1]
                if e == "u":
                    parts.append(chr(int(s[j + 2:j + 6], 16)))
                    j += 6
                elif e == "x":
                    parts.append(chr(int(s[j + 2:j + 4], 16)))
                    j += 4
                elif e in _ESCAPES:
                    parts.append(_ESCAPES[e])
                    j += 2
                else:
                    self.fail(j, "unsupported escape")
                start = j
                continue
            j += 1


def read_umd_export(path: str):
    """The value that module 1 of a browserify standalone bundle assigns to module.exports."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    matches = list(_EXPORT.finditer(text))
    if len(matches) != 1:
        raise ConversionError(f"{path}: expected one browserify module 1 with `<module>.exports=`, found {len(matches)}")
    value, end = _JsLiteral(text, path).value(matches[0].end())
    tail = text[end:].lstrip()
    if not tail.startswith("}"):
        raise ConversionError(f"{path}: trailing code after the exported value: {tail[:60]!r}")
    return value


# ---- weights -----------------------------------------------------------------------------------------------------

_QBYTES = {"uint8": (np.uint8, 1), "uint16": (np.dtype("<u2"), 2), "float16": (np.dtype("<f2"), 2)}


def load_weights(model_dir: str, manifest: list) -> dict[str, np.ndarray]:
    """Decodes the weight groups as tfjs-core io.decodeWeights does: the shards of a group are concatenated in
    `paths` order and the tensors follow one another in `weights` order. uint8/uint16-quantised tensors are
    dequantised as value = q * scale + min, computed in double precision and rounded once to float32 (tfjs
    writes `v * scale + min` into a Float32Array); float16 ones are widened."""
    weights: dict[str, np.ndarray] = {}
    for g, group in enumerate(manifest):
        blobs = []
        for p in group["paths"]:
            data = read_umd_export(os.path.join(model_dir, p + ".min.js"))
            if not isinstance(data, str):
                raise ConversionError(f"{p}.min.js: expected a base64 string export")
            blobs.append(base64.b64decode(data, validate=True))
        buf = b"".join(blobs)
        off = 0
        for w in group["weights"]:
            name, shape, dtype = w["name"], [int(d) for d in w["shape"]], w["dtype"]
            if dtype != "float32":
                raise ConversionError(f"weight {name}: dtype {dtype} (only float32 tensors are expected)")
            n = int(np.prod(shape, dtype=np.int64)) if shape else 1
            q = w.get("quantization")
            if q is None:
                arr = np.frombuffer(buf, dtype="<f4", count=n, offset=off).astype(np.float32)
                off += 4 * n
            else:
                if q.get("dtype") not in _QBYTES:
                    raise ConversionError(f"weight {name}: quantization dtype {q.get('dtype')!r} is not supported")
                qt, size = _QBYTES[q["dtype"]]
                raw = np.frombuffer(buf, dtype=qt, count=n, offset=off)
                off += size * n
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    if "scale" not in q or "min" not in q:
                        raise ConversionError(f"weight {name}: {q['dtype']} quantization without scale and min")
                    arr = (raw.astype(np.float64) * float(q["scale"]) + float(q["min"])).astype(np.float32)
            if name in weights:
                raise ConversionError(f"weight {name} appears twice in the manifest")
            weights[name] = arr.reshape(shape)
        if off != len(buf):
            raise ConversionError(f"weight group {g}: the manifest accounts for {off} bytes, the shards hold {len(buf)}")
    return weights


# ---- graph -------------------------------------------------------------------------------------------------------

class Value:
    """A Keras layer output inside the ONNX graph: tensor name and static shape (C, H, W) or (F,), plus zero padding
    that a ZeroPadding2D left for the convolution that consumes it (top, bottom, left, right)."""

    def __init__(self, name: str, shape: tuple, pads=(0, 0, 0, 0)):
        self.name, self.shape, self.pads = name, tuple(shape), tuple(pads)


def tf_padding(mode: str, size: int, k: int, stride: int, dilation: int = 1):
    """(output size, pad before, pad after) of TensorFlow 'same'/'valid' padding along one axis."""
    k_eff = (k - 1) * dilation + 1
    if mode == "valid":
        if size < k_eff:
            raise ConversionError(f"'valid' window {k_eff} larger than input {size}")
        return (size - k_eff) // stride + 1, 0, 0
    if mode == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        return out, total // 2, total - total // 2
    raise ConversionError(f"padding {mode!r} is not supported")


class Converter:
    def __init__(self, topology: dict, weights: dict[str, np.ndarray]):
        mc = topology["model_config"]
        if mc["class_name"] not in ("Model", "Functional"):
            raise ConversionError(f"model class {mc['class_name']} (expected a functional Model)")
        cfg = mc["config"]
        self.layers = {l["name"]: l for l in cfg["layers"]}
        self.order = self.topological([l["name"] for l in cfg["layers"]])
        if len(cfg["input_layers"]) != 1 or len(cfg["output_layers"]) != 1:
            raise ConversionError("expected one input and one output layer")
        self.input_layer = cfg["input_layers"][0][0]
        self.output_layer = cfg["output_layers"][0][0]
        self.weights = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.inits: list = []
        self.consts: set[str] = set()
        self.values: dict[str, Value] = {}
        self.consumers = collections.defaultdict(list)
        for name in self.order:
            for src in self.inbound(name):
                self.consumers[src].append(name)
        self.stats = collections.Counter()
        self.params = 0

    # -- topology helpers
    def inbound(self, name: str) -> list[str]:
        nodes = self.layers[name]["inbound_nodes"]
        if not nodes:
            return []
        if len(nodes) != 1:
            raise ConversionError(f"layer {name} is called {len(nodes)} times (shared layers are not supported)")
        out = []
        for entry in nodes[0]:
            src, node_index, tensor_index = entry[0], entry[1], entry[2]
            if node_index != 0 or tensor_index != 0:
                raise ConversionError(f"layer {name}: inbound {entry[:3]} (only single-output, single-call layers)")
            out.append(src)
        return out

    def topological(self, names: list[str]) -> list[str]:
        """Keras order, with every layer after its inputs (stable: the config order wherever it is already valid)."""
        done, out = set(), []
        pending = list(names)
        while pending:
            progressed = False
            for n in list(pending):
                if all(src in done for src in self.inbound(n)):
                    out.append(n)
                    done.add(n)
                    pending.remove(n)
                    progressed = True
                    break
            if not progressed:
                raise ConversionError(f"cycle or missing layer among {pending[:5]}")
        return out

    def weight(self, layer: str, name: str, required: bool = True):
        key = f"{layer}/{name}"
        if key not in self.weights:
            if required:
                raise ConversionError(f"weight {key} is missing from the manifest")
            return None
        self.used.add(key)
        return self.weights[key].astype(np.float64)

    def init(self, name: str, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        self.inits.append(numpy_helper.from_array(arr, name))
        if arr.dtype == np.float32:
            self.params += arr.size
        return name

    def const(self, value: float) -> str:
        """A float32 scalar initializer, shared by every node that needs the same value."""
        name = f"const/{value!r}"
        if name not in self.consts:
            self.consts.add(name)
            self.init(name, np.array(value, dtype=np.float32))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        self.stats[op] += 1
        return output

    def activation(self, act: str, x: str, name: str, rank: int) -> str:
        if act in (None, "linear"):
            return x
        if act == "relu":
            return self.node("Relu", [x], f"{name}/relu", f"{name}/relu")
        if act == "sigmoid":
            return self.node("Sigmoid", [x], f"{name}/sigmoid", f"{name}/sigmoid")
        if act == "tanh":
            return self.node("Tanh", [x], f"{name}/tanh", f"{name}/tanh")
        if act == "softmax":  # Keras: over the last (channel) axis; NCHW keeps channels at 1
            return self.node("Softmax", [x], f"{name}/softmax", f"{name}/softmax", axis=1)
        raise ConversionError(f"{name}: activation {act!r} is not supported")

    # -- which BatchNormalization / ZeroPadding2D layers fold into a convolution
    def plan_folds(self):
        self.bn_into: dict[str, str] = {}   # conv layer -> the BatchNormalization folded into it
        self.bn_folded: set[str] = set()
        self.pad_folded: set[str] = set()
        for name in self.order:
            l = self.layers[name]
            if l["class_name"] == "BatchNormalization":
                src = self.inbound(name)[0]
                s = self.layers[src]
                if (s["class_name"] in ("Conv2D", "DepthwiseConv2D") and s["config"].get("activation", "linear") == "linear"
                        and self.consumers[src] == [name] and src not in self.bn_into):
                    self.bn_into[src] = name
                    self.bn_folded.add(name)
            if l["class_name"] == "ZeroPadding2D":
                cons = self.consumers[name]
                if len(cons) == 1 and self.layers[cons[0]]["class_name"] in ("Conv2D", "DepthwiseConv2D"):
                    self.pad_folded.add(name)

    def bn_affine(self, name: str, channels: int):
        """BatchNormalization as y = x * a + b per channel (float64)."""
        cfg = self.layers[name]["config"]
        if cfg.get("axis") not in (-1, 3, [3], [-1]):
            raise ConversionError(f"{name}: BatchNormalization axis {cfg.get('axis')} (channels-last only)")
        eps = float(cfg["epsilon"])
        gamma = self.weight(name, "gamma") if cfg.get("scale", True) else np.ones(channels)
        beta = self.weight(name, "beta") if cfg.get("center", True) else np.zeros(channels)
        mean, var = self.weight(name, "moving_mean"), self.weight(name, "moving_variance")
        a = gamma / np.sqrt(var + eps)
        return a, beta - mean * a

    # -- layers
    def convert(self, size: int):
        self.plan_folds()
        l0 = self.layers[self.input_layer]
        shape = l0["config"]["batch_input_shape"]
        if shape[1:] != [size, size, 3] and not (shape[1] is None and shape[3] == 3):
            raise ConversionError(f"input shape {shape} does not take {size}x{size}x3")
        self.values[self.input_layer] = Value("pixel_values", (3, size, size))
        for name in self.order:
            if name == self.input_layer:
                continue
            l = self.layers[name]
            cls, cfg = l["class_name"], l["config"]
            if cfg.get("data_format", "channels_last") != "channels_last":
                raise ConversionError(f"{name}: data_format {cfg['data_format']}")
            ins = [self.values[s] for s in self.inbound(name)]
            fn = getattr(self, "layer_" + cls, None)
            if fn is None:
                raise ConversionError(f"{name}: layer class {cls} is not supported")
            self.stats["keras:" + cls] += 1
            out = fn(name, cfg, ins)
            if out is not None:
                self.values[name] = out
        unused = sorted(set(self.weights) - self.used)
        if unused:
            raise ConversionError(f"weights not used by any layer: {unused[:8]}")

    def layer_InputLayer(self, name, cfg, ins):
        raise ConversionError("a second InputLayer")

    def layer_ZeroPadding2D(self, name, cfg, ins):
        (x,) = ins
        p = cfg["padding"]
        if isinstance(p, int):
            p = [[p, p], [p, p]]
        elif isinstance(p[0], int):
            p = [[p[0], p[0]], [p[1], p[1]]]
        (t, b), (le, r) = p
        c, h, w = x.shape
        if name in self.pad_folded:
            self.stats["folded ZeroPadding2D"] += 1
            return Value(x.name, (c, h + t + b, w + le + r), (x.pads[0] + t, x.pads[1] + b, x.pads[2] + le, x.pads[3] + r))
        pads = self.init(f"{name}/pads", np.array([0, 0, t, le, 0, 0, b, r], dtype=np.int64))
        return Value(self.node("Pad", [self.materialise(x), pads], name, name), (c, h + t + b, w + le + r))

    def materialise(self, x: Value) -> str:
        if x.pads == (0, 0, 0, 0):
            return x.name
        raise ConversionError(f"internal: pending padding on {x.name} reached a layer that cannot take it")

    def conv(self, name, cfg, ins, kernel_oihw, bias, group):
        (x,) = ins
        c, h, w = x.shape
        kh, kw = cfg["kernel_size"]
        sh, sw = cfg["strides"]
        dh, dw = cfg.get("dilation_rate", [1, 1])
        oh, pt, pb = tf_padding(cfg["padding"], h, kh, sh, dh)
        ow, pl, pr = tf_padding(cfg["padding"], w, kw, sw, dw)
        pads = [x.pads[0] + pt, x.pads[2] + pl, x.pads[1] + pb, x.pads[3] + pr]
        if cfg.get("use_bias", True):
            b = self.weight(name, "bias")
            bias = b if bias is None else bias + b
        out_name = name
        if name in self.bn_into:
            bn = self.bn_into[name]
            a, shift = self.bn_affine(bn, kernel_oihw.shape[0])
            kernel_oihw = kernel_oihw * a[:, None, None, None]
            bias = shift if bias is None else bias * a + shift
            out_name = bn
            self.stats["folded BatchNormalization"] += 1
        inputs = [x.name, self.init(f"{name}/W", kernel_oihw.astype(np.float32))]
        if bias is not None:
            inputs.append(self.init(f"{name}/B", bias.astype(np.float32)))
        y = self.node("Conv", inputs, out_name, name, kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw],
                      pads=pads, group=group)
        y = self.activation(cfg.get("activation", "linear"), y, name, 4)
        v = Value(y, (kernel_oihw.shape[0], oh, ow))
        if name in self.bn_into:
            self.values[self.bn_into[name]] = v
        return v

    def layer_Conv2D(self, name, cfg, ins):
        k = self.weight(name, "kernel")                   # [kh, kw, in, out]
        if k.shape[2] != ins[0].shape[0]:
            raise ConversionError(f"{name}: kernel takes {k.shape[2]} channels, input has {ins[0].shape[0]}")
        if cfg.get("groups", 1) != 1:
            raise ConversionError(f"{name}: grouped Conv2D")
        return self.conv(name, cfg, ins, k.transpose(3, 2, 0, 1), None, 1)

    def layer_DepthwiseConv2D(self, name, cfg, ins):
        k = self.weight(name, "depthwise_kernel")         # [kh, kw, in, multiplier]
        kh, kw, cin, mult = k.shape
        if cin != ins[0].shape[0]:
            raise ConversionError(f"{name}: kernel takes {cin} channels, input has {ins[0].shape[0]}")
        # TF output channel c*mult + m convolves input c with k[:, :, c, m]; ONNX group=cin, weight [cin*mult, 1, kh, kw]
        w = k.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None, :, :]
        return self.conv(name, cfg, ins, w, None, cin)

    def layer_BatchNormalization(self, name, cfg, ins):
        if name in self.bn_folded:
            return None  # the convolution before it already wrote self.values[name]
        (x,) = ins
        if len(x.shape) != 3:
            raise ConversionError(f"{name}: BatchNormalization on a non-image tensor")
        a, b = self.bn_affine(name, x.shape[0])
        sa = self.init(f"{name}/scale", a.astype(np.float32).reshape(-1, 1, 1))
        sb = self.init(f"{name}/shift", b.astype(np.float32).reshape(-1, 1, 1))
        y = self.node("Mul", [self.materialise(x), sa], f"{name}/mul", f"{name}/mul")
        return Value(self.node("Add", [y, sb], name, name), x.shape)

    def layer_ReLU(self, name, cfg, ins):
        (x,) = ins
        if float(cfg.get("negative_slope", 0) or 0) != 0 or float(cfg.get("threshold", 0) or 0) != 0:
            raise ConversionError(f"{name}: ReLU with negative_slope/threshold is not supported")
        mx = cfg.get("max_value")
        if mx is None:
            return Value(self.node("Relu", [self.materialise(x)], name, name), x.shape)
        lo = self.const(0.0)
        hi = self.const(float(mx))
        return Value(self.node("Clip", [self.materialise(x), lo, hi], name, name), x.shape)

    def layer_Activation(self, name, cfg, ins):
        (x,) = ins
        y = self.activation(cfg["activation"], self.materialise(x), name, len(x.shape) + 1)
        return Value(y, x.shape)

    def layer_Add(self, name, cfg, ins):
        if len(ins) < 2 or any(v.shape != ins[0].shape for v in ins):
            raise ConversionError(f"{name}: Add of shapes {[v.shape for v in ins]}")
        acc = self.materialise(ins[0])
        for i, v in enumerate(ins[1:], 1):
            out = name if i == len(ins) - 1 else f"{name}/{i}"
            acc = self.node("Add", [acc, self.materialise(v)], out, out)
        return Value(acc, ins[0].shape)

    def layer_Concatenate(self, name, cfg, ins):
        axis = cfg.get("axis", -1)
        rank = len(ins[0].shape) + 1
        axis = axis % rank
        onnx_axis = {3: 1, 1: 2, 2: 3}[axis] if rank == 4 else axis
        shape = list(ins[0].shape)
        for v in ins[1:]:
            shape[onnx_axis - 1] += v.shape[onnx_axis - 1]
        return Value(self.node("Concat", [self.materialise(v) for v in ins], name, name, axis=onnx_axis), tuple(shape))

    def pool(self, op, name, cfg, ins):
        (x,) = ins
        c, h, w = x.shape
        kh, kw = cfg["pool_size"]
        sh, sw = cfg.get("strides") or cfg["pool_size"]
        oh, pt, pb = tf_padding(cfg["padding"], h, kh, sh)
        ow, pl, pr = tf_padding(cfg["padding"], w, kw, sw)
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[pt, pl, pb, pr])
        if op == "AveragePool":
            attrs["count_include_pad"] = 0  # TF averages over the pixels inside the image only
        return Value(self.node(op, [self.materialise(x)], name, name, **attrs), (c, oh, ow))

    def layer_AveragePooling2D(self, name, cfg, ins):
        return self.pool("AveragePool", name, cfg, ins)

    def layer_MaxPooling2D(self, name, cfg, ins):
        return self.pool("MaxPool", name, cfg, ins)

    def layer_GlobalAveragePooling2D(self, name, cfg, ins):
        (x,) = ins
        y = self.node("GlobalAveragePool", [self.materialise(x)], f"{name}/pool", f"{name}/pool")
        return Value(self.node("Flatten", [y], name, name, axis=1), (x.shape[0],))

    def layer_Flatten(self, name, cfg, ins):
        (x,) = ins
        src = self.materialise(x)
        if len(x.shape) == 3 and x.shape[1] * x.shape[2] != 1:
            # Keras flattens NHWC: bring channels last first so the Dense weights apply unchanged
            src = self.node("Transpose", [src], f"{name}/nhwc", f"{name}/nhwc", perm=[0, 2, 3, 1])
        return Value(self.node("Flatten", [src], name, name, axis=1), (int(np.prod(x.shape)),))

    def layer_Dropout(self, name, cfg, ins):
        return ins[0]  # identity at inference

    def layer_Dense(self, name, cfg, ins):
        (x,) = ins
        if len(x.shape) != 1:
            raise ConversionError(f"{name}: Dense on a {len(x.shape)}-d feature")
        k = self.weight(name, "kernel")                   # [in, units]
        if k.shape[0] != x.shape[0]:
            raise ConversionError(f"{name}: kernel takes {k.shape[0]} features, input has {x.shape[0]}")
        b = self.weight(name, "bias") if cfg.get("use_bias", True) else np.zeros(k.shape[1])
        y = self.node("Gemm", [x.name, self.init(f"{name}/W", k.astype(np.float32)), self.init(f"{name}/B", b.astype(np.float32))],
                      name, name)
        return Value(self.activation(cfg.get("activation", "linear"), y, name, 2), (k.shape[1],))


def build_model(package_dir: str, model_name: str):
    with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as f:
        pkg = json.load(f)
    if pkg.get("name") != "nsfwjs":
        raise ConversionError(f"{package_dir}: package.json names {pkg.get('name')!r}, not nsfwjs")
    model_dir = os.path.join(package_dir, "dist", "models", model_name)
    artifact = read_umd_export(os.path.join(model_dir, "model.min.js"))
    if set(artifact) < {"modelTopology", "weightsManifest"}:
        raise ConversionError(f"model.min.js exports {sorted(artifact)}, expected modelTopology and weightsManifest")
    if artifact.get("format", "layers-model") != "layers-model" or "model_config" not in artifact["modelTopology"]:
        raise ConversionError(f"dist/models/{model_name} is a {artifact.get('format', 'non-layers')} (TensorFlow graph), "
                              f"not a Keras layers model; only layers models are converted")
    topo = artifact["modelTopology"]
    weights = load_weights(model_dir, artifact["weightsManifest"])

    conv = Converter(topo, weights)
    size = conv.layers[conv.input_layer]["config"]["batch_input_shape"][1]
    conv.convert(size)

    out_layer = conv.layers[conv.output_layer]
    if out_layer["class_name"] != "Dense" or out_layer["config"].get("activation") != "softmax":
        raise ConversionError(f"the output layer {conv.output_layer} is not a softmax Dense")
    probs = conv.values[conv.output_layer]
    if probs.shape != (len(LABELS),):
        raise ConversionError(f"the model has {probs.shape} outputs, expected {len(LABELS)} classes")

    # The pooled feature: what the first Dense layer of the classifier head reads.
    head = next(n for n in conv.order if conv.layers[n]["class_name"] == "Dense")
    feature = conv.values[conv.inbound(head)[0]]
    dim = feature.shape[0]
    norm = conv.node("ReduceL2", [feature.name], "embedding/norm", "embedding/norm", axes=[1], keepdims=1)
    eps = conv.const(1e-12)
    norm = conv.node("Max", [norm, eps], "embedding/norm_eps", "embedding/norm_eps")
    conv.node("Div", [feature.name, norm], "embedding", "embedding")

    # Name the softmax output `probs`.
    for n in conv.nodes:
        for i, o in enumerate(n.output):
            if o == probs.name:
                n.output[i] = "probs"
        for i, o in enumerate(n.input):
            if o == probs.name:
                n.input[i] = "probs"

    graph = helper.make_graph(
        conv.nodes, f"nsfwjs_{model_name}",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", len(LABELS)])],
        conv.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER,
                              producer_version=PRODUCER_VERSION,
                              doc_string=f"nsfwjs {pkg['version']} dist/models/{model_name} (Keras {topo.get('keras_version')}) "
                                         f"converted to ONNX: input RGB/255 NCHW; outputs L2-normalised pooled feature "
                                         f"and class probabilities")
    model.ir_version = IR_VERSION
    for k, v in (("source", f"npm:nsfwjs@{pkg['version']}/dist/models/{model_name}"), ("labels", ",".join(LABELS)),
                 ("input_scale", "rgb/255"), ("input_size", str(size))):
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in inferred.graph.output}
    if shapes != {"embedding": ["batch", dim], "probs": ["batch", len(LABELS)]}:
        raise ConversionError(f"shape inference gives outputs {shapes}")
    return model, dict(version=pkg["version"], size=size, dim=dim, feature=feature.name, conv=conv, topo=topo)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("package_dir", help="unpacked nsfwjs npm tarball (the folder with package.json)")
    ap.add_argument("model", help="dist/models/<model>: mobilenet_v2 or inception_v3")
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--expect-version", help="fail unless package.json has this version")
    args = ap.parse_args(argv)
    try:
        model, info = build_model(args.package_dir, args.model)
        if args.expect_version and info["version"] != args.expect_version:
            raise ConversionError(f"nsfwjs {info['version']} where {args.expect_version} was expected")
    except ConversionError as e:
        print(f"convert_nsfwjs: {e}", file=sys.stderr)
        return 1
    data = model.SerializeToString()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.out)
    conv = info["conv"]
    keras = {k[6:]: v for k, v in sorted(conv.stats.items()) if k.startswith("keras:")}
    onnx_ops = {k: v for k, v in sorted(conv.stats.items()) if not k.startswith("keras:") and not k.startswith("folded")}
    print(f"nsfwjs {info['version']} {args.model}: Keras {info['topo'].get('keras_version')}, {len(conv.order)} layers, "
          f"{len(conv.weights)} weight tensors")
    print(f"  keras layers : {keras}")
    print(f"  folded       : {conv.stats['folded BatchNormalization']} BatchNormalization, "
          f"{conv.stats['folded ZeroPadding2D']} ZeroPadding2D")
    print(f"  onnx nodes   : {sum(onnx_ops.values())} {onnx_ops}")
    print(f"  parameters   : {conv.params:,} float32")
    print(f"  input        : pixel_values float32 [batch, 3, {info['size']}, {info['size']}] (RGB / 255)")
    print(f"  outputs      : embedding float32 [batch, {info['dim']}] (L2-normalised {info['feature']}), "
          f"probs float32 [batch, {len(LABELS)}] {LABELS}")
    print(f"  wrote        : {args.out} ({len(data):,} bytes) sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
