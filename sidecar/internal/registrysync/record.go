package registrysync

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// pulledVersion is one version a syncer pulled into the models folder.
type pulledVersion struct {
	// digest is the manifest digest it was pulled by ("" when a syncer
	// before digests were recorded pulled it: it is pulled again).
	digest digest.Digest
	// withdrawn: the policy no longer wants it; the repository unloads it,
	// then the syncer removes its folder.
	withdrawn bool
}

// withdrawnMark ends the record line of a withdrawn version.
const withdrawnMark = "withdrawn"

// record is what a syncer pulled of one model, by version. Only these
// versions are ever replaced or removed: versions put into the folder by
// hand are left alone.
type record map[int64]pulledVersion

func (s *Syncer) recordFile(model string) string {
	return filepath.Join(s.opts.Dir, stateDir, "pulled", model)
}

// record returns the model's record, read from its file the first time;
// s.mu must be held. It is kept in memory because the repository asks for
// origins on every load.
func (s *Syncer) recordLocked(model string) (record, error) {
	if r, ok := s.records[model]; ok {
		return r, nil
	}
	r, err := readRecord(s.recordFile(model))
	if err != nil {
		return nil, err
	}
	s.records[model] = r
	return r, nil
}

// readRecord parses a record file: a line "VERSION DIGEST [withdrawn]" per
// version ("VERSION" alone from an older syncer).
func readRecord(file string) (record, error) {
	r := record{}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var p pulledVersion
		if last := len(fields) - 1; last > 0 && fields[last] == withdrawnMark {
			p.withdrawn, fields = true, fields[:last]
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || len(fields) > 2 {
			return nil, fmt.Errorf("%s: line %q", file, line)
		}
		if len(fields) > 1 {
			if p.digest, err = digest.Parse(fields[1]); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
		r[n] = p
	}
	return r, nil
}

// setRecord replaces the model's record, on disk first (written whole and
// renamed into place), then in memory; s.mu must not be held.
func (s *Syncer) setRecord(model string, r record) error {
	file := s.recordFile(model)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(r)) {
		p := r[n]
		fmt.Fprintf(&b, "%d %s", n, p.digest)
		if p.withdrawn {
			fmt.Fprintf(&b, " %s", withdrawnMark)
		}
		b.WriteByte('\n')
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	s.mu.Lock()
	// A copy: the caller goes on editing its map while the repository
	// reads this one (Withdrawn, Origin) from its own goroutine.
	s.records[model] = maps.Clone(r)
	s.mu.Unlock()
	return nil
}

// pulled returns a copy of the model's record.
func (s *Syncer) pulled(model string) (record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.recordLocked(model)
	return maps.Clone(r), err
}

// Origin is the manifest digest a version of a model was pulled by; ok is
// false for a version the syncer did not pull. The repository calls it
// (repository.Origins) to show where a loaded version came from.
func (s *Syncer) Origin(model string, version int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.recordLocked(model)
	if err != nil {
		return "", false
	}
	p, ok := r[version]
	if !ok || p.digest == "" {
		return "", false
	}
	return p.digest.String(), true
}

// Withdrawn reports a version the syncer pulled that its policy no longer
// wants: the repository unloads it (repository.Origins), then Sync removes
// its folder.
func (s *Syncer) Withdrawn(model string, version int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.recordLocked(model)
	return err == nil && r[version].withdrawn
}
