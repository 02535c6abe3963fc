// The Node peer of `make bench`: what a user might write instead of
// modelgate. One process, node:http, onnxruntime-node with its default
// session options, one run per request, no auth. It tokenizes as the
// sidecar's textproc tokenizer does (lowercase, runs of letters and digits,
// vocabulary line or unknown id, truncated or padded to max_length).
//
//   node server.js MODEL_DIR VERSION PORT
//   curl -d '{"text":"a wonderful film"}' 127.0.0.1:PORT/predict
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const ort = require('onnxruntime-node');

const [modelDir, version, port] = process.argv.slice(2);
if (!modelDir || !version || !port) {
  console.error('usage: node server.js MODEL_DIR VERSION PORT');
  process.exit(2);
}

// The preprocess.text settings of config.yaml: flat "key: value" lines
// under "text:"; enough for the shipped model's config without a YAML package.
function textSettings(configPath) {
  const settings = {};
  let inText = false;
  for (const line of fs.readFileSync(configPath, 'utf8').split('\n')) {
    if (/^\s*text:\s*$/.test(line)) { inText = true; continue; }
    if (!inText) continue;
    const m = /^\s+(\w+):\s*([^#\s]+)/.exec(line);
    if (!m) { if (/^\S/.test(line)) break; continue; }
    settings[m[1]] = m[2];
  }
  return {
    vocabulary: settings.vocabulary,
    lowercase: settings.lowercase !== 'false',
    unknownId: BigInt(settings.unknown_id || 0),
    padId: BigInt(settings.pad_id || 0),
    maxLength: Number(settings.max_length),
  };
}

const cfg = textSettings(path.join(modelDir, 'config.yaml'));
const vocab = new Map();
fs.readFileSync(path.join(modelDir, cfg.vocabulary), 'utf8').split('\n').forEach((tok, id) => {
  tok = tok.replace(/\r+$/, '');
  if (tok !== '' && !vocab.has(tok)) vocab.set(tok, BigInt(id));
});

function tokenize(text) {
  if (cfg.lowercase) text = text.toLowerCase();
  const ids = new BigInt64Array(cfg.maxLength).fill(cfg.padId);
  const words = text.split(/[^\p{L}\p{Nd}]+/u).filter((w) => w !== '');
  for (let i = 0; i < words.length && i < cfg.maxLength; i++) {
    const id = vocab.get(words[i]);
    ids[i] = id === undefined ? cfg.unknownId : id;
  }
  return ids;
}

function softmax(xs) {
  const top = Math.max(...xs);
  const es = xs.map((x) => Math.exp(x - top));
  const sum = es.reduce((a, b) => a + b, 0);
  return es.map((e) => e / sum);
}

async function main() {
  const session = await ort.InferenceSession.create(path.join(modelDir, version, 'model.onnx'));
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/predict') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 65536) { req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', async () => {
      try {
        const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (typeof text !== 'string') throw new Error('body must be {"text": "..."}');
        const ids = tokenize(text);
        const result = await session.run({ [input]: new ort.Tensor('int64', ids, [1, cfg.maxLength]) });
        const probs = softmax(Array.from(result[output].data));
        const body = JSON.stringify({ label: probs.indexOf(Math.max(...probs)), probabilities: probs });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      } catch (err) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(String(err.message));
      }
    });
  });
  server.keepAliveTimeout = 90000;
  server.listen(Number(port), '127.0.0.1', () => console.log(`node peer: serving ${modelDir} version ${version} on 127.0.0.1:${port}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err) => { console.error(err); process.exit(1); });
