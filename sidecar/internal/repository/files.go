package repository

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/sidecar/internal/config"
	"github.com/modelgate/modelgate/sidecar/internal/modelfile"
)

// fileStamp is the size and modification time of a version's model file.
func fileStamp(vdir string) string {
	for _, name := range []string{modelfile.Plain, modelfile.Encrypted} {
		if st, err := os.Stat(filepath.Join(vdir, name)); err == nil {
			return fmt.Sprintf("%d@%d", st.Size(), st.ModTime().UnixNano())
		}
	}
	return ""
}

// readConfig parses config.yaml (absent = all defaults) and returns a
// digest of it and of the vocabulary it names, so that editing either
// reloads the model.
func readConfig(dir string) (*config.Config, string, error) {
	path := filepath.Join(dir, config.FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = nil, nil
	}
	h := sha256.New()
	h.Write(data)
	digest := func() string { return hex.EncodeToString(h.Sum(nil)) }
	if err != nil {
		return nil, digest(), fmt.Errorf("reading model config: %w", err)
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		return nil, digest(), err
	}
	if t := cfg.Preprocess.Text; t != nil {
		vocab, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(t.Vocabulary)))
		if err != nil {
			return nil, digest(), fmt.Errorf("preprocess.text.vocabulary: %w", err)
		}
		h.Write(vocab)
	}
	return cfg, digest(), nil
}

// versionFolders lists the numbered folders of a model folder; anything
// else in it (config.yaml, vocabularies, keys) is ignored.
func versionFolders(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		if !isDir(dir, e) {
			continue
		}
		if n, err := config.VersionNumber(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// isDir follows symbolic links, as Kubernetes volumes and deploy scripts
// that swap versions atomically use them.
func isDir(parent string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir()
	}
	st, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && st.IsDir()
}
