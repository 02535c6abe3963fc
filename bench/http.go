package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/modelgate/modelgate/bench/load"
)

// NewHTTPClient is an HTTP client that keeps enough idle connections for
// clients concurrent callers, so the benchmark measures requests, not TCP handshakes.
func NewHTTPClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        clients * 2,
		MaxIdleConnsPerHost: clients * 2,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// InferBody is an Open Inference Protocol JSON request for batch rows of
// random tokens, as a client would write it.
func (m Model) InferBody(rng *rand.Rand, batch int) []byte {
	raw := m.Tokens(rng, batch)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"inputs":[{"name":%q,"datatype":"INT64","shape":[%d,%d],"data":[`, m.Input, batch, m.SeqLen)
	for i := 0; i < len(raw); i += 8 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(binary.LittleEndian.Uint64(raw[i:]), 10))
	}
	b.WriteString("]}]}")
	return b.Bytes()
}

// HTTPInferFunc returns a load function that POSTs one Open Inference
// Protocol request of batch rows to url (…/v2/models/NAME/infer) with
// header set on every request (the API key). Any status but 200 is a
// failure of kind http_<status>.
func HTTPInferFunc(client *http.Client, url string, header http.Header, m Model, batch int, seed uint64) load.Func {
	rng := rand.New(rand.NewPCG(seed, 11))
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = m.InferBody(rng, batch)
	}
	return HTTPBodiesFunc(client, url, header, bodies, batch, `"outputs"`)
}

// TextInferBodies are Open Inference Protocol JSON requests of one BYTES
// item each, one per sentence: the text input a client of the shipped
// sentiment model sends.
func TextInferBodies(input string, sentences []string) [][]byte {
	bodies := make([][]byte, len(sentences))
	for i, s := range sentences {
		text, _ := json.Marshal(s)
		bodies[i] = fmt.Appendf(nil, `{"inputs":[{"name":%q,"datatype":"BYTES","shape":[1],"data":[%s]}]}`, input, text)
	}
	return bodies
}

// PeerBodies are the peers' requests, {"text": sentence}, one per sentence.
func PeerBodies(sentences []string) [][]byte {
	bodies := make([][]byte, len(sentences))
	for i, s := range sentences {
		bodies[i], _ = json.Marshal(map[string]string{"text": s})
	}
	return bodies
}

// HTTPBodiesFunc returns a load function that POSTs the bodies in turn to
// url with header set on every request, each request items items. Any
// status but 200, or an answer without want, is a failure.
func HTTPBodiesFunc(client *http.Client, url string, header http.Header, bodies [][]byte, items int, want string) load.Func {
	var next atomic.Uint64
	return func(ctx context.Context) (int, error) {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, &load.StatusError{Status: resp.StatusCode, Body: string(out)}
		}
		if !bytes.Contains(out, []byte(want)) {
			return 0, fmt.Errorf("answer without %s: %.200s", want, out)
		}
		return items, nil
	}
}
