// Package jsontensor is the JSON side of tensors that the JSON protocols
// share: `data` arrays parsed straight into the sidecar's little-endian
// bytes (checked against the body's bytes before anything is allocated),
// the sidecar's outputs written back as JSON arrays, and the checks of a
// JSON body every protocol applies.
package jsontensor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/modelgate/modelgate/shared/tensor"
)

// MaxDataDepth bounds the nesting of a `data` array: tensors of more than
// a few dimensions are rare, and deep nesting is an attack, not a tensor.
const MaxDataDepth = 32

// dataParser turns a JSON `data` value (flat or nested arrays, or a single
// scalar) straight into the raw little-endian bytes the sidecar takes, in
// one pass and without an intermediate []any.
type dataParser struct {
	src  []byte
	pos  int
	dt   tensor.DataType
	out  []byte
	n    int64 // elements parsed so far
	max  int64 // elements the shape asks for
	strs [][]byte
}

// ParseData parses src as the elements of a tensor of want elements of type dt.
// It allocates for the bytes of src, never for a count src cannot hold.
func ParseData(dt tensor.DataType, src []byte, want int64) ([]byte, error) {
	if err := CheckDataSize(dt, src, want); err != nil {
		return nil, err
	}
	p := &dataParser{src: src, dt: dt, max: want}
	if dt != tensor.Bytes {
		p.out = make([]byte, 0, want*int64(dt.Size()))
	} else {
		p.strs = make([][]byte, 0, want)
	}
	p.skipSpace()
	if err := p.value(0); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q after the data", p.src[p.pos])
	}
	if p.n != want {
		return nil, fmt.Errorf("%w: the shape needs %d elements, data has %d", tensor.ErrShape, want, p.n)
	}
	if dt == tensor.Bytes {
		return tensor.EncodeBytes(p.strs), nil
	}
	return p.out, nil
}

// MinElementBytes is the fewest bytes of JSON that hold one element of dt:
// `""` for a string, else a digit. (A BOOL takes 4, but a 1-byte bound keeps
// the parser's message for `[1]` as a BOOL: it is not true or false.)
func MinElementBytes(dt tensor.DataType) int64 {
	if dt == tensor.Bytes {
		return 2
	}
	return 1
}

// CheckDataSize refuses a count of elements that src is too short to hold
// (each element takes its own bytes and a comma), before anything is
// allocated for them: a client's shape is a claim, the body's bytes are a
// fact. The elements that pass are at most len(src)/2.
func CheckDataSize(dt tensor.DataType, src []byte, want int64) error {
	if want <= 0 {
		return nil
	}
	// want elements take want*(min+1)-1 bytes; divide rather than multiply
	// so that no shape overflows.
	if most := (int64(len(src)) + 1) / (MinElementBytes(dt) + 1); want > most {
		return fmt.Errorf("%w: the shape needs %d elements, the %d bytes of data hold at most %d",
			tensor.ErrShape, want, len(src), most)
	}
	return nil
}

func (p *dataParser) skipSpace() { p.pos = spaceEnd(p.src, p.pos) }

func (p *dataParser) value(depth int) error {
	if p.pos >= len(p.src) {
		return fmt.Errorf("data ends early")
	}
	if p.src[p.pos] != '[' {
		return p.element()
	}
	if depth >= MaxDataDepth {
		return fmt.Errorf("data is nested more than %d deep", MaxDataDepth)
	}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if err := p.value(depth + 1); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return fmt.Errorf("data ends early")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return fmt.Errorf("unexpected %q in data", p.src[p.pos])
		}
	}
}

