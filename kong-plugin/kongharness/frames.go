package kongharness

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// maxFrame bounds one frame: a request body plus headers fit well below.
const maxFrame = 1 << 30

func writeFrame(w io.Writer, data []byte) error {
	buf := make([]byte, 4+len(data))
	binary.LittleEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes is over the %d limit", n, maxFrame)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	return data, nil
}

func writeMessage(w io.Writer, m proto.Message) error {
	if m == nil {
		return writeFrame(w, nil)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return writeFrame(w, b)
}
