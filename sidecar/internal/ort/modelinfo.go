package ort

import (
	"errors"
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/modelgate/modelgate/shared/tensor"
)

// IOInfo describes one model input or output as the ONNX file declares it.
type IOInfo struct {
	// Name is the input or output name.
	Name string
	// DataType is its element type.
	DataType tensor.DataType
	// Dims is its shape; -1 marks a dynamic dimension (a named dim_param such
	// as "batch", or an unknown one).
	Dims []int64
}

// ioDecl is an IOInfo plus the names of its symbolic dims, which let Run
// predict an output's shape from its inputs' (see preallocatedOutputs).
type ioDecl struct {
	IOInfo
	dimParams []string // "" where the dim is static or unnamed
}

// onnxElemTypes maps ONNX TensorProto.DataType numbers (the same numbers
// ONNX Runtime's ONNXTensorElementDataType uses) to the datatypes modelgate
// carries; anything else (bfloat16, complex, float8...) is refused at load.
var onnxElemTypes = map[uint64]tensor.DataType{
	1: tensor.FP32, 2: tensor.UInt8, 3: tensor.Int8, 4: tensor.UInt16, 5: tensor.Int16,
	6: tensor.Int32, 7: tensor.Int64, 8: tensor.Bytes, 9: tensor.Bool, 10: tensor.FP16,
	11: tensor.FP64, 12: tensor.UInt32, 13: tensor.UInt64,
}

// elemTypeNumbers is onnxElemTypes inverted, for elemTypeOf, which runs for
// every input and output of every run.
var elemTypeNumbers = func() map[tensor.DataType]onnx.TensorElementDataType {
	m := make(map[tensor.DataType]onnx.TensorElementDataType, len(onnxElemTypes))
	for k, v := range onnxElemTypes {
		m[v] = onnx.TensorElementDataType(k)
	}
	return m
}()

// elemTypeOf is the ONNX element type number of d.
func elemTypeOf(d tensor.DataType) onnx.TensorElementDataType {
	if n, ok := elemTypeNumbers[d]; ok {
		return n
	}
	return onnx.TensorElementDataTypeUndefined
}

// Protobuf field numbers of onnx.proto that readModelIO walks.
const (
	fieldModelGraph       = 7  // ModelProto.graph
	fieldGraphInitializer = 5  // GraphProto.initializer
	fieldGraphInput       = 11 // GraphProto.input
	fieldGraphOutput      = 12 // GraphProto.output
	fieldGraphSparseInit  = 15 // GraphProto.sparse_initializer
	fieldTensorName       = 8  // TensorProto.name
	fieldSparseValues     = 1  // SparseTensorProto.values
	fieldValueInfoName    = 1  // ValueInfoProto.name
	fieldValueInfoType    = 2  // ValueInfoProto.type
	fieldTypeTensor       = 1  // TypeProto.tensor_type
	fieldTensorTypeElem   = 1  // TypeProto.Tensor.elem_type
	fieldTensorTypeShape  = 2  // TypeProto.Tensor.shape
	fieldShapeDim         = 1  // TensorShapeProto.dim
	fieldDimValue         = 1  // TensorShapeProto.Dimension.dim_value
	fieldDimParam         = 2  // TensorShapeProto.Dimension.dim_param

	wireBytes  = protowire.BytesType
	wireVarint = protowire.VarintType
)

var errMalformedModel = errors.New("malformed ONNX model")

