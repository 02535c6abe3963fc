// Package textproc is the sidecar's text handling declared in a model's
// config.yaml: a tokenizer that turns a BYTES input into token ids before the
// model runs, and a classifier head that turns scores into probabilities and
// labels after it.
package textproc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/modelgate/modelgate/shared/tensor"
	"github.com/modelgate/modelgate/sidecar/internal/config"
)

// Tokenizer maps text to a fixed number of token ids with a vocabulary.
type Tokenizer struct {
	// Input is the BYTES input clients send; Target the model input it fills.
	Input, Target string
	vocab         map[string]int64
	lowercase     bool
	unknownID     int64
	padID         int64
	maxLength     int
}

// NewTokenizer reads the vocabulary named by cfg, relative to modelDir: one
// token per line, the line number (from 0) is its id.
func NewTokenizer(cfg config.TextPreprocess, modelDir string) (*Tokenizer, error) {
	path := filepath.Join(modelDir, filepath.FromSlash(cfg.Vocabulary))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading vocabulary: %w", err)
	}
	vocab := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var id int64
	for ; sc.Scan(); id++ {
		tok := strings.TrimRight(sc.Text(), "\r")
		if _, dup := vocab[tok]; !dup && tok != "" {
			vocab[tok] = id
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading vocabulary %s: %w", path, err)
	}
	if id == 0 {
		return nil, fmt.Errorf("vocabulary %s is empty", path)
	}
	lower := true
	if cfg.Lowercase != nil {
		lower = *cfg.Lowercase
	}
	return &Tokenizer{
		Input: cfg.Input, Target: cfg.Target, vocab: vocab, lowercase: lower,
		unknownID: cfg.UnknownID, padID: cfg.PadID, maxLength: cfg.MaxLength,
	}, nil
}

// MaxLength is the number of ids every text becomes.
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Words splits text into maximal runs of letters and digits, lowercased
// when the config says so.
func (t *Tokenizer) Words(text string) []string {
	if t.lowercase {
		text = strings.ToLower(text)
	}
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// IDs appends exactly MaxLength ids for text to dst: known words by their
// line, others as the unknown id, truncated or padded with the pad id.
func (t *Tokenizer) IDs(dst []int64, text string) []int64 {
	n := 0
	for _, w := range t.Words(text) {
		if n == t.maxLength {
			break
		}
		id, ok := t.vocab[w]
		if !ok {
			id = t.unknownID
		}
		dst = append(dst, id)
		n++
	}
	for ; n < t.maxLength; n++ {
		dst = append(dst, t.padID)
	}
	return dst
}

// Apply turns the text tensor (BYTES, shape [batch] or [batch, 1]) into the
// target tensor [batch, MaxLength] of datatype dt (INT64 or INT32).
func (t *Tokenizer) Apply(in tensor.Tensor, dt tensor.DataType) (tensor.Tensor, error) {
	if in.DataType != tensor.Bytes {
		return tensor.Tensor{}, fmt.Errorf("input %q must be BYTES (text), got %s", in.Name, in.DataType)
	}
	if len(in.Shape) < 1 || len(in.Shape) > 2 || (len(in.Shape) == 2 && in.Shape[1] != 1) {
		return tensor.Tensor{}, fmt.Errorf("input %q must have shape [batch] or [batch, 1], got %v", in.Name, in.Shape)
	}
	batch := in.Shape[0]
	texts, err := tensor.DecodeBytes(in.Raw, batch)
	if err != nil {
		return tensor.Tensor{}, fmt.Errorf("input %q: %w", in.Name, err)
	}
	ids := make([]int64, 0, int(batch)*t.maxLength)
	for _, text := range texts {
		ids = t.IDs(ids, string(text))
	}
	out := tensor.Tensor{Name: t.Target, DataType: dt, Shape: []int64{batch, int64(t.maxLength)}}
	switch dt {
	case tensor.Int64:
		out.Raw = make([]byte, 0, 8*len(ids))
		for _, id := range ids {
			out.Raw = binary.LittleEndian.AppendUint64(out.Raw, uint64(id))
		}
	case tensor.Int32:
		out.Raw = make([]byte, 0, 4*len(ids))
		for _, id := range ids {
			out.Raw = binary.LittleEndian.AppendUint32(out.Raw, uint32(int32(id)))
		}
	default:
		return tensor.Tensor{}, fmt.Errorf("text target %q is %s; the tokenizer fills INT64 or INT32 inputs", t.Target, dt)
	}
	return out, nil
}