// element parses one scalar and appends its bytes.
func (p *dataParser) element() error {
	if p.n >= p.max {
		// Stop before the output grows past what the shape allows.
		return fmt.Errorf("%w: data has more than the %d elements the shape needs", tensor.ErrShape, p.max)
	}
	start := p.pos
	if p.src[p.pos] == '"' {
		end, err := p.stringEnd()
		if err != nil {
			return err
		}
		p.pos = end
		if p.dt != tensor.Bytes {
			return fmt.Errorf("element %d is a string, want a %s value", p.n, p.dt)
		}
		s, err := unquote(p.src[start:end])
		if err != nil {
			return fmt.Errorf("element %d: %w", p.n, err)
		}
		p.strs = append(p.strs, s)
		p.n++
		return nil
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ',' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		p.pos++
	}
	// The token stays a slice of the body: a string of it per element
	// was an allocation per element (2,066 for a 32x64 INT64 batch).
	tok := p.src[start:p.pos]
	if len(tok) == 0 {
		return fmt.Errorf("unexpected %q in data", p.src[p.pos])
	}
	if err := p.appendScalar(tok); err != nil {
		return fmt.Errorf("element %d: %w", p.n, err)
	}
	p.n++
	return nil
}

func (p *dataParser) stringEnd() (int, error) {
	for i := p.pos + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string in data")
}

// unquote decodes a JSON string literal; the common case, without
// escapes, aliases the request body.
func unquote(q []byte) ([]byte, error) {
	inner := q[1 : len(q)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, fmt.Errorf("bad string: %w", err)
	}
	return []byte(s), nil
}

// appendScalar parses tok, a slice of the body. The conversions to string
// in strconv's calls do not escape (strconv copies what its errors keep),
// so they cost no allocation; only the error paths copy tok.
func (p *dataParser) appendScalar(tok []byte) error {
	le := binary.LittleEndian
	switch p.dt {
	case tensor.Bool:
		switch string(tok) {
		case "true":
			p.out = append(p.out, 1)
		case "false":
			p.out = append(p.out, 0)
		default:
			return fmt.Errorf("%q is not true or false", tok)
		}
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64:
		bits := p.dt.Size() * 8
		v, err := parseInt(tok, bits)
		if err != nil {
			return err
		}
		switch bits {
		case 8:
			p.out = append(p.out, byte(int8(v)))
		case 16:
			p.out = le.AppendUint16(p.out, uint16(int16(v)))
		case 32:
			p.out = le.AppendUint32(p.out, uint32(int32(v)))
		default:
			p.out = le.AppendUint64(p.out, uint64(v))
		}
	case tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64:
		bits := p.dt.Size() * 8
		v, err := strconv.ParseUint(string(tok), 10, bits)
		if err != nil {
			return fmt.Errorf("%q is not a %s value", tok, p.dt)
		}
		switch bits {
		case 8:
			p.out = append(p.out, byte(v))
		case 16:
			p.out = le.AppendUint16(p.out, uint16(v))
		case 32:
			p.out = le.AppendUint32(p.out, uint32(v))
		default:
			p.out = le.AppendUint64(p.out, v)
		}
	case tensor.FP16, tensor.FP32:
		f, err := strconv.ParseFloat(string(tok), 32)
		if err != nil || !isNumber(tok) {
			return fmt.Errorf("%q is not a %s value", tok, p.dt)
		}
		if p.dt == tensor.FP16 {
			p.out = le.AppendUint16(p.out, tensor.Float32ToHalf(float32(f)))
		} else {
			p.out = le.AppendUint32(p.out, math.Float32bits(float32(f)))
		}
	case tensor.FP64:
		f, err := strconv.ParseFloat(string(tok), 64)
		if err != nil || !isNumber(tok) {
			return fmt.Errorf("%q is not a %s value", tok, p.dt)
		}
		p.out = le.AppendUint64(p.out, math.Float64bits(f))
	case tensor.Bytes:
		return fmt.Errorf("%q is not a string", tok)
	default:
		return fmt.Errorf("unsupported datatype %s", p.dt)
	}
	return nil
}

// parseInt accepts JSON integers, and numbers like 3.0 or 1e3 that are
// whole, as clients that only know floats send them.
func parseInt(tok []byte, bits int) (int64, error) {
	if v, err := strconv.ParseInt(string(tok), 10, bits); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	lim := math.Ldexp(1, bits-1)
	if err != nil || !isNumber(tok) || f != math.Trunc(f) || f < -lim || f >= lim {
		return 0, fmt.Errorf("%q is not an INT%d value", tok, bits)
	}
	return int64(f), nil
}

// isNumber rejects what strconv accepts but JSON does not: "NaN", "Inf",
// hex floats, underscores.
func isNumber(tok []byte) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}
