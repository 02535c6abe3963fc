package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Tokenizer turns text into token ids exactly as the sidecar's textproc
// tokenizer does for a model whose config.yaml declares preprocess.text
// (sidecar/internal/textproc/tokenizer.go, which the benchmark cannot
// import): lowercased when configured, split into runs of letters and
// digits, each word its vocabulary line or the unknown id, truncated or
// padded to MaxLength. The raw path and the lean peer feed ONNX Runtime the
// ids the sidecar would.
type Tokenizer struct {
	Input     string `yaml:"input"`
	Target    string `yaml:"target"`
	Vocab     string `yaml:"vocabulary"`
	Lowercase *bool  `yaml:"lowercase"`
	UnknownID int64  `yaml:"unknown_id"`
	PadID     int64  `yaml:"pad_id"`
	MaxLength int    `yaml:"max_length"`
	ids       map[string]int64
}

// LoadTokenizer reads the text preprocessing of the model folder dir (its
// config.yaml and vocabulary).
func LoadTokenizer(dir string) (*Tokenizer, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Preprocess struct {
			Text *Tokenizer `yaml:"text"`
		} `yaml:"preprocess"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s/config.yaml: %w", dir, err)
	}
	t := cfg.Preprocess.Text
	if t == nil || t.Vocab == "" || t.MaxLength <= 0 {
		return nil, fmt.Errorf("%s/config.yaml declares no preprocess.text with a vocabulary and max_length", dir)
	}
	vocab, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(t.Vocab)))
	if err != nil {
		return nil, err
	}
	t.ids = map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(vocab))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for id := int64(0); sc.Scan(); id++ {
		tok := strings.TrimRight(sc.Text(), "\r")
		if _, dup := t.ids[tok]; !dup && tok != "" {
			t.ids[tok] = id
		}
	}
	return t, sc.Err()
}

// VocabSize is the number of distinct tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.ids) }

// IDs appends exactly MaxLength ids for text to dst.
func (t *Tokenizer) IDs(dst []int64, text string) []int64 {
	if t.Lowercase == nil || *t.Lowercase {
		text = strings.ToLower(text)
	}
	n := 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if n == t.MaxLength {
			break
		}
		id, ok := t.ids[w]
		if !ok {
			id = t.UnknownID
		}
		dst = append(dst, id)
		n++
	}
	for ; n < t.MaxLength; n++ {
		dst = append(dst, t.PadID)
	}
	return dst
}

// IDBytes is IDs as raw little-endian INT64 bytes, as the wire carries them.
func (t *Tokenizer) IDBytes(texts []string) []byte {
	var ids []int64
	for _, s := range texts {
		ids = t.IDs(ids, s)
	}
	raw := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(id))
	}
	return raw
}

// ReadSentences returns the text column of a tab-separated file with a
// header line naming a "text" column (deploy/train/data/heldout.tsv).
func ReadSentences(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	col := -1
	if len(lines) > 0 {
		for i, name := range strings.Split(strings.TrimRight(lines[0], "\r"), "\t") {
			if name == "text" {
				col = i
			}
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no header line with a text column", path)
	}
	var out []string
	for _, line := range lines[1:] {
		fields := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if col < len(fields) && strings.TrimSpace(fields[col]) != "" {
			out = append(out, fields[col])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sentences", path)
	}
	return out, nil
}

// CopyModelVersion copies the model folder src to dst with one version:
// every file of src and the version folder, no other version.
func CopyModelVersion(src, dst, version string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != version {
			continue
		}
		if err := CopyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// CopyTree copies the folder src to dst, file by file, keeping each file's
// permission bits (a private key stays private).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
