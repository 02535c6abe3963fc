"""The original article's design as a peer of `make bench`: Flask serving a TorchScript
model, under gunicorn with 2 sync workers (gunicorn -w 2 app:app).

The model has the shipped sentiment model's architecture (deploy/train/train.py:
Embedding(10000, 100) -> LSTM(100, 256) -> Linear(256, 2) on the last hidden state) with
random weights: it is here for speed, not answers. Like the ONNX model, the LSTM reads only
the sentence's own tokens. Text is tokenized as the sidecar does (lowercase, runs of letters
and digits, vocabulary line or unknown id, at most max_length), with the vocabulary and
settings of MODEL_DIR's config.yaml.

    MODEL_DIR=deploy/models/sentiment gunicorn -w 2 -b 127.0.0.1:8083 --chdir bench/peers/flask app:app
    curl -d '{"text":"a wonderful film"}' 127.0.0.1:8083/predict
"""

import os
import re

import torch
from flask import Flask, jsonify, request
from torch import nn

MODEL_DIR = os.environ.get("MODEL_DIR", "deploy/models/sentiment")
VOCAB_SIZE, EMBED_DIM, HIDDEN, CLASSES = 10000, 100, 256, 2


def text_settings(path):
    """preprocess.text of config.yaml: flat "key: value" lines under "text:"."""
    settings, in_text = {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if re.match(r"^\s*text:\s*$", line):
                in_text = True
                continue
            if not in_text:
                continue
            m = re.match(r"^\s+(\w+):\s*([^#\s]+)", line)
            if not m:
                if re.match(r"^\S", line):
                    break
                continue
            settings[m.group(1)] = m.group(2)
    return settings


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB_SIZE, EMBED_DIM, padding_idx=0)
        self.lstm = nn.LSTM(EMBED_DIM, HIDDEN, batch_first=True)
        self.linear = nn.Linear(HIDDEN, CLASSES)

    def forward(self, tokens):
        _, (hidden, _) = self.lstm(self.embedding(tokens))
        return self.linear(hidden[-1])


settings = text_settings(os.path.join(MODEL_DIR, "config.yaml"))
LOWERCASE = settings.get("lowercase", "true") != "false"
UNKNOWN_ID = int(settings.get("unknown_id", 0))
PAD_ID = int(settings.get("pad_id", 0))
MAX_LENGTH = int(settings["max_length"])
vocab = {}
with open(os.path.join(MODEL_DIR, settings["vocabulary"]), encoding="utf-8") as f:
    for i, tok in enumerate(f):
        tok = tok.rstrip("\r\n")
        if tok and tok not in vocab:
            vocab[tok] = i

torch.manual_seed(0)
model = torch.jit.script(Classifier().eval())
app = Flask(__name__)


def tokenize(text):
    if LOWERCASE:
        text = text.lower()
    ids = [vocab.get(w, UNKNOWN_ID) for w in re.findall(r"[^\W_]+", text)[:MAX_LENGTH]]
    return ids or [PAD_ID]  # as the ONNX model, which reads at least one (pad) token


@app.post("/predict")
def predict():
    body = request.get_json(force=True, silent=True) or {}
    text = body.get("text")
    if not isinstance(text, str):
        return jsonify(error='body must be {"text": "..."}'), 400
    with torch.no_grad():
        logits = model(torch.tensor([tokenize(text)], dtype=torch.long))
        probs = torch.softmax(logits, dim=1)[0].tolist()
    return jsonify(label=max(range(len(probs)), key=probs.__getitem__), probabilities=probs)
