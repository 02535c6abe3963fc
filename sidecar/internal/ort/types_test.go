package ort

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/testutil"
	"github.com/modelgate/modelgate/shared/tensor"
)

// identityInputs builds one input per datatype of identity_types, shape
// [rows, cols], with seeded random contents.
func identityInputs(rows, cols int64, seed uint64) []tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := int(rows * cols)
	types := []struct {
		suffix string
		dt     tensor.DataType
	}{
		{"fp32", tensor.FP32}, {"fp64", tensor.FP64}, {"fp16", tensor.FP16},
		{"int8", tensor.Int8}, {"int16", tensor.Int16}, {"int32", tensor.Int32}, {"int64", tensor.Int64},
		{"uint8", tensor.UInt8}, {"uint16", tensor.UInt16}, {"uint32", tensor.UInt32}, {"uint64", tensor.UInt64},
		{"bool", tensor.Bool}, {"bytes", tensor.Bytes},
	}
	var out []tensor.Tensor
	for _, ty := range types {
		var raw []byte
		switch ty.dt {
		case tensor.Bytes:
			elems := make([][]byte, n)
			for i := range elems {
				// lengths 0..9, no NUL bytes, some multi-byte UTF-8 and high bytes
				e := make([]byte, rng.IntN(10))
				for j := range e {
					e[j] = byte(1 + rng.IntN(255))
				}
				elems[i] = e
			}
			raw = tensor.EncodeBytes(elems)
		case tensor.Bool:
			raw = make([]byte, n)
			for i := range raw {
				raw[i] = byte(rng.IntN(2))
			}
		case tensor.FP16, tensor.FP32, tensor.FP64:
			// Random bit patterns except NaNs and infinities, which a
			// conversion might canonicalise: the check is for exact bytes.
			raw = make([]byte, n*ty.dt.Size())
			for i := range raw {
				raw[i] = byte(rng.IntN(256))
			}
			for i := 0; i < len(raw); i += ty.dt.Size() {
				raw[i+ty.dt.Size()-1] &= 0x3f // clear the top exponent bits: finite
			}
		default:
			raw = make([]byte, n*ty.dt.Size())
			for i := range raw {
				raw[i] = byte(rng.IntN(256))
			}
		}
		out = append(out, tensor.Tensor{Name: "in_" + ty.suffix, DataType: ty.dt, Shape: []int64{rows, cols}, Raw: raw})
	}
	return out
}

func checkIdentity(t *testing.T, in, out []tensor.Tensor) {
	t.Helper()
	if len(out) != len(in) {
		t.Fatalf("%d outputs for %d inputs", len(out), len(in))
	}
	for i, o := range out {
		want := in[i]
		if o.Name != "out_"+strings.TrimPrefix(want.Name, "in_") || o.DataType != want.DataType || !slices.Equal(o.Shape, want.Shape) {
			t.Errorf("output %d: %s %s %v, want %s %v", i, o.Name, o.DataType, o.Shape, want.DataType, want.Shape)
			continue
		}
		if !bytes.Equal(o.Raw, want.Raw) {
			t.Errorf("%s: bytes differ (%d vs %d bytes)", o.Name, len(o.Raw), len(want.Raw))
		}
	}
}

func TestEveryDatatypeRoundTrip(t *testing.T) {
	s := openSession(t, "identity_types", 1, Options{})
	for _, shape := range [][2]int64{{1, 1}, {3, 5}, {8, 17}, {2, 0}} {
		in := identityInputs(shape[0], shape[1], uint64(shape[0]*100+shape[1]))
		out, err := s.Run(context.Background(), in, nil)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		checkIdentity(t, in, out)
	}
}

func TestFP16OutputShapeMustBeKnown(t *testing.T) {
	s := openSession(t, "identity_types", 1, Options{})
	if err := checkFP16Outputs(s.inputs, s.outputs); err != nil {
		t.Fatalf("identity_types: %v", err)
	}
	// An exporter that names out_fp16's dims "out_dim_0" leaves its shape
	// unknowable before the run: such a model is refused at load.
	outputs := slices.Clone(s.outputs)
	for i := range outputs {
		outputs[i].dimParams = []string{"out_dim_0", "out_dim_1"}
	}
	err := checkFP16Outputs(s.inputs, outputs)
	if err == nil || !strings.Contains(err.Error(), `FP16 output "out_fp16"`) {
		t.Errorf("err = %v, want one about out_fp16", err)
	}
}

func TestFP16ConflictingDims(t *testing.T) {
	s := openSession(t, "identity_types", 1, Options{})
	in := identityInputs(2, 3, 9)
	other := identityInputs(3, 3, 9)
	for i := range in {
		if in[i].DataType == tensor.FP32 {
			in[i] = other[i] // batch 3 where the rest say 2
		}
	}
	_, err := s.Run(context.Background(), in, nil)
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), `dimension "batch"`) {
		t.Errorf("err = %v, want ErrInvalidInput about batch", err)
	}
}

func TestBoolInputNormalised(t *testing.T) {
	s := openSession(t, "identity_types", 1, Options{})
	in := identityInputs(1, 4, 3)
	for i := range in {
		if in[i].DataType == tensor.Bool {
			in[i].Raw = []byte{0, 2, 255, 1}
		}
	}
	out, err := s.Run(context.Background(), in, []string{"out_bool"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[0].Raw, []byte{0, 1, 1, 1}) {
		t.Errorf("out_bool = %v, want [0 1 1 1]", out[0].Raw)
	}
}

func TestUnalignedInput(t *testing.T) {
	s := openSession(t, "adder", 1, Options{})
	a := testutil.FP32Tensor("a", []int64{1, 4}, 1, 2, 3, 4)
	buf := make([]byte, len(a.Raw)+1)
	copy(buf[1:], a.Raw)
	a.Raw = buf[1:] // starts at an odd address
	b := testutil.FP32Tensor("b", []int64{1, 4}, 1, 1, 1, 1)
	out, err := s.Run(context.Background(), []tensor.Tensor{a, b}, []string{"sum"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fp32Values(t, out[0]); !slices.Equal(got, []float32{2, 3, 4, 5}) {
		t.Errorf("sum = %v", got)
	}
}

func TestBytesWithNULRefused(t *testing.T) {
	s := openSession(t, "identity_types", 1, Options{})
	in := identityInputs(1, 2, 5)
	for i := range in {
		if in[i].DataType == tensor.Bytes {
			in[i].Raw = tensor.EncodeBytes([][]byte{[]byte("ok"), []byte("a\x00b")})
		}
	}
	_, err := s.Run(context.Background(), in, nil)
	if err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("err = %v, want a NUL byte error", err)
	}
}
