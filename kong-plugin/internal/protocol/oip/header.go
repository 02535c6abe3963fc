package oip

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/modelgate/modelgate/shared/tensor"
)

// parseHeader decodes an inference request's JSON header into req with
// the result encoding/json gives. The common request (plain ASCII keys
// spelled as the spec spells them, each once, strings without escapes, no
// nulls) takes a hand-written single pass that keeps each input's `data`
// as a slice of src instead of a copy; anything else, and every malformed
// header, goes to encoding/json, whose errors are the ones clients see.
// Neither allocates for a size or count the header declares: slices grow
// with the elements present.
func parseHeader(src []byte, req *oipRequest) error {
	p := headerParser{src: src}
	if p.request(req) {
		return nil
	}
	*req = oipRequest{}
	return json.Unmarshal(src, req)
}

// headerParser is the fast path of parseHeader. Each method returns false
// to hand the whole header to encoding/json: it never reports an error of
// its own, so it never has to agree with encoding/json's messages.
type headerParser struct {
	src []byte
	pos int
}

// maxSkipDepth bounds how deep the fast path follows nesting in values it
// skips; deeper headers go to encoding/json, which has its own limit.
const maxSkipDepth = 64

var (
	requestKeys = []string{"id", "parameters", "inputs", "outputs"}
	inputKeys   = []string{"name", "shape", "datatype", "data", "parameters"}
	outputKeys  = []string{"name", "parameters"}
	reqParamKey = []string{"timeout", "binary_data_output"}
	inParamKeys = []string{"binary_data_size"}
	outParamKey = []string{"binary_data", "classification"}
)

func (p *headerParser) request(req *oipRequest) bool {
	ok := p.object(requestKeys, func(k int) bool {
		switch k {
		case 0:
			s, ok := p.string()
			req.ID = s
			return ok
		case 1:
			return p.requestParameters(&req.Parameters)
		case 2:
			req.Inputs = make([]oipInput, 0)
			return p.array(func() bool {
				req.Inputs = append(req.Inputs, oipInput{})
				return p.input(&req.Inputs[len(req.Inputs)-1])
			})
		default:
			req.Outputs = make([]oipOutput, 0)
			return p.array(func() bool {
				req.Outputs = append(req.Outputs, oipOutput{})
				return p.output(&req.Outputs[len(req.Outputs)-1])
			})
		}
	})
	p.space()
	return ok && p.pos == len(p.src)
}

func (p *headerParser) requestParameters(params *oipParameters) bool {
	return p.object(reqParamKey, func(k int) bool {
		if k == 0 {
			v, ok := p.int64()
			params.Timeout = &v
			return ok
		}
		v, ok := p.bool()
		params.BinaryDataOutput = v
		return ok
	})
}

func (p *headerParser) input(in *oipInput) bool {
	return p.object(inputKeys, func(k int) bool {
		switch k {
		case 0:
			s, ok := p.string()
			in.Name = s
			return ok
		case 1:
			// Dimensions gather on the stack, then take one allocation
			// of the size present.
			var few [8]int64
			dims := few[:0]
			ok := p.array(func() bool {
				v, ok := p.int64()
				dims = append(dims, v)
				return ok
			})
			in.Shape = make([]int64, len(dims))
			copy(in.Shape, dims)
			return ok
		case 2:
			s, ok := p.datatype()
			in.Datatype = s
			return ok
		case 3:
			if p.peek() == 'n' {
				return false
			}
			start := p.pos
			if !p.skip(0) {
				return false
			}
			in.Data = p.src[start:p.pos:p.pos]
			return true
		default:
			return p.object(inParamKeys, func(int) bool {
				v, ok := p.int64()
				in.Parameters.BinaryDataSize = &v
				return ok
			})
		}
	})
}

func (p *headerParser) output(o *oipOutput) bool {
	return p.object(outputKeys, func(k int) bool {
		if k == 0 {
			s, ok := p.string()
			o.Name = s
			return ok
		}
		return p.object(outParamKey, func(k int) bool {
			if k == 0 {
				v, ok := p.bool()
				o.Parameters.BinaryData = &v
				return ok
			}
			v, ok := p.int64()
			o.Parameters.Classification = v
			return ok
		})
	})
}

