package oip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
	"github.com/modelgate/modelgate/shared/tensor"
)

// Triton's binary tensor data extension (server docs/protocol/
// extension_binary_data.md, r24.x; the stock client's
// tritonclient/http/_utils.py and _infer_input.py): the body is a JSON
// header of Inference-Header-Content-Length bytes, then each input that
// has parameters.binary_data_size gets that many bytes, in the order of
// the inputs. Elements are little-endian; a BYTES element is a 4-byte
// little-endian length and its bytes. Answers use the same framing.

// headerContentLength is the header that says where the JSON ends, in
// the request and in the answer.
const headerContentLength = "Inference-Header-Content-Length"

// octetStream is the content type of a body with binary tensor data.
const octetStream = "application/octet-stream"

// jsonHeaderLength is where the body's JSON header ends: the
// Inference-Header-Content-Length header's value, checked against the
// body's bytes; the whole body when the header is absent.
func jsonHeaderLength(h http.Header, body []byte) (int, *protocol.Error) {
	v := h.Get(headerContentLength)
	if v == "" {
		return len(body), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, protocol.Errorf(protocol.KindBadRequest, "%s %q is not a byte count", headerContentLength, v)
	}
	if n > int64(len(body)) {
		return 0, protocol.Errorf(protocol.KindBadRequest, "%s is %d, the body has %d bytes", headerContentLength, n, len(body))
	}
	return int(n), nil
}

// takeBinary cuts an input's size bytes of binary data from the front of
// rest and checks that they hold exactly n elements of dt; the data
// aliases the body, nothing is copied or allocated.
func takeBinary(dt tensor.DataType, n, size int64, rest []byte) (data, after []byte, err error) {
	switch {
	case size < 0:
		return nil, nil, errors.New("parameters.binary_data_size must not be negative")
	case size > int64(len(rest)):
		return nil, nil, fmt.Errorf("parameters.binary_data_size is %d, %d bytes of binary data are left", size, len(rest))
	}
	data, after = rest[:size:size], rest[size:]
	if dt == tensor.Bytes {
		return data, after, checkBinaryStrings(data, n)
	}
	if size%int64(dt.Size()) != 0 || size/int64(dt.Size()) != n {
		return nil, nil, fmt.Errorf("%w: %s shape of %d elements needs %d bytes, binary_data_size is %d",
			tensor.ErrShape, dt, n, n*int64(dt.Size()), size)
	}
	return data, after, nil
}

// checkBinaryStrings checks that data is exactly n length-prefixed BYTES
// elements, without allocating.
func checkBinaryStrings(data []byte, n int64) error {
	var i int64
	for ; len(data) > 0; i++ {
		if len(data) < 4 {
			return fmt.Errorf("%w: BYTES element %d has no whole length prefix", tensor.ErrShape, i)
		}
		l := binary.LittleEndian.Uint32(data)
		if uint64(l) > uint64(len(data)-4) {
			return fmt.Errorf("%w: BYTES element %d is %d bytes, %d are left", tensor.ErrShape, i, l, len(data)-4)
		}
		data = data[4+l:]
	}
	if i != n {
		return fmt.Errorf("%w: the shape needs %d BYTES elements, the binary data has %d", tensor.ErrShape, n, i)
	}
	return nil
}
