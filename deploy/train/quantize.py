#!/usr/bin/python3
"""Turns version 2 of the example sentiment model into version 3, dynamically quantized to int8.

    /usr/bin/python3 deploy/train/quantize.py      (or: make quantize)

Needs Debian's python3-onnx and python3-numpy only: the graph is rewritten node by node with
onnx.helper and numpy_helper into the operators ONNX Runtime's CPU kernels run in int8
(onnxruntime 1.29, docs/ContribOperators.md and onnxruntime/core/graph/contrib_ops/quantization_defs.cc):

  Gather(embedding)  ->  Gather(int8 table) + DequantizeLinear (one scale for the table)
  LSTM               ->  com.microsoft.DynamicQuantizeLSTM: W and R int8, transposed to
                         [num_directions, input, 4*hidden], one scale per output channel (gate row)
  Gemm(linear)       ->  DynamicQuantizeLinear (the hidden state to uint8, per tensor) +
                         com.microsoft.MatMulIntegerToFloat (int8 weights, one scale per class, bias)

Weights are quantized symmetrically (zero point 0, scale max|w| / 127, round half to even);
activations are quantized by ONNX Runtime at run time, per tensor, to uint8. Nothing here is
random, so there is no seed to fix: the same version 2 gives byte-identical output. The script
also recomputes the held-out accuracy with a numpy emulation of those kernels (a batch of one:
the quantization ranges of activations depend on what shares a batch) and writes it to
metrics.json and MODEL_CARD.md; the end-to-end tests reproduce it through the sidecar.
`make measure-model` (sidecar/cmd/modelgate-measure) measures size, memory, accuracy and speed
under ONNX Runtime itself.

`--prune` reports the magnitude-pruning experiment of the model card instead (nothing written
to the model repository).
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS_DOMAIN = "com.microsoft"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "deploy", "models", "sentiment")
SOURCE, TARGET = "2", "3"
CARD_BEGIN = "<!-- quantize.py: version 3 -->"
CARD_END = "<!-- /quantize.py -->"


def quantize_symmetric(w, axis):
    """int8 values and float32 scales of w, one scale per index of axis (None: one for all)."""
    w = w.astype(np.float64)
    if axis is None:
        peak = np.abs(w).max()
    else:
        peak = np.abs(w).max(axis=tuple(a for a in range(w.ndim) if a != axis))
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(np.round(w / scale.astype(np.float64).reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize(model):
    """Returns the int8 graph of model (version 2's float32 graph) and its dequantized weights."""
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    used = set()
    weights, nodes, emulated = [], [], {}

    def add(name, array):
        weights.append(numpy_helper.from_array(array, name))

    for node in model.graph.node:
        if node.op_type == "Gather" and node.input[0] in init:
            table = init[node.input[0]]
            # One scale for the whole table: ONNX Runtime 1.29's per-axis DequantizeLinear made the
            # whole model slower than version 2 (the card's table says by how much); per tensor it
            # costs next to nothing.
            q, scale = quantize_symmetric(table, axis=None)
            name = node.input[0]
            add(name + "_int8", q)
            add(name + "_scale", scale)
            add(name + "_zero_point", np.array(0, np.int8))
            used.add(name)
            nodes.append(helper.make_node("Gather", [name + "_int8", node.input[1]], [node.output[0] + "_int8"]))
            nodes.append(helper.make_node("DequantizeLinear",
                                          [node.output[0] + "_int8", name + "_scale", name + "_zero_point"],
                                          [node.output[0]]))
            emulated["embedding"] = q.astype(np.float32) * scale
        elif node.op_type == "LSTM":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("direction", b"forward") not in (b"forward", "forward") or len(node.input) > 5:
                raise SystemExit("quantize.py handles a forward LSTM without initial states or peepholes")
            x, w_name, r_name, b_name, lengths = node.input
            for name in (w_name, r_name):
                # ONNX stores [dirs, 4*hidden, input]; DynamicQuantizeLSTM wants [dirs, input, 4*hidden].
                w = np.transpose(init[name], (0, 2, 1))
                q, scale = quantize_symmetric(w, axis=2)  # per output channel: one scale per gate row
                add(name + "_int8", q)
                add(name + "_scale", scale[None, :])
                add(name + "_zero_point", np.zeros((1, scale.size), np.int8))
                used.add(name)
                emulated[name] = (q[0].astype(np.int32), scale)
            nodes.append(helper.make_node(
                "DynamicQuantizeLSTM",
                [x, w_name + "_int8", r_name + "_int8", b_name, lengths, "", "", "",
                 w_name + "_scale", w_name + "_zero_point", r_name + "_scale", r_name + "_zero_point"],
                list(node.output), domain=MS_DOMAIN, hidden_size=attrs["hidden_size"], direction="forward"))
            emulated["lstm_B"] = init[b_name][0].astype(np.float64)
            emulated["hidden"] = attrs["hidden_size"]
        elif node.op_type == "Gemm" and node.input[1] in init:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transB") != 1 or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise SystemExit("quantize.py handles Gemm(x, W, b, transB=1) only")
            x, w_name, b_name = node.input
            q, scale = quantize_symmetric(init[w_name].T, axis=1)  # [hidden, classes], one scale per class
            add(w_name + "_int8", q)
            add(w_name + "_scale", scale)
            used.add(w_name)
            nodes.append(helper.make_node("DynamicQuantizeLinear", [x],
                                          [x + "_uint8", x + "_scale", x + "_zero_point"]))
            nodes.append(helper.make_node(
                "MatMulIntegerToFloat",
                [x + "_uint8", w_name + "_int8", x + "_scale", w_name + "_scale", x + "_zero_point", "", b_name],
                list(node.output), domain=MS_DOMAIN))
            emulated["linear"] = (q.astype(np.int32), scale, init[b_name].astype(np.float64))
        else:
            nodes.append(node)
    for t in model.graph.initializer:
        if t.name not in used:
            weights.append(t)
    if set(emulated) != {"embedding", "lstm_W", "lstm_R", "lstm_B", "hidden", "linear"}:
        raise SystemExit(f"quantize.py: unexpected graph, quantized only {sorted(emulated)}")
    graph = helper.make_graph(nodes, model.graph.name, list(model.graph.input), list(model.graph.output), weights)
    out = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid(MS_DOMAIN, 1)],
                            producer_name="modelgate deploy/train/quantize.py")
    out.ir_version = model.ir_version
    onnx.checker.check_model(out)
    return out, emulated


