#!/usr/bin/python3
"""Writes sentiment-fp16, version 2 of the example sentiment model in float16, for GPUs.

    /usr/bin/python3 deploy/train/fp16.py      (or: make fp16)

Needs Debian's python3-onnx and python3-numpy only. Every float weight (the embedding table, the
LSTM's W, R and B, the linear layer's W and B) is stored in float16, and every float activation is
float16: the gathered rows, the LSTM and its hidden state, the logits. Casts sit at the edges only:
the input stays `tokens` INT64 (the ids the sidecar's tokenizer writes; the lengths for the LSTM's
sequence_lens are computed from them in integers, as in version 2) and a final Cast turns the
float16 logits into FP32 `logits`, so clients see the same datatype as from `sentiment`.

No operator needs float32 on ONNX Runtime's CUDA execution provider: its kernels register
MLFloat16 for LSTM (onnxruntime/core/providers/cuda/rnn/lstm.cc, opsets 7-13 and 14, with
sequence_lens as int32 in CPU memory), Gemm (cuda/math/gemm.cc), and Gather, Transpose and
Squeeze for every fixed-size type (cuda/tensor/). ONNX Runtime's CPU execution provider runs the
graph only by inserting casts to float32 around the operators it has no float16 kernel for, so on
a CPU the model gains nothing: it is its own folder, shipped only with the GPU image and the
Kubernetes GPU files (deploy/models-gpu), never in deploy/models.

No GPU is needed here: the held-out accuracy is measured with a numpy emulation of the float16
graph (onnx 1.12, Debian's, has no onnx.reference evaluator): each matrix product accumulates in
float32 and rounds its result to float16, as cuBLAS and cuDNN do by default for float16 tensors,
and every element-wise step (gates, cell, hidden state) is rounded to float16. Nothing is random:
the same version 2 gives byte-identical output. The script writes the model, its checksum, the
vocabulary and labels, and the measured section of the folder's MODEL_CARD.md.
"""

import argparse
import os
import re
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quantize import encode, float_logits, read_heldout, save_model, vocabulary

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SOURCE = os.path.join(ROOT, "deploy", "models", "sentiment")
SOURCE_VERSION = "2"
TARGET = os.path.join(ROOT, "deploy", "models-gpu", "sentiment-fp16")
TARGET_VERSION = "1"
FLOAT_WEIGHTS = ("embedding", "lstm_W", "lstm_R", "lstm_B", "linear_W", "linear_B")
CARD_BEGIN = "<!-- fp16.py: measured -->"
CARD_END = "<!-- /fp16.py -->"


def to_fp16(model):
    """Version 2's graph with float16 weights and activations and an FP32 Cast on the logits."""
    init = {t.name: t for t in model.graph.initializer}
    names = {n.op_type: n for n in model.graph.node}
    if set(FLOAT_WEIGHTS) - set(init) or "LSTM" not in names or "Gemm" not in names:
        raise SystemExit("fp16.py: version 2's graph is not the one train.py writes")
    weights = []
    for t in model.graph.initializer:
        if t.name in FLOAT_WEIGHTS:
            weights.append(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
        else:
            weights.append(t)
    output = model.graph.output[0].name
    nodes = []
    for node in model.graph.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        if node.op_type == "Gemm":
            n.output[0] = output + "_fp16"
            nodes.append(n)
            nodes.append(helper.make_node("Cast", [n.output[0]], [output], to=TensorProto.FLOAT))
            continue
        nodes.append(n)
    graph = helper.make_graph(nodes, model.graph.name, list(model.graph.input), list(model.graph.output), weights)
    out = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)],
                            producer_name="modelgate deploy/train/fp16.py")
    out.ir_version = model.ir_version
    onnx.checker.check_model(out, full_check=True)
    return out


