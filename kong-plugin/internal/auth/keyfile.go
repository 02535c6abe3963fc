package auth

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// keyFile is a file of one consumer's API key digests, followed when it
// changes: a key removed from the file (a Secret update) stops working
// without a restart.
type keyFile struct {
	digests *secret.Source[map[keyDigest]struct{}]
	entry   consumerEntry
}

func watchKeyFile(ref string, entry consumerEntry, opts secret.WatchOptions) (keyFile, error) {
	src, err := secret.Watch(ref, parseDigestFile, opts)
	if err != nil {
		return keyFile{}, err
	}
	// At start a file with no digest is refused: a consumer whose keys were
	// all left out by mistake would otherwise be locked out without a word.
	// Later, the same file is a revocation: every key in it stops working.
	if len(src.Get()) == 0 {
		return keyFile{}, fmt.Errorf("%s: no SHA-256 digest in the file", ref)
	}
	return keyFile{digests: src, entry: entry}, nil
}

// parseDigestFile reads one hex SHA-256 per line (sha256sum's format: a name
// may follow the digest); blank lines and lines starting with # are skipped,
// so a file of comments only (`# revoked`) holds no key.
func parseDigestFile(data []byte) (map[keyDigest]struct{}, error) {
	digests := map[keyDigest]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.Fields(line)[0]
		if err := checkDigest(h); err != nil {
			// Never echo the line: it might be a key pasted by mistake.
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var d keyDigest
		_, _ = hex.Decode(d[:], []byte(strings.ToLower(h)))
		digests[d] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return digests, nil
}