def quantize_uint8(x):
    """ONNX Runtime's dynamic activation quantization: per tensor, uint8, range widened to hold 0."""
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero = int(np.clip(np.round(-lo / scale), 0, 255))
    return np.clip(np.round(x / scale) + zero, 0, 255).astype(np.int32) - zero, scale


def emulate(e, ids):
    """Logits of one sentence (its max_length ids) through the int8 graph, in numpy."""
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
    hidden = e["hidden"]
    length = max(1, int(np.count_nonzero(ids)))
    x = e["embedding"][ids].astype(np.float64)  # every padded position, as the graph gathers them
    xq, xs = quantize_uint8(x)
    wq, ws = e["lstm_W"]
    rq, rs = e["lstm_R"]
    gates_x = (xq @ wq) * (xs * ws) + e["lstm_B"][:4 * hidden] + e["lstm_B"][4 * hidden:]
    h, c = np.zeros(hidden), np.zeros(hidden)
    for t in range(length):
        hq, hscale = quantize_uint8(h)
        g = gates_x[t] + (hq @ rq) * (hscale * rs)
        i, o, f = (sigmoid(g[k * hidden:(k + 1) * hidden]) for k in range(3))
        c = f * c + i * np.tanh(g[3 * hidden:])
        h = o * np.tanh(c)
    lq, lscale, lb = e["linear"]
    hq, hscale = quantize_uint8(h)
    return (hq @ lq) * (hscale * lscale) + lb


def tokenize(text):
    # As the sidecar's tokenizer (sidecar/internal/textproc) splits: lowercase, maximal runs of
    # letters and digits (Python's notion of them; the held-out sentences are plain English).
    return re.findall(r"[^\W_]+", text.lower())