func (p *headerParser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek skips space and returns the next byte, 0 at the end.
func (p *headerParser) peek() byte {
	p.space()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// object parses an object whose known keys are keys: member(i) parses the
// value of keys[i]; other keys' values are checked and skipped. A known key
// given twice, or an unknown key encoding/json would match to a known one
// (it matches case-insensitively), goes to encoding/json.
func (p *headerParser) object(keys []string, member func(int) bool) bool {
	if p.peek() != '{' {
		return false
	}
	p.pos++
	var seen uint32
	for first := true; ; first = false {
		c := p.peek()
		if c == '}' {
			p.pos++
			return true
		}
		if !first {
			if c != ',' {
				return false
			}
			p.pos++
		}
		key, ok := p.key()
		if !ok || p.peek() != ':' {
			return false
		}
		p.pos++
		k := known(keys, key)
		switch {
		case k >= 0 && seen&(1<<k) != 0:
			return false
		case k >= 0:
			seen |= 1 << k
			// A null leaves a field as it was (or sets a pointer to nil):
			// rare enough to leave to encoding/json.
			if p.peek() == 'n' || !member(k) {
				return false
			}
		case k == -2:
			return false
		default:
			if !p.skip(0) {
				return false
			}
		}
	}
}

// known is key's index in keys, -1 for another key, -2 for a key
// encoding/json would still match to one of keys.
func known(keys []string, key []byte) int {
	for i, k := range keys {
		if string(key) == k {
			return i
		}
	}
	for _, k := range keys {
		if bytes.EqualFold(key, []byte(k)) {
			return -2
		}
	}
	return -1
}

// key returns a member name that is plain printable ASCII without escapes.
func (p *headerParser) key() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.pos + 1
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			p.pos = i + 1
			return p.src[start:i], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// plainString returns the bytes of a string without escapes or control
// characters whose UTF-8 is valid (encoding/json replaces invalid UTF-8).
func (p *headerParser) plainString() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.pos + 1
	ascii := true
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '"':
			s := p.src[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.pos = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (p *headerParser) string() (string, bool) {
	s, ok := p.plainString()
	return string(s), ok
}

var dataTypes = [...]tensor.DataType{tensor.Bool, tensor.UInt8, tensor.UInt16, tensor.UInt32, tensor.UInt64,
	tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.FP16, tensor.FP32, tensor.FP64, tensor.Bytes}

// datatype returns the datatype names tensor knows as its constants, so
// the common request allocates no string for them.
func (p *headerParser) datatype() (string, bool) {
	s, ok := p.plainString()
	if !ok {
		return "", false
	}
	for _, dt := range dataTypes {
		if string(s) == string(dt) {
			return string(dt), true
		}
	}
	return string(s), true
}

func (p *headerParser) bool() (bool, bool) {
	switch p.peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	}
	return false, false
}

func (p *headerParser) literal(lit string) bool {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
		return false
	}
	p.pos += len(lit)
	return true
}

// int64 parses a JSON integer that fits an int64; a fraction, an exponent
// or an overflow is encoding/json's error to report.
func (p *headerParser) int64() (int64, bool) {
	p.space()
	start := p.pos
	integer, ok := p.number()
	if !ok || !integer {
		return 0, false
	}
	v, err := strconv.ParseInt(string(p.src[start:p.pos]), 10, 64)
	return v, err == nil
}

// number scans a JSON number and reports whether it is an integer (no
// fraction, no exponent).
func (p *headerParser) number() (integer, ok bool) {
	s, i := p.src, p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return false, false
	}
	integer = true
	if i < len(s) && s[i] == '.' {
		integer = false
		if j := digits(s, i+1); j > i+1 {
			i = j
		} else {
			return false, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if j := digits(s, i); j > i {
			i = j
		} else {
			return false, false
		}
	}
	p.pos = i
	return integer, true
}

func digits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// array parses an array, element() parsing each element.
func (p *headerParser) array(element func() bool) bool {
	if p.peek() != '[' {
		return false
	}
	p.pos++
	if p.peek() == ']' {
		p.pos++
		return true
	}
	for {
		if !element() {
			return false
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return true
		default:
			return false
		}
	}
}

// skip checks one JSON value as encoding/json's scanner would and moves
// past it.
func (p *headerParser) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch p.peek() {
	case '{':
		p.pos++
		for first := true; ; first = false {
			c := p.peek()
			if c == '}' {
				p.pos++
				return true
			}
			if !first {
				if c != ',' {
					return false
				}
				p.pos++
			}
			if p.peek() != '"' || !p.skipString() || p.peek() != ':' {
				return false
			}
			p.pos++
			if !p.skip(depth + 1) {
				return false
			}
		}
	case '[':
		return p.array(func() bool { return p.skip(depth + 1) })
	case '"':
		return p.skipString()
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	_, ok := p.number()
	return ok
}

// skipString moves past a string, checking its escapes; any other byte
// but a control character is valid JSON, UTF-8 or not.
func (p *headerParser) skipString() bool {
	s := p.src
	for i := p.pos + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(s) {
				return false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
