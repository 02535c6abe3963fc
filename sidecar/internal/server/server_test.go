package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/pb"
	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/batch"
	"github.com/modelgate/modelgate/sidecar/internal/ort"
	"github.com/modelgate/modelgate/sidecar/internal/repository"
	"github.com/modelgate/modelgate/sidecar/internal/testmodels"
)

func TestInferAdderVersions(t *testing.T) {
	s, reg := newServer(t, 0, "adder")
	ctx := context.Background()
	for _, tt := range []struct {
		version, served string
		sum0            float32
	}{{"", "3", 13}, {"1", "1", 11}, {"2", "2", 12}, {"3", "3", 13}} {
		resp, err := s.ModelInfer(ctx, adderRequest(tt.version, 2))
		if err != nil {
			t.Fatalf("version %q: %v", tt.version, err)
		}
		if resp.ModelVersion != tt.served || len(resp.Outputs) != 2 {
			t.Fatalf("version %q answered by %s with %d outputs", tt.version, resp.ModelVersion, len(resp.Outputs))
		}
		sum := output(t, resp, "sum")
		if got := testutil.Float32s(sum.Raw); got[0] != tt.sum0 || got[4] != tt.sum0+1 || !slices.Equal(sum.Shape, []int64{2, 4}) || sum.Datatype != "FP32" {
			t.Errorf("version %q: sum %v shape %v", tt.version, got, sum.Shape)
		}
		if got := testutil.Float32s(output(t, resp, "diff").Raw); got[0] != -9 {
			t.Errorf("diff %v", got)
		}
	}
	req := adderRequest("", 1)
	req.Outputs = []string{"diff"}
	req.Id = "req-7"
	resp, err := s.ModelInfer(ctx, req)
	if err != nil || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "diff" || resp.Id != "req-7" {
		t.Errorf("selected output: %v %v", resp, err)
	}
	if n := counter(t, reg, "modelgate_sidecar_requests_total", map[string]string{"model": "adder", "version": "3", "outcome": "ok"}); n != 3 {
		t.Errorf("requests_total{adder,3,ok} = %v, want 3", n)
	}
}

