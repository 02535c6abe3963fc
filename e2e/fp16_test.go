package e2e

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelgate/modelgate/bench"
	"github.com/modelgate/modelgate/internal/testutil"
)

// fp16Dir is sentiment-fp16, version 2 of the example model in float16,
// written by deploy/train/fp16.py and shipped only with the GPU image.
var fp16Dir = filepath.Join("deploy", "models-gpu", "sentiment-fp16")

// ONNX TensorProto.DataType numbers (onnx.proto).
const (
	onnxFloat   = 1
	onnxInt64   = 7
	onnxFloat16 = 10
)

// protoField is one field of a protobuf message: its bytes for a length-
// delimited field, its value for a varint.
type protoField struct {
	num    protowire.Number
	bytes  []byte
	varint uint64
}

// protoFields splits a protobuf message into its fields.
func protoFields(t *testing.T, msg []byte) []protoField {
	t.Helper()
	var out []protoField
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			t.Fatal("malformed ONNX protobuf")
		}
		msg = msg[n:]
		f := protoField{num: num}
		switch typ {
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(msg)
		case protowire.VarintType:
			f.varint, n = protowire.ConsumeVarint(msg)
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			t.Fatal("malformed ONNX protobuf")
		}
		msg = msg[n:]
		out = append(out, f)
	}
	return out
}

// field returns the first field num of msg (nil bytes and 0 when absent).
func field(t *testing.T, msg []byte, num protowire.Number) protoField {
	t.Helper()
	for _, f := range protoFields(t, msg) {
		if f.num == num {
			return f
		}
	}
	return protoField{}
}

// onnxGraph is what TestFP16ModelFile reads of an ONNX model.
type onnxGraph struct {
	initializers map[string]uint64 // name -> data type
	nodes        []onnxNode
	inputs       map[string]uint64 // name -> element type
	outputs      map[string]uint64
}

type onnxNode struct {
	op      string
	outputs []string
	ints    map[string]uint64 // integer attributes
}

// readONNX walks onnx.proto's ModelProto.graph (field 7): initializers (5:
// name 8, data_type 2), nodes (1: output 2, op_type 4, attribute 5: name 1,
// i 3), inputs (11) and outputs (12: name 1, type 2 -> tensor_type 1 ->
// elem_type 1).
func readONNX(t *testing.T, model []byte) onnxGraph {
	t.Helper()
	graph := field(t, model, 7).bytes
	if graph == nil {
		t.Fatal("model.onnx has no graph")
	}
	g := onnxGraph{initializers: map[string]uint64{}, inputs: map[string]uint64{}, outputs: map[string]uint64{}}
	elemType := func(valueInfo []byte) uint64 {
		return field(t, field(t, field(t, valueInfo, 2).bytes, 1).bytes, 1).varint
	}
	for _, f := range protoFields(t, graph) {
		switch f.num {
		case 5:
			g.initializers[string(field(t, f.bytes, 8).bytes)] = field(t, f.bytes, 2).varint
		case 1:
			n := onnxNode{op: string(field(t, f.bytes, 4).bytes), ints: map[string]uint64{}}
			for _, nf := range protoFields(t, f.bytes) {
				switch nf.num {
				case 2:
					n.outputs = append(n.outputs, string(nf.bytes))
				case 5:
					n.ints[string(field(t, nf.bytes, 1).bytes)] = field(t, nf.bytes, 3).varint
				}
			}
			g.nodes = append(g.nodes, n)
		case 11:
			g.inputs[string(field(t, f.bytes, 1).bytes)] = elemType(f.bytes)
		case 12:
			g.outputs[string(field(t, f.bytes, 1).bytes)] = elemType(f.bytes)
		}
	}
	return g
}