def read_heldout():
    rows = []
    with open(os.path.join(HERE, "data", "heldout.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            _, label, text = line.rstrip("\n").split("\t", 2)
            rows.append((text, int(label)))
    return rows


def vocabulary(models):
    """Word -> id from a model folder's vocab.txt (the first line of a word wins, as in the sidecar)."""
    index = {}
    with open(os.path.join(models, "vocab.txt"), encoding="utf-8") as f:
        for i, w in enumerate(f.read().split("\n")):
            if w and w not in index:
                index[w] = i
    return index


def save_model(model, folder):
    """Writes folder/model.onnx and its model.onnx.sha256; returns the file's bytes and sha256."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save(model, path)
    data = open(path, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    with open(path + ".sha256", "w") as f:
        f.write(f"{digest}  model.onnx\n")
    return data, digest


def encode(text, index, max_length=64, unknown=1, pad=0):
    ids = [index.get(w, unknown) for w in tokenize(text)][:max_length]
    return np.array(ids + [pad] * (max_length - len(ids)), dtype=np.int64)


def float_logits(init, ids):
    """Version 2's logits in numpy (the float32 graph)."""
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
    W, R, B = (init[n][0].astype(np.float64) for n in ("lstm_W", "lstm_R", "lstm_B"))
    hidden = R.shape[1]
    h, c = np.zeros(hidden), np.zeros(hidden)
    x = init["embedding"][ids].astype(np.float64)
    for t in range(max(1, int(np.count_nonzero(ids)))):
        g = W @ x[t] + R @ h + B[:4 * hidden] + B[4 * hidden:]
        i, o, f = (sigmoid(g[k * hidden:(k + 1) * hidden]) for k in range(3))
        c = f * c + i * np.tanh(g[3 * hidden:])
        h = o * np.tanh(c)
    return init["linear_W"].astype(np.float64) @ h + init["linear_B"]


def write_card(path, accuracy, agreement, size, digest, source_size):
    with open(path, encoding="utf-8") as f:
        card = f.read()
    row = (f"| {TARGET} | version 2 dynamically quantized to int8 (`deploy/train/quantize.py`) | {accuracy:.4f} | "
           f"n/a | {size / 1e6:.1f} MB, sha256 `{digest[:12]}…` |")
    # The row goes at the end of train.py's table of versions (the card's first table, the one
    # whose header has a "training" column); other tables are left alone.
    lines = card.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("| version | training |"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    table = [l for l in lines[start:end] if not l.startswith(f"| {TARGET} |")] + [row]
    card = "\n".join(lines[:start] + table + lines[end:])
    section = "\n".join([
        CARD_BEGIN,
        "## Version 3: int8",
        "",
        f"Version 2's weights quantized to int8 by `deploy/train/quantize.py` (`make quantize`; no",
        "training, no randomness: the same version 2 gives the same bytes). The graph runs on ONNX",
        "Runtime's CPU kernels for dynamic quantization: the embedding table is int8 with one scale",
        "for the table, dequantized (`DequantizeLinear`) after the rows are gathered; the LSTM is",
        "`com.microsoft.DynamicQuantizeLSTM` with int8 `W` and `R` and one scale per output channel;",
        "the linear layer is `DynamicQuantizeLinear` (the hidden state to uint8) and",
        "`com.microsoft.MatMulIntegerToFloat`. Weights are symmetric (zero point 0, scale max|w|/127);",
        "activations are quantized at run time, per tensor, so an answer can move by a rounding step",
        "with what else shares its batch: batched and unbatched answers of version 3 agree in label",
        "almost always but not to the last digit, unlike versions 1 and 2.",
        "",
        f"Its held-out accuracy above ({accuracy:.4f}) is from quantize.py's numpy emulation of those",
        f"kernels, one sentence at a time; {agreement:.4f} of the held-out labels equal version 2's there.",
        f"model.onnx is {size:,} bytes, {size / source_size:.1%} of version 2's {source_size:,}.",
        "",
        CARD_END,
    ])
    if CARD_BEGIN in card:
        card = re.sub(re.escape(CARD_BEGIN) + ".*?" + re.escape(CARD_END), lambda _: section, card, flags=re.S)
    else:
        card = card.replace("\n## Limits", "\n" + section + "\n\n## Limits", 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(card)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--prune", action="store_true", help="report the pruning experiment only")
    parser.add_argument("--prune-dir", help="with --prune: write the pruned int8 models to DIR/<sparsity>/model.onnx")
    args = parser.parse_args()

    source_path = os.path.join(args.models, SOURCE, "model.onnx")
    source = onnx.load(source_path)
    init = {t.name: numpy_helper.to_array(t) for t in source.graph.initializer}
    index = vocabulary(args.models)
    rows = read_heldout()
    ids = [encode(text, index) for text, _ in rows]

    if args.prune:
        return prune_report(source, init, ids, rows, args.prune_dir)

    model, emulated = quantize(source)
    data, digest = save_model(model, os.path.join(args.models, TARGET))

    predicted = [int(np.argmax(emulate(emulated, x))) for x in ids]
    reference = [int(np.argmax(float_logits(init, x))) for x in ids]
    accuracy = sum(int(p == label) for p, (_, label) in zip(predicted, rows)) / len(rows)
    agreement = sum(int(p == r) for p, r in zip(predicted, reference)) / len(rows)
    print(f"v{TARGET}: {len(data)} bytes ({len(data) / os.path.getsize(source_path):.1%} of v{SOURCE}), "
          f"held-out accuracy {accuracy:.4f} (emulated), agreement with v{SOURCE} {agreement:.4f}, sha256 {digest}",
          file=sys.stderr)

    metrics_path = os.path.join(HERE, "metrics.json")
    metrics = json.load(open(metrics_path))
    metrics["versions"][TARGET] = {"bytes": len(data), "heldout_accuracy": accuracy, "sha256": digest,
                                   "agreement_with_v2": agreement, "quantized_from": SOURCE}
    with open(metrics_path, "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")
    write_card(os.path.join(args.models, "MODEL_CARD.md"), accuracy, agreement, len(data), digest,
               os.path.getsize(source_path))


def prune_report(source, init, ids, rows, out_dir):
    """Magnitude pruning of version 2, without fine-tuning: the smallest weights of the embedding
    and the LSTM set to zero, then quantized as version 3 is. Prints the file size, its size after
    gzip, and the held-out accuracy of the pruned float32 and int8 models (the int8 one by the numpy
    emulation); with out_dir, writes each int8 variant to out_dir/<sparsity>/model.onnx for
    modelgate-measure (ONNX Runtime's speed)."""
    prunable = ["embedding", "lstm_W", "lstm_R"]
    for sparsity in (0.0, 0.3, 0.5, 0.7):
        pruned = dict(init)
        for name in prunable:
            w = init[name]
            cut = np.quantile(np.abs(w), sparsity) if sparsity else -1
            pruned[name] = np.where(np.abs(w) > cut, w, 0).astype(w.dtype)
        fp32 = _with_weights(source, pruned)
        int8, emulated = quantize(fp32)
        raw = [m.SerializeToString() for m in (fp32, int8)]
        packed = [len(gzip.compress(r, 9, mtime=0)) for r in raw]
        fp32_acc = sum(int(np.argmax(float_logits(pruned, x)) == label) for x, (_, label) in zip(ids, rows)) / len(rows)
        int8_acc = sum(int(np.argmax(emulate(emulated, x)) == label) for x, (_, label) in zip(ids, rows)) / len(rows)
        print(f"| {sparsity:.0%} | {len(raw[0]):,} B, gzip {packed[0]:,} B | {fp32_acc:.4f} | "
              f"{len(raw[1]):,} B, gzip {packed[1]:,} B | {int8_acc:.4f} |")
        if out_dir:
            folder = os.path.join(out_dir, str(round(sparsity * 100)))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "model.onnx"), "wb") as f:
                f.write(raw[1])


def _with_weights(model, weights):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        t.CopyFrom(numpy_helper.from_array(weights[t.name], t.name))
    return m


if __name__ == "__main__":
    main()