def half(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def matmul16(a, b):
    """A float16 product: float32 accumulation, the result rounded to float16."""
    return half(a.astype(np.float32) @ b.astype(np.float32))


def fp16_logits(w, ids):
    """Logits of one sentence (its max_length ids) through the float16 graph, in numpy."""
    sigmoid = lambda v: half(1.0 / (1.0 + np.exp(-v.astype(np.float32))))
    tanh = lambda v: half(np.tanh(v.astype(np.float32)))
    W, R, B = w["lstm_W"][0], w["lstm_R"][0], w["lstm_B"][0]
    hidden = R.shape[1]
    bias = half(B[:4 * hidden].astype(np.float32) + B[4 * hidden:].astype(np.float32))
    h, c = half(np.zeros(hidden)), half(np.zeros(hidden))
    x = w["embedding"][ids]
    for t in range(max(1, int(np.count_nonzero(ids)))):
        g = half(matmul16(W, x[t]).astype(np.float32) + matmul16(R, h).astype(np.float32) + bias.astype(np.float32))
        i, o, f = (sigmoid(g[k * hidden:(k + 1) * hidden]) for k in range(3))
        c = half(f.astype(np.float32) * c.astype(np.float32) + i.astype(np.float32) * tanh(g[3 * hidden:]).astype(np.float32))
        h = half(o.astype(np.float32) * tanh(c).astype(np.float32))
    return half(matmul16(w["linear_W"], h).astype(np.float32) + w["linear_B"].astype(np.float32)).astype(np.float32)


def write_card(path, accuracy, agreement, source_accuracy, size, source_size, digest, half_weights, float_weights):
    with open(path, encoding="utf-8") as f:
        card = f.read()
    section = "\n".join([
        CARD_BEGIN,
        "Held-out accuracy (the 600 sentences of `deploy/train/data/heldout.tsv`, one at a time, by",
        f"fp16.py's numpy emulation of the float16 graph): **{accuracy:.4f}**, against version 2's",
        f"{source_accuracy:.4f} in float32 by the same script; **{agreement:.4f}** of the held-out",
        f"labels equal version 2's. model.onnx is {size:,} bytes, {size / source_size:.1%} of version 2's",
        f"{source_size:,}; {half_weights:,} of its {float_weights:,} float weights are float16.",
        f"sha256 `{digest}`.",
        CARD_END,
    ])
    card = re.sub(re.escape(CARD_BEGIN) + ".*?" + re.escape(CARD_END), lambda _: section, card, flags=re.S)
    with open(path, "w", encoding="utf-8") as f:
        f.write(card)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=SOURCE, help="the sentiment model folder (version 2 is read)")
    parser.add_argument("--target", default=TARGET, help="the sentiment-fp16 model folder")
    args = parser.parse_args()

    source_path = os.path.join(args.source, SOURCE_VERSION, "model.onnx")
    source = onnx.load(source_path)
    model = to_fp16(source)
    data, digest = save_model(model, os.path.join(args.target, TARGET_VERSION))
    for name in ("vocab.txt", "labels.txt"):
        shutil.copyfile(os.path.join(args.source, name), os.path.join(args.target, name))

    index = vocabulary(args.source)
    rows = read_heldout()
    ids = [encode(text, index) for text, _ in rows]
    init32 = {t.name: numpy_helper.to_array(t) for t in source.graph.initializer}
    init16 = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    predicted = [int(np.argmax(fp16_logits(init16, x))) for x in ids]
    reference = [int(np.argmax(float_logits(init32, x))) for x in ids]
    accuracy = sum(int(p == label) for p, (_, label) in zip(predicted, rows)) / len(rows)
    source_accuracy = sum(int(r == label) for r, (_, label) in zip(reference, rows)) / len(rows)
    agreement = sum(int(p == r) for p, r in zip(predicted, reference)) / len(rows)
    half_weights = sum(init16[n].size for n in FLOAT_WEIGHTS if init16[n].dtype == np.float16)
    float_weights = sum(init16[n].size for n in FLOAT_WEIGHTS)
    print(f"sentiment-fp16/{TARGET_VERSION}: {len(data)} bytes ({len(data) / os.path.getsize(source_path):.1%} of "
          f"sentiment/{SOURCE_VERSION}), held-out accuracy {accuracy:.4f} (emulated; v{SOURCE_VERSION} {source_accuracy:.4f}), "
          f"agreement with v{SOURCE_VERSION} {agreement:.4f}, sha256 {digest}", file=sys.stderr)
    write_card(os.path.join(args.target, "MODEL_CARD.md"), accuracy, agreement, source_accuracy, len(data),
               os.path.getsize(source_path), digest, half_weights, float_weights)


if __name__ == "__main__":
    main()