// TestValidation sends one bad request per rule; each must fail with its
// code and a message naming the problem, before anything is queued.
func TestValidation(t *testing.T) {
	s, _ := newServer(t, 64, "adder")
	mod := func(f func(r *pb.ModelInferRequest)) *pb.ModelInferRequest {
		r := adderRequest("", 1)
		f(r)
		return r
	}
	tests := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"no model", mod(func(r *pb.ModelInferRequest) { r.ModelName = "" }), codes.InvalidArgument, "model name is missing"},
		{"unsafe model name", mod(func(r *pb.ModelInferRequest) { r.ModelName = "../adder" }), codes.InvalidArgument, "not allowed"},
		{"model name with a slash", mod(func(r *pb.ModelInferRequest) { r.ModelName = "a/b" }), codes.InvalidArgument, "not allowed"},
		{"model name ..", mod(func(r *pb.ModelInferRequest) { r.ModelName = ".." }), codes.InvalidArgument, "not allowed"},
		{"version ../1", mod(func(r *pb.ModelInferRequest) { r.ModelVersion = "../1" }), codes.InvalidArgument, `version "../1" is not allowed`},
		{"version with a slash", mod(func(r *pb.ModelInferRequest) { r.ModelVersion = "1/../2" }), codes.InvalidArgument, "is not allowed"},
		{"unknown model", mod(func(r *pb.ModelInferRequest) { r.ModelName = "subtractor" }), codes.NotFound, `model "subtractor" is not in the repository`},
		{"bad version", mod(func(r *pb.ModelInferRequest) { r.ModelVersion = "v1" }), codes.InvalidArgument, `version "v1" is not allowed`},
		{"unknown version", mod(func(r *pb.ModelInferRequest) { r.ModelVersion = "9" }), codes.NotFound, `has no version "9"`},
		{"unknown input", mod(func(r *pb.ModelInferRequest) { r.Inputs[1].Name = "c" }), codes.InvalidArgument, `unknown input "c"; model adder version 3 takes a (FP32 [-1 4]), b (FP32 [-1 4])`},
		{"input twice", mod(func(r *pb.ModelInferRequest) { r.Inputs[1].Name = "a" }), codes.InvalidArgument, `input "a" is given twice`},
		{"missing input", mod(func(r *pb.ModelInferRequest) { r.Inputs = r.Inputs[:1] }), codes.InvalidArgument, `missing input "b"`},
		{"unknown datatype", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Datatype = "FLOAT" }), codes.InvalidArgument, `unknown datatype "FLOAT"`},
		{"wrong datatype", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Datatype = "INT32" }), codes.InvalidArgument, `input "a" must be FP32, got INT32`},
		{"wrong rank", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{4} }), codes.InvalidArgument, "has 1 dimensions, want 2"},
		{"wrong static dim", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{2, 2} }), codes.InvalidArgument, "dimension 1 must be 4"},
		{"batch too large", adderRequest("", 9), codes.InvalidArgument, "batch size 9 (first dimension) is outside 1..8"},
		{"empty batch", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{0, 4}; r.Inputs[0].Raw = nil }), codes.InvalidArgument, "batch size 0"},
		{"negative dim", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1, -4} }), codes.InvalidArgument, "negative"},
		{"short raw", mod(func(r *pb.ModelInferRequest) { r.Inputs[0].Raw = r.Inputs[0].Raw[:15] }), codes.InvalidArgument, "needs 16 bytes, got 15"},
		{"batch mismatch", mod(func(r *pb.ModelInferRequest) {
			r.Inputs[1] = adderRequest("", 2).Inputs[1]
		}), codes.InvalidArgument, `input "b" has batch size 2 but input "a" has 1`},
		{"32 elements per tensor is within the limit of 64", adderRequest("", 8), codes.OK, ""},
		{"unknown output", mod(func(r *pb.ModelInferRequest) { r.Outputs = []string{"product"} }), codes.InvalidArgument, `unknown output "product"; model adder version 3 has diff (FP32 [-1 4]), sum (FP32 [-1 4])`},
		{"output twice", mod(func(r *pb.ModelInferRequest) { r.Outputs = []string{"sum", "sum"} }), codes.InvalidArgument, `output "sum" is requested twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ModelInfer(context.Background(), tt.req)
			st, _ := status.FromError(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Errorf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}

	// The same names through ModelMetadata: refused before any path is built.
	for _, nv := range [][2]string{{"../adder", ""}, {"a/b", ""}, {"..", ""}, {"adder", "../1"}, {"adder", "a/b"}, {"adder", ".."}} {
		_, err := s.ModelMetadata(context.Background(), &pb.ModelMetadataRequest{Name: nv[0], Version: nv[1]})
		if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "not allowed") {
			t.Errorf("metadata of %q version %q: %v, want INVALID_ARGUMENT naming what is not allowed", nv[0], nv[1], err)
		}
	}

	small, _ := newServer(t, 16, "adder")
	_, err := small.ModelInfer(context.Background(), adderRequest("", 5))
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "more than 16 elements") {
		t.Errorf("element limit: %v", err)
	}
}

func TestIdentityEveryDatatype(t *testing.T) {
	s, _ := newServer(t, 0, "identity_types")
	types := map[string]tensor.DataType{
		"fp32": tensor.FP32, "fp64": tensor.FP64, "fp16": tensor.FP16, "int8": tensor.Int8, "int16": tensor.Int16,
		"int32": tensor.Int32, "int64": tensor.Int64, "uint8": tensor.UInt8, "uint16": tensor.UInt16,
		"uint32": tensor.UInt32, "uint64": tensor.UInt64, "bool": tensor.Bool, "bytes": tensor.Bytes,
	}
	req := &pb.ModelInferRequest{ModelName: "identity_types"}
	want := map[string][]byte{}
	for suffix, dt := range types {
		var raw []byte
		if dt == tensor.Bytes {
			raw = tensor.EncodeBytes([][]byte{[]byte("héllo"), nil, []byte("x"), []byte("3"), {1, 2}, []byte("end")})
		} else {
			raw = make([]byte, 6*dt.Size())
			for i := range raw {
				raw[i] = byte(i%3 + 1) // 1 is a valid bool and an FP16 denormal, never NaN
				if dt == tensor.Bool {
					raw[i] = byte(i % 2)
				}
			}
		}
		req.Inputs = append(req.Inputs, &pb.InferTensor{Name: "in_" + suffix, Datatype: string(dt), Shape: []int64{2, 3}, Raw: raw})
		want["out_"+suffix] = raw
	}
	resp, err := s.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range want {
		o := output(t, resp, name)
		if string(o.Raw) != string(raw) || !slices.Equal(o.Shape, []int64{2, 3}) {
			t.Errorf("%s: %v %x, want %x", name, o.Shape, o.Raw, raw)
		}
	}
	// ONNX Runtime strings cannot hold NUL: refused before queueing.
	for _, in := range req.Inputs {
		if in.Name == "in_bytes" {
			in.Raw = tensor.EncodeBytes([][]byte{{'a', 0}, nil, nil, nil, nil, nil})
		}
	}
	_, err = s.ModelInfer(context.Background(), req)
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), `input "in_bytes": BYTES element 0 contains a NUL byte`) {
		t.Errorf("NUL in a string: %v", err)
	}
}

func TestTextModel(t *testing.T) {
	s, _ := newServer(t, 0, "text_sentiment")
	ctx := context.Background()
	md, err := s.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "text_sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.ModelMetadataResponse{
		Name: "text_sentiment", Version: "1", Versions: []string{"1"}, Platform: "onnxruntime_onnx", MaxBatchSize: 8,
		Inputs: []*pb.TensorMetadata{{Name: "text", Datatype: "BYTES", Shape: []int64{-1}}},
		Outputs: []*pb.TensorMetadata{
			{Name: "logits", Datatype: "FP32", Shape: []int64{-1, 2}},
			{Name: "probabilities", Datatype: "FP32", Shape: []int64{-1, 2}},
			{Name: "label", Datatype: "BYTES", Shape: []int64{-1}},
		},
		Labels: []string{"negative", "positive"},
	}
	if !proto.Equal(md, want) {
		t.Errorf("metadata\n got %v\nwant %v", md, want)
	}
	texts := [][]byte{[]byte("What a WONDERFUL, great film!"), []byte("terrible and boring"), []byte("")}
	for _, shape := range [][]int64{{3}, {3, 1}} {
		resp, err := s.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "text_sentiment",
			Inputs:  []*pb.InferTensor{{Name: "text", Datatype: "BYTES", Shape: shape, Raw: tensor.EncodeBytes(texts)}},
			Outputs: []string{"label", "probabilities"}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Outputs[0].Name != "label" || resp.Outputs[1].Name != "probabilities" {
			t.Fatalf("outputs not in the requested order: %v", resp.Outputs)
		}
		labels, err := tensor.DecodeBytes(resp.Outputs[0].Raw, 3)
		if err != nil || string(labels[0]) != "positive" || string(labels[1]) != "negative" {
			t.Errorf("labels %q %v", labels, err)
		}
		p := testutil.Float32s(resp.Outputs[1].Raw)
		if !slices.Equal(resp.Outputs[1].Shape, []int64{3, 2}) || p[1] < 0.9 || p[2] < 0.9 || abs(p[0]+p[1]-1) > 1e-5 {
			t.Errorf("probabilities %v shape %v", p, resp.Outputs[1].Shape)
		}
		// The empty text is all padding: the bias [0.1, 0] decides.
		if string(labels[2]) != "negative" {
			t.Errorf("empty text labelled %q", labels[2])
		}
	}
	for _, bad := range []*pb.InferTensor{
		{Name: "text", Datatype: "BYTES", Shape: []int64{1, 2}, Raw: tensor.EncodeBytes([][]byte{nil, nil})},
		{Name: "text", Datatype: "INT64", Shape: []int64{1}, Raw: make([]byte, 8)},
		{Name: "tokens", Datatype: "INT64", Shape: []int64{1, 16}, Raw: make([]byte, 128)},
		{Name: "text", Datatype: "BYTES", Shape: []int64{2}, Raw: tensor.EncodeBytes([][]byte{nil})},
	} {
		_, err := s.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "text_sentiment", Inputs: []*pb.InferTensor{bad}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s %s %v: %v, want INVALID_ARGUMENT", bad.Name, bad.Datatype, bad.Shape, err)
		}
	}
}

func abs(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

func TestIndexReadyMetadata(t *testing.T) {
	s, _ := newServer(t, 0, "adder", "tiny_classifier")
	ctx := context.Background()
	idx, err := s.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil || len(idx.Models) != 4 {
		t.Fatalf("index %v %v", idx, err)
	}
	for _, m := range idx.Models {
		if m.State != "READY" {
			t.Errorf("%s/%s is %s", m.Name, m.Version, m.State)
		}
	}
	if r, err := s.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("server ready %v %v", r, err)
	}
	if r, err := s.ModelReady(ctx, &pb.ModelReadyRequest{Name: "adder", Version: "2"}); err != nil || !r.Ready {
		t.Errorf("model ready %v %v", r, err)
	}
	if _, err := s.ModelReady(ctx, &pb.ModelReadyRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown model ready: %v", err)
	}
	md, err := s.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "adder", Version: "1"})
	if err != nil || md.Version != "1" || !slices.Equal(md.Versions, []string{"1", "2", "3"}) || len(md.Inputs) != 2 || md.MaxBatchSize != 8 {
		t.Errorf("adder metadata %v %v", md, err)
	}
	if _, err := s.UnloadModel(ctx, &pb.UnloadModelRequest{Name: "adder", Version: "3"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ModelReady(ctx, &pb.ModelReadyRequest{Name: "adder", Version: "3"}); r.Ready {
		t.Error("unloaded version ready")
	}
	_, err = s.ModelInfer(ctx, adderRequest("3", 1))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("infer on an unloaded version: %v", err)
	}
	if resp, err := s.ModelInfer(ctx, adderRequest("", 1)); err != nil || resp.ModelVersion != "2" {
		t.Errorf("latest after unloading 3: %v %v", resp, err)
	}
	lr, err := s.LoadModel(ctx, &pb.LoadModelRequest{Name: "adder", Version: "3"})
	if err != nil || !slices.Equal(lr.Versions, []string{"1", "2", "3"}) {
		t.Errorf("load: %v %v", lr, err)
	}
	if _, err := s.LoadModel(ctx, &pb.LoadModelRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("load unknown: %v", err)
	}
	if _, err := s.UnloadModel(ctx, &pb.UnloadModelRequest{Name: "a/b"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unload unsafe name: %v", err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ModelInfer(ctx, adderRequest("", 1)); status.Code(err) != codes.Unavailable {
		t.Errorf("infer while draining: %v", err)
	}
	if r, _ := s.ServerReady(ctx, &pb.ServerReadyRequest{}); r.Ready {
		t.Error("ready while draining")
	}
}

// TestDeadlineWhileQueued sends a lone request into a batch that waits an
// hour for company: it ends at its deadline with DEADLINE_EXCEEDED.
func TestDeadlineWhileQueued(t *testing.T) {
	s, reg := newServer(t, 0, "adder")
	queueForever(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.ModelInfer(ctx, adderRequest("", 1))
	if st, _ := status.FromError(err); st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "deadline exceeded") {
		t.Errorf("queued past its deadline: %v", err)
	}
	if got := counter(t, reg, "modelgate_sidecar_requests_total", map[string]string{"model": "adder", "version": "3", "outcome": "timeout"}); got != 1 {
		t.Errorf("timeout counted %v times", got)
	}
}

// TestBatcherErrorCodes maps the batcher's and the runtime's errors (as
// they arrive, wrapped) to the codes clients see.
func TestBatcherErrorCodes(t *testing.T) {
	s, _ := newServer(t, 0)
	served := &repository.Served{Model: "m", Version: "1"}
	for _, tt := range []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("%w (1024 requests waiting)", batch.ErrQueueFull), codes.ResourceExhausted},
		{batch.ErrClosed, codes.Unavailable},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("%w: input x", batch.ErrInvalidInput), codes.InvalidArgument},
		{fmt.Errorf("%w: input x", ort.ErrInvalidInput), codes.InvalidArgument},
		{errors.New("onnxruntime: out of memory"), codes.Internal},
	} {
		if got := status.Code(s.inferStatus(served, tt.err)); got != tt.code {
			t.Errorf("%v: %v, want %v", tt.err, got, tt.code)
		}
	}
}

// TestBatchedEqualsUnbatched sends tiny_classifier requests of different
// lengths one at a time, then all at once to a second server (so the batcher
// pads and merges them): every answer must be the same, item by item. The
// second server's queue delay is an hour and its only preferred size is its
// largest batch, so a batch goes only once 16 requests have joined it: the
// merge does not depend on how fast the requests arrive.
func TestBatchedEqualsUnbatched(t *testing.T) {
	s, _ := newServer(t, 0, "tiny_classifier")
	dir := testmodels.Repo(t, "tiny_classifier")
	testmodels.WriteFile(t, filepath.Join(dir, "tiny_classifier", "config.yaml"), `max_batch_size: 16
inputs:
  - {name: tokens, datatype: INT64, dims: [-1], pad_value: 0}
outputs:
  - {name: logits, datatype: FP32, dims: [2]}
dynamic_batching:
  max_queue_delay: 1h
  preferred_batch_sizes: [16]
  max_queue_size: 128
  default_timeout: 1h
instance_group:
  count: 2
  execution_providers: [cpu]
`)
	batched, reg := newServerIn(t, dir, 0)
	request := func(i int) *pb.ModelInferRequest {
		n := 1 + i%7
		raw := make([]byte, 0, 8*n)
		for j := 0; j < n; j++ {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(1+(i*7+j*3)%49))
		}
		return &pb.ModelInferRequest{ModelName: "tiny_classifier", Inputs: []*pb.InferTensor{
			{Name: "tokens", Datatype: "INT64", Shape: []int64{1, int64(n)}, Raw: raw}}}
	}
	const n = 32
	alone := make([][]byte, n)
	for i := range alone {
		resp, err := s.ModelInfer(context.Background(), request(i))
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = resp.Outputs[0].Raw
	}
	together := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range together {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := batched.ModelInfer(context.Background(), request(i))
			if err != nil {
				t.Error(err)
				return
			}
			together[i] = resp.Outputs[0].Raw
		}()
	}
	wg.Wait()
	for i := range alone {
		if !bytes.Equal(alone[i], together[i]) {
			t.Errorf("request %d: alone %v, batched %v", i, testutil.Float32s(alone[i]), testutil.Float32s(together[i]))
		}
	}
	if items, runs := histogram(t, reg, "modelgate_sidecar_batch_size"); items != n || runs != n/16 {
		t.Errorf("the batched server ran %v items in %d runs, want %d in %d full batches", items, runs, n, n/16)
	}
}