// readModelIO reads the graph's inputs (less those that are initializers, as
// older exporters list weights as inputs too) and outputs straight from the
// ONNX protobuf. ONNX Runtime's Go binding needs the names before it can
// create a session, and asking it for them would load the model twice.
func readModelIO(model []byte) (inputs, outputs []ioDecl, err error) {
	graph, err := oneField(model, fieldModelGraph)
	if err != nil {
		return nil, nil, err
	}
	if graph == nil {
		return nil, nil, fmt.Errorf("%w: no graph", errMalformedModel)
	}
	initializers := map[string]bool{}
	var inRaw, outRaw [][]byte
	err = eachField(graph, func(num protowire.Number, typ protowire.Type, val []byte) error {
		if typ != wireBytes {
			return nil
		}
		switch num {
		case fieldGraphInitializer:
			name, err := stringField(val, fieldTensorName)
			initializers[name] = true
			return err
		case fieldGraphSparseInit:
			values, err := oneField(val, fieldSparseValues)
			if err != nil {
				return err
			}
			name, err := stringField(values, fieldTensorName)
			initializers[name] = true
			return err
		case fieldGraphInput:
			inRaw = append(inRaw, val)
		case fieldGraphOutput:
			outRaw = append(outRaw, val)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, raw := range inRaw {
		d, err := readValueInfo(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("input: %w", err)
		}
		if !initializers[d.Name] {
			inputs = append(inputs, d)
		}
	}
	for _, raw := range outRaw {
		d, err := readValueInfo(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("output: %w", err)
		}
		outputs = append(outputs, d)
	}
	if len(inputs) == 0 || len(outputs) == 0 {
		return nil, nil, fmt.Errorf("%w: the graph has %d inputs and %d outputs", errMalformedModel, len(inputs), len(outputs))
	}
	return inputs, outputs, nil
}

func readValueInfo(raw []byte) (ioDecl, error) {
	var d ioDecl
	name, err := stringField(raw, fieldValueInfoName)
	if err != nil {
		return d, err
	}
	d.Name = name
	typ, err := oneField(raw, fieldValueInfoType)
	if err != nil {
		return d, err
	}
	tt, err := oneField(typ, fieldTypeTensor)
	if err != nil {
		return d, err
	}
	if tt == nil {
		return d, fmt.Errorf("%q is not a tensor (sequences, maps and optionals are not served)", name)
	}
	var elem uint64
	var shape []byte
	hasShape := false
	err = eachField(tt, func(num protowire.Number, typ protowire.Type, val []byte) error {
		switch {
		case num == fieldTensorTypeElem && typ == wireVarint:
			v, n := protowire.ConsumeVarint(val)
			if n < 0 {
				return errMalformedModel
			}
			elem = v
		case num == fieldTensorTypeShape && typ == wireBytes:
			shape, hasShape = val, true
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	dt, ok := onnxElemTypes[elem]
	if !ok {
		return d, fmt.Errorf("%q has ONNX element type %d, which modelgate does not carry", name, elem)
	}
	d.DataType = dt
	if !hasShape {
		return d, fmt.Errorf("%q has no declared shape (rank unknown)", name)
	}
	err = eachField(shape, func(num protowire.Number, typ protowire.Type, val []byte) error {
		if num != fieldShapeDim || typ != wireBytes {
			return nil
		}
		dim, param := int64(-1), ""
		err := eachField(val, func(num protowire.Number, typ protowire.Type, v []byte) error {
			switch {
			case num == fieldDimValue && typ == wireVarint:
				x, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return errMalformedModel
				}
				dim = int64(x)
			case num == fieldDimParam && typ == wireBytes:
				param = string(v)
			}
			return nil
		})
		if dim < 0 {
			dim = -1
		}
		d.Dims = append(d.Dims, dim)
		d.dimParams = append(d.dimParams, param)
		return err
	})
	if len(d.Dims) == 0 {
		return d, fmt.Errorf("%q is a scalar (rank 0); modelgate serves tensors of rank >= 1", name)
	}
	return d, err
}

// eachField calls fn for every top-level field of the message msg; for a
// varint field val holds the varint's bytes, for a length-delimited one its
// contents.
func eachField(msg []byte, fn func(num protowire.Number, typ protowire.Type, val []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("%w: %v", errMalformedModel, protowire.ParseError(n))
		}
		msg = msg[n:]
		var val []byte
		switch typ {
		case wireBytes:
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return fmt.Errorf("%w: %v", errMalformedModel, protowire.ParseError(m))
			}
			val, n = v, m
		default:
			n = protowire.ConsumeFieldValue(num, typ, msg)
			if n < 0 {
				return fmt.Errorf("%w: %v", errMalformedModel, protowire.ParseError(n))
			}
			val = msg[:n]
		}
		if err := fn(num, typ, val); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// oneField returns the contents of the last length-delimited field num of
// msg (protobuf's rule for a repeated singular field), nil if absent.
func oneField(msg []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := eachField(msg, func(n protowire.Number, typ protowire.Type, val []byte) error {
		if n == num && typ == wireBytes {
			out = val
		}
		return nil
	})
	return out, err
}

func stringField(msg []byte, num protowire.Number) (string, error) {
	b, err := oneField(msg, num)
	return string(b), err
}