// TestFP16ModelFile: sentiment-fp16's committed model.onnx matches its
// checksum and is the graph fp16.py writes: every float weight float16, the
// input INT64 token ids, and the logits FP32 through one Cast at the end.
func TestFP16ModelFile(t *testing.T) {
	g := readONNX(t, checkedModel(t, filepath.Join(testutil.RepoRoot(), fp16Dir, "1")))
	for _, name := range []string{"embedding", "lstm_W", "lstm_R", "lstm_B", "linear_W", "linear_B"} {
		if dt, ok := g.initializers[name]; !ok || dt != onnxFloat16 {
			t.Errorf("initializer %s: data type %d, want float16 (%d)", name, dt, onnxFloat16)
		}
	}
	for name, dt := range g.initializers {
		if dt == onnxFloat {
			t.Errorf("initializer %s is float32", name)
		}
	}
	if g.inputs["tokens"] != onnxInt64 || len(g.inputs) != 1 {
		t.Errorf("inputs %v, want only tokens INT64", g.inputs)
	}
	if g.outputs["logits"] != onnxFloat || len(g.outputs) != 1 {
		t.Errorf("outputs %v, want only logits FP32", g.outputs)
	}
	ops := map[string]int{}
	toFloat := 0
	for _, n := range g.nodes {
		ops[n.op]++
		if n.op == "Cast" && n.ints["to"] == onnxFloat {
			toFloat++
			if len(n.outputs) != 1 || n.outputs[0] != "logits" {
				t.Errorf("a Cast to float32 writes %v, not the logits", n.outputs)
			}
		}
	}
	if ops["LSTM"] != 1 || ops["Gemm"] != 1 || ops["Gather"] != 1 || toFloat != 1 {
		t.Errorf("operators %v with %d casts to float32: want one float16 Gather, LSTM and Gemm and one Cast of the logits", ops, toFloat)
	}
}

// fp16Card reads the held-out accuracy and the agreement with version 2
// that fp16.py wrote into sentiment-fp16's MODEL_CARD.md.
func fp16Card(t *testing.T) (accuracy, agreement float64) {
	t.Helper()
	card, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), fp16Dir, "MODEL_CARD.md"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(re string) float64 {
		m := regexp.MustCompile(re).FindSubmatch(card)
		if m == nil {
			t.Fatalf("MODEL_CARD.md: no %s", re)
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return read(`(?s)Held-out accuracy .*?\*\*(\d\.\d{4})\*\*`), read(`\*\*(\d\.\d{4})\*\* of the held-out\s+labels`)
}

// TestFP16ModelServes loads sentiment-fp16 the way the GPU image lays it
// out (deploy/models-gpu merged into deploy/models) behind `modelgate
// serve`. No GPU here: ONNX Runtime's CPU provider runs the graph with
// float32 casts around the operators it has no float16 kernel for, so this
// checks the committed file's wiring (config, vocabulary, labels, FP32
// logits) and that its labels reproduce the card's within 0.005.
func TestFP16ModelServes(t *testing.T) {
	dir := repoCopy(t)
	if err := bench.CopyTree(filepath.Join(testutil.RepoRoot(), "deploy", "models-gpu"), filepath.Join(dir, "deploy", "models")); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, "kong.yml")
	if status, _, body := s.do(t, http.MethodGet, "/v2/models/sentiment-fp16/versions/1/ready", http.Header{"Apikey": {demoKey}}, ""); status != http.StatusOK {
		t.Fatalf("sentiment-fp16 not ready: %d %s", status, body)
	}
	texts, labels := heldOut(t)
	correct, same := 0, 0
	for start := 0; start < len(texts); start += 32 {
		end := min(start+32, len(texts))
		half := predictModel(t, s, "sentiment-fp16", "1", texts[start:end])
		full := predict(t, s, "2", texts[start:end])
		for i, p := range half {
			if p.Label == labels[start+i] {
				correct++
			}
			if p.Label == full[i].Label {
				same++
			}
		}
	}
	accuracy, agreement := float64(correct)/float64(len(texts)), float64(same)/float64(len(texts))
	wantAccuracy, wantAgreement := fp16Card(t)
	t.Logf("sentiment-fp16 on ONNX Runtime's CPU provider: held-out accuracy %.4f (card %.4f), same label as version 2 %.4f (card %.4f)",
		accuracy, wantAccuracy, agreement, wantAgreement)
	if math.Abs(accuracy-wantAccuracy) > 0.005 || math.Abs(agreement-wantAgreement) > 0.005 {
		t.Errorf("held-out accuracy %.4f and agreement %.4f, the model card says %.4f and %.4f", accuracy, agreement, wantAccuracy, wantAgreement)
	}
}
