package protocol

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Compression as Triton's HTTP endpoint does it (server
// src/http_server.cc and src/data_compressor.h, r24.x): a request body
// with Content-Encoding gzip or deflate (zlib's format, as HTTP names it)
// is inflated before it is read, and an answer is compressed in the first
// of those two the client's Accept-Encoding allows. Kong hands the plugin
// the body as the client sent it (it inflates nothing), so the protocols
// inflate, not a front-end.

// Inflate returns body decoded per the request's Content-Encoding, read
// through a cap: the first byte past limit is a 413, so a small
// compressed body costs at most limit bytes, allocated as they inflate.
// An unknown encoding is a 415, a corrupt body a 400.
func Inflate(h http.Header, body []byte, limit int) ([]byte, *Error) {
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	var r io.ReadCloser
	var err error
	switch enc {
	case "", "identity":
		return body, nil
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, Errorf(KindUnsupportedMedia, "content encoding %q is not supported, send gzip, deflate or none", enc)
	}
	if err != nil {
		return nil, Wrap(KindBadRequest, "the "+enc+" body is corrupt", err)
	}
	defer r.Close()
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(r, int64(limit)+1))
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return nil, Wrap(KindBadRequest, "the "+enc+" body is corrupt", err)
	case n > int64(limit):
		return nil, Errorf(KindTooLarge, "the %s body inflates past the limit of %d bytes", enc, limit)
	}
	return out.Bytes(), nil
}

// AcceptedEncoding is the encoding to answer in for an Accept-Encoding
// header, chosen as Triton's CompressionTypeUsed (src/http_server.cc)
// chooses: of identity, gzip and deflate, the one with the highest q (1
// when absent, the first on a tie); "" for identity. Unlike Triton, names
// are matched without regard to case or spaces around the ';'.
func AcceptedEncoding(accept string) string {
	best, weight := "", 0.0
	for rest, more := accept, accept != ""; more; {
		var part string
		// Cut, not Split: this runs per answer, and a slice of the parts
		// was an allocation each time.
		part, rest, more = strings.Cut(rest, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "deflate" && name != "identity" {
			continue
		}
		w := 1.0
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			if err != nil {
				continue
			}
			w = v
		}
		if w > weight {
			best, weight = name, w
		}
	}
	if best == "identity" {
		return ""
	}
	return best
}

// Compress encodes body in enc ("gzip" or "deflate"). Go's clients (and
// Python's requests) ask for gzip on every request, so this runs per answer:
// the encoders, about a megabyte of tables each, are pooled and reset
// rather than made anew. A body under storedBelow bytes is sent in stored
// (uncompressed) blocks of the encoding the client asked for: compressing
// a few hundred bytes of JSON saves about a hundred bytes, less than one
// packet, for some 20 µs of CPU (BenchmarkCompressSmallAnswer), while a
// stored block costs a checksum.
func Compress(enc string, body []byte) ([]byte, error) {
	stored := len(body) < storedBelow
	var b bytes.Buffer
	if stored {
		b.Grow(len(body) + 32) // the header, one block's 5 bytes, the trailer
	} else {
		b.Grow(len(body)/4 + 64)
	}
	var pool *sync.Pool
	switch {
	case enc == "gzip" && stored:
		pool = &gzipStored
	case enc == "gzip":
		pool = &gzipWriters
	case enc == "deflate" && stored:
		pool = &zlibStored
	case enc == "deflate":
		pool = &zlibWriters
	default:
		return nil, fmt.Errorf("no encoder for %q", enc)
	}
	w := pool.Get().(resetWriter)
	defer pool.Put(w)
	w.Reset(&b)
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// storedBelow is the body size under which Compress stores rather than
// compresses: under it the answer fits one packet either way.
const storedBelow = 1024

// resetWriter is what gzip.Writer and zlib.Writer have in common.
type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

var (
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}
	zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(io.Discard) }}
	gzipStored  = sync.Pool{New: func() any { return must(gzip.NewWriterLevel(io.Discard, gzip.NoCompression)) }}
	zlibStored  = sync.Pool{New: func() any { return must(zlib.NewWriterLevel(io.Discard, zlib.NoCompression)) }}
)

// must is for the encoders' constructors, whose only error is a bad level.
func must[W resetWriter](w W, err error) W {
	if err != nil {
		panic(err)
	}
	return w
}
