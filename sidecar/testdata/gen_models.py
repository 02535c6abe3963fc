#!/usr/bin/python3
"""Generate modelgate's test model repository (and, with --bench, a benchmark model).

Run with Debian's /usr/bin/python3 (it has onnx and numpy):

    /usr/bin/python3 sidecar/testdata/gen_models.py            # -> sidecar/testdata/models/
    /usr/bin/python3 sidecar/testdata/gen_models.py --bench .cache/benchmodels

Graphs are built with onnx.helper, weights come from a seeded numpy generator,
so every run writes byte-identical files (`make testmodels` and `git diff` show it).
README.md beside this script says what each model computes.
"""

import argparse
import hashlib
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Opset 17 is the newest onnx 1.12 knows and ONNX Runtime 1.29 runs it.
OPSET = 17
# IR version 8 goes with opset 17; pinned so a newer onnx does not change the files.
IR_VERSION = 8

HERE = os.path.dirname(os.path.abspath(__file__))


def make_model(graph):
    model = helper.make_model(
        graph,
        producer_name="modelgate-gen_models",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_version(model_dir, version, model):
    """Write <model_dir>/<version>/model.onnx and its sha256sum-style checksum."""
    vdir = os.path.join(model_dir, str(version))
    os.makedirs(vdir, exist_ok=True)
    data = model.SerializeToString()
    with open(os.path.join(vdir, "model.onnx"), "wb") as f:
        f.write(data)
    with open(os.path.join(vdir, "model.onnx.sha256"), "w") as f:
        f.write(hashlib.sha256(data).hexdigest() + "  model.onnx\n")


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


# --------------------------------------------------------------------------- adder


def adder(version):
    """sum = a + b + (version-1), diff = a - b; a, b FP32 [batch, 4]."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 4])
    d = helper.make_tensor_value_info("diff", TensorProto.FLOAT, ["batch", 4])
    nodes = [
        helper.make_node("Add", ["a", "b"], ["ab"]),
        helper.make_node("Add", ["ab", "offset"], ["sum"]),
        helper.make_node("Sub", ["a", "b"], ["diff"]),
    ]
    init = [const("offset", np.array([version - 1], dtype=np.float32))]
    return make_model(helper.make_graph(nodes, "adder_v%d" % version, [a, b], [s, d], init))


ADDER_CONFIG = """\
# adder: sum = a + b + (version - 1), diff = a - b. Versions 1, 2, 3 answer
# differently on `sum`, so a test can tell which version served it.
platform: onnxruntime_onnx
max_batch_size: 8
inputs:
  - name: a
    datatype: FP32
    dims: [4]
  - name: b
    datatype: FP32
    dims: [4]
outputs:
  - name: sum
    datatype: FP32
    dims: [4]
  - name: diff
    datatype: FP32
    dims: [4]
# No max_queue_delay (the default): tests that need batches to merge queue
# requests behind a busy run instead of waiting for a timer.
dynamic_batching:
  preferred_batch_sizes: [4, 8]
  max_queue_size: 64
  default_timeout: 10s
instance_group:
  count: 1
  execution_providers: [cpu]
version_policy:
  all: true
"""

# --------------------------------------------------------------- tiny_classifier


def tiny_classifier(rng):
    """tokens INT64 [batch, seq] -> Embedding(50, 8) -> LSTM(16) -> Linear(2).

    The LSTM gets sequence_lens = the number of non-pad (non-zero) tokens of
    each row (at least 1), so right-padding a row with zeros does not change
    its answer: the LSTM stops at the row's length and Y_h is the state there.
    """
    vocab, emb, hidden, classes = 50, 8, 16, 2
    E = rng.standard_normal((vocab, emb)).astype(np.float32)
    W = (rng.standard_normal((1, 4 * hidden, emb)) * 0.3).astype(np.float32)
    R = (rng.standard_normal((1, 4 * hidden, hidden)) * 0.3).astype(np.float32)
    B = (rng.standard_normal((1, 8 * hidden)) * 0.1).astype(np.float32)
    L = (rng.standard_normal((hidden, classes)) * 0.5).astype(np.float32)
    Lb = (rng.standard_normal((classes,)) * 0.1).astype(np.float32)

    tokens = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "seq"])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
    nodes = [
        # lengths: count of tokens != pad (0), clipped to >= 1, as INT32 [batch]
        helper.make_node("Equal", ["tokens", "pad"], ["is_pad"]),
        helper.make_node("Not", ["is_pad"], ["is_tok"]),
        helper.make_node("Cast", ["is_tok"], ["is_tok_i32"], to=TensorProto.INT32),
        helper.make_node("ReduceSum", ["is_tok_i32", "axis1"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "one_i32"], ["seq_lens"]),
        # embedding [batch, seq, 8] -> LSTM layout [seq, batch, 8]
        helper.make_node("Gather", ["E", "tokens"], ["emb"], axis=0),
        helper.make_node("Transpose", ["emb"], ["x"], perm=[1, 0, 2]),
        helper.make_node(
            "LSTM", ["x", "W", "R", "B", "seq_lens"], ["", "Y_h"], hidden_size=hidden
        ),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "L"], ["hl"]),
        helper.make_node("Add", ["hl", "Lb"], ["logits"]),
    ]
    init = [
        const("pad", np.array(0, dtype=np.int64)),
        const("axis0", np.array([0], dtype=np.int64)),
        const("axis1", np.array([1], dtype=np.int64)),
        const("one_i32", np.array(1, dtype=np.int32)),
        const("E", E),
        const("W", W),
        const("R", R),
        const("B", B),
        const("L", L),
        const("Lb", Lb),
    ]
    return make_model(helper.make_graph(nodes, "tiny_classifier", [tokens], [logits], init))


TINY_CLASSIFIER_CONFIG = """\
# tiny_classifier: tokens (ids 0..49, 0 = pad) -> Embedding(50, 8) -> LSTM(16)
# -> Linear(2). The graph feeds the LSTM the count of non-pad tokens as
# sequence_lens, so requests of different lengths may be right-padded with 0
# into one batch and each row still gets its unpadded answer.
platform: onnxruntime_onnx
max_batch_size: 16
inputs:
  - name: tokens
    datatype: INT64
    dims: [-1]
    pad_value: 0
outputs:
  - name: logits
    datatype: FP32
    dims: [2]
dynamic_batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [8, 16]
  max_queue_size: 128
  default_timeout: 10s
instance_group:
  count: 2
  execution_providers: [cpu]
"""

# ---------------------------------------------------------------- identity_types

# (name suffix, ONNX type, Open Inference Protocol datatype)
IDENTITY_TYPES = [
    ("fp32", TensorProto.FLOAT, "FP32"),
    ("fp64", TensorProto.DOUBLE, "FP64"),
    ("fp16", TensorProto.FLOAT16, "FP16"),
    ("int8", TensorProto.INT8, "INT8"),
    ("int16", TensorProto.INT16, "INT16"),
    ("int32", TensorProto.INT32, "INT32"),
    ("int64", TensorProto.INT64, "INT64"),
    ("uint8", TensorProto.UINT8, "UINT8"),
    ("uint16", TensorProto.UINT16, "UINT16"),
    ("uint32", TensorProto.UINT32, "UINT32"),
    ("uint64", TensorProto.UINT64, "UINT64"),
    ("bool", TensorProto.BOOL, "BOOL"),
    ("bytes", TensorProto.STRING, "BYTES"),
]


def identity_types():
    """in_<t> -> out_<t>, unchanged, for every datatype; each [batch, n]."""
    inputs, outputs, nodes = [], [], []
    for suffix, onnx_type, _ in IDENTITY_TYPES:
        inputs.append(helper.make_tensor_value_info("in_" + suffix, onnx_type, ["batch", "n"]))
        outputs.append(helper.make_tensor_value_info("out_" + suffix, onnx_type, ["batch", "n"]))
        nodes.append(helper.make_node("Identity", ["in_" + suffix], ["out_" + suffix]))
    return make_model(helper.make_graph(nodes, "identity_types", inputs, outputs))


def identity_types_config():
    lines = [
        "# identity_types: out_<type> = in_<type> for every datatype modelgate carries",
        "# (BYTES is an ONNX string tensor). Every input is [batch, n]; ONNX Runtime",
        "# wants all 13 inputs in each request.",
        "platform: onnxruntime_onnx",
        "max_batch_size: 8",
        "inputs:",
    ]
    for suffix, _, dt in IDENTITY_TYPES:
        lines += ["  - name: in_" + suffix, "    datatype: " + dt, "    dims: [-1]"]
    lines.append("outputs:")
    for suffix, _, dt in IDENTITY_TYPES:
        lines += ["  - name: out_" + suffix, "    datatype: " + dt, "    dims: [-1]"]
    lines += [
        "dynamic_batching:",
        "  max_queue_delay: 1ms",
        "  max_queue_size: 64",
        "instance_group:",
        "  count: 1",
        "  execution_providers: [cpu]",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- text_sentiment

SENTIMENT_POSITIVE = ["good", "great", "love", "excellent", "happy", "wonderful", "best", "fine", "nice", "fun"]
SENTIMENT_NEGATIVE = ["bad", "terrible", "hate", "awful", "sad", "worst", "boring", "poor", "ugly", "broken"]
SENTIMENT_NEUTRAL = ["the", "a", "an", "this", "that", "is", "was", "it", "i", "movie", "film", "product",
                     "very", "really", "and", "but", "not", "so", "of", "to"]
SENTIMENT_MAX_LENGTH = 16


def sentiment_vocab():
    return ["<pad>", "<unk>"] + SENTIMENT_NEUTRAL + SENTIMENT_POSITIVE + SENTIMENT_NEGATIVE


def text_sentiment(rng):
    """tokens INT64 [batch, 16] -> logits = sum of per-token score rows + bias.

    A bag of words: each vocabulary id has a row [negative, positive]; positive
    words add 2 to the positive score, negative words 2 to the negative one,
    the rest small noise; <pad> adds nothing. "i love it" scores positive.
    """
    vocab = sentiment_vocab()
    scores = (rng.standard_normal((len(vocab), 2)) * 0.05).astype(np.float32)
    scores[0] = 0.0  # <pad>
    for i, w in enumerate(vocab):
        if w in SENTIMENT_POSITIVE:
            scores[i] = [0.0, 2.0]
        elif w in SENTIMENT_NEGATIVE:
            scores[i] = [2.0, 0.0]
    bias = np.array([0.1, 0.0], dtype=np.float32)  # an empty text leans negative, deterministically

    tokens = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", SENTIMENT_MAX_LENGTH])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
    nodes = [
        helper.make_node("Gather", ["scores", "tokens"], ["per_token"], axis=0),
        helper.make_node("ReduceSum", ["per_token", "axis1"], ["summed"], keepdims=0),
        helper.make_node("Add", ["summed", "bias"], ["logits"]),
    ]
    init = [const("scores", scores), const("bias", bias), const("axis1", np.array([1], dtype=np.int64))]
    return make_model(helper.make_graph(nodes, "text_sentiment", [tokens], [logits], init))


TEXT_SENTIMENT_CONFIG = """\
# text_sentiment: clients send text, the sidecar tokenizes it with vocab.txt
# (ids padded/truncated to 16), the model sums per-word [negative, positive]
# scores, the sidecar adds softmax probabilities and a label.
platform: onnxruntime_onnx
max_batch_size: 8
inputs:
  - name: tokens
    datatype: INT64
    dims: [%d]
outputs:
  - name: logits
    datatype: FP32
    dims: [2]
# Like deploy/models/sentiment: no max_queue_delay (the default), so a lone
# request never waits and batches form from what queues behind a busy run.
dynamic_batching:
  preferred_batch_sizes: [8]
  max_queue_size: 64
  default_timeout: 10s
instance_group:
  count: 1
  execution_providers: [cpu]
preprocess:
  text:
    input: text
    target: tokens
    vocabulary: vocab.txt
    lowercase: true
    unknown_id: 1
    pad_id: 0
    max_length: %d
postprocess:
  classify:
    output: logits
    softmax: true
    labels: [negative, positive]
""" % (SENTIMENT_MAX_LENGTH, SENTIMENT_MAX_LENGTH)

# ------------------------------------------------------------------- benchmark


BENCH_SEQ = 64


def bench_classifier(rng):
    """tokens INT64 [batch, 64] -> Embedding(10000, 100) -> LSTM(100, 256) -> Linear(256, 2).

    The size of the seed's text classifier; random weights, fixed length 64
    (no sequence_lens: every request is padded to 64, as the seed's model is).
    """
    vocab, emb, hidden, classes = 10000, 100, 256, 2
    E = (rng.standard_normal((vocab, emb)) * 0.1).astype(np.float32)
    W = (rng.standard_normal((1, 4 * hidden, emb)) * 0.05).astype(np.float32)
    R = (rng.standard_normal((1, 4 * hidden, hidden)) * 0.05).astype(np.float32)
    B = np.zeros((1, 8 * hidden), dtype=np.float32)
    L = (rng.standard_normal((hidden, classes)) * 0.1).astype(np.float32)
    Lb = np.zeros((classes,), dtype=np.float32)

    tokens = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", BENCH_SEQ])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])
    nodes = [
        helper.make_node("Gather", ["E", "tokens"], ["emb"], axis=0),
        helper.make_node("Transpose", ["emb"], ["x"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "Y_h"], hidden_size=hidden),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"]),
        helper.make_node("MatMul", ["h", "L"], ["hl"]),
        helper.make_node("Add", ["hl", "Lb"], ["logits"]),
    ]
    init = [
        const("axis0", np.array([0], dtype=np.int64)),
        const("E", E), const("W", W), const("R", R), const("B", B), const("L", L), const("Lb", Lb),
    ]
    return make_model(helper.make_graph(nodes, "bench_classifier", [tokens], [logits], init))


BENCH_CONFIG = """\
# bench_classifier: text-classifier-sized (Embedding 10000x100, LSTM 256,
# Linear 2, sequence 64), random weights. Generated for benchmarks, not committed.
platform: onnxruntime_onnx
max_batch_size: 128
inputs:
  - name: tokens
    datatype: INT64
    dims: [%d]
outputs:
  - name: logits
    datatype: FP32
    dims: [2]
dynamic_batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [32, 64, 128]
  max_queue_size: 4096
  default_timeout: 10s
instance_group:
  count: 1
  execution_providers: [cpu]
""" % BENCH_SEQ


def write_bench(out):
    rng = np.random.default_rng(20261128)
    mdir = os.path.join(out, "bench_classifier")
    if os.path.isdir(mdir):
        shutil.rmtree(mdir)
    write_text(os.path.join(mdir, "config.yaml"), BENCH_CONFIG)
    write_version(mdir, 1, bench_classifier(rng))
    print("wrote", mdir)


def write_test_models(out):
    for name in ("adder", "tiny_classifier", "identity_types", "text_sentiment"):
        mdir = os.path.join(out, name)
        if os.path.isdir(mdir):
            shutil.rmtree(mdir)

    adder_dir = os.path.join(out, "adder")
    write_text(os.path.join(adder_dir, "config.yaml"), ADDER_CONFIG)
    for v in (1, 2, 3):
        write_version(adder_dir, v, adder(v))

    tc_dir = os.path.join(out, "tiny_classifier")
    write_text(os.path.join(tc_dir, "config.yaml"), TINY_CLASSIFIER_CONFIG)
    write_version(tc_dir, 1, tiny_classifier(np.random.default_rng(1)))

    it_dir = os.path.join(out, "identity_types")
    write_text(os.path.join(it_dir, "config.yaml"), identity_types_config())
    write_version(it_dir, 1, identity_types())

    ts_dir = os.path.join(out, "text_sentiment")
    write_text(os.path.join(ts_dir, "config.yaml"), TEXT_SENTIMENT_CONFIG)
    write_text(os.path.join(ts_dir, "vocab.txt"), "\n".join(sentiment_vocab()) + "\n")
    write_version(ts_dir, 1, text_sentiment(np.random.default_rng(2)))
    print("wrote", out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(HERE, "models"), help="test model repository folder")
    p.add_argument("--bench", metavar="DIR", help="write only the benchmark-sized model repository into DIR")
    args = p.parse_args()
    if args.bench:
        write_bench(args.bench)
    else:
        write_test_models(args.out)


if __name__ == "__main__":
    main()
