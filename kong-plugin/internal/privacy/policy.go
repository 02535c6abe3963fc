// Package privacy is the data-masking policy of the plugin config's
// `privacy` section: which detectors run (package detect finds), and what
// happens to what they find in a text before it reaches a model: mask,
// redact, hash, reject or only count. A Policy is compiled once per config;
// a Scan applies it to the texts of one request and counts what it found
// per kind, for metrics and the audit record. The text itself is never
// logged or kept.
package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/privacy/detect"
	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// minHashKey is the shortest hash key: HMAC-SHA256's output size, as
// RFC 2104 recommends.
const minHashKey = 32

// hashDigits is how many hex digits of the MAC a hash token shows.
const hashDigits = 12

// Policy is a compiled privacy section, safe for concurrent use.
type Policy struct {
	set    *detect.Set
	action Action
	tiers  map[string]Action
	// kinds are the set's kinds; index maps a kind to its position, which
	// counts and tokens share.
	kinds []string
	index map[string]int
	// masks are "<KIND>", prefixes "<KIND:" per kind.
	masks, prefixes [][]byte
	key             *secret.Source[[]byte] // nil unless an action is hash
}

// New compiles a validated, enabled section. The hash key is resolved
// now, and followed when it is a file (secret.Watch).
func New(c Config, opts secret.WatchOptions) (*Policy, error) {
	custom := make([]detect.Custom, len(c.Custom))
	for i, p := range c.Custom {
		custom[i] = detect.Custom{Name: p.Name, Pattern: p.Pattern}
	}
	set, err := detect.New(c.Detectors, custom)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	p := &Policy{set: set, action: c.action(), tiers: map[string]Action{}, kinds: set.Kinds(), index: map[string]int{}}
	for t, tp := range c.Tiers {
		p.tiers[t] = Action(tp.Action)
	}
	for i, k := range p.kinds {
		p.index[k] = i
		upper := strings.ToUpper(k)
		p.masks = append(p.masks, []byte("<"+upper+">"))
		p.prefixes = append(p.prefixes, []byte("<"+upper+":"))
	}
	if c.usesHash() {
		p.key, err = secret.Watch(c.HashKey, func(b []byte) ([]byte, error) {
			if len(b) < minHashKey {
				return nil, fmt.Errorf("hash key of %d bytes is too short (minimum %d)", len(b), minHashKey)
			}
			return bytes.Clone(b), nil
		}, opts)
		if err != nil {
			return nil, fmt.Errorf("privacy.hash_key: %w", err)
		}
	}
	return p, nil
}

// Kinds names what the policy detects, in the order counts use.
func (p *Policy) Kinds() []string { return p.kinds }

// ActionFor is the action for a consumer of tier ("" for none).
func (p *Policy) ActionFor(tier string) Action {
	if a, ok := p.tiers[tier]; ok {
		return a
	}
	return p.action
}

// Scan applies the policy to the texts of one request. It is not safe
// for concurrent use.
type Scan struct {
	p        *Policy
	action   Action
	consumer string
	counts   []int
	matches  []detect.Match
	mac      hash.Hash
}

// Scan starts the pass over one request of consumer, whose tier picks
// the action.
func (p *Policy) Scan(consumer, tier string) *Scan {
	return &Scan{p: p, action: p.ActionFor(tier), consumer: consumer, counts: make([]int, len(p.kinds))}
}

// Action is the scan's action.
func (s *Scan) Action() Action { return s.action }

// Found reports whether anything was found so far.
func (s *Scan) Found() bool {
	for _, n := range s.counts {
		if n > 0 {
			return true
		}
	}
	return false
}

// Each calls fn for every kind found so far with its count, in Kinds order.
func (s *Scan) Each(fn func(kind string, count int)) {
	for i, n := range s.counts {
		if n > 0 {
			fn(s.p.kinds[i], n)
		}
	}
}

// KindsFound names the kinds found so far, in Kinds order.
func (s *Scan) KindsFound() []string {
	var out []string
	s.Each(func(kind string, _ int) { out = append(out, kind) })
	return out
}

// rewrites reports whether the scan's action changes texts.
func (s *Scan) rewrites() bool { return s.action == Mask || s.action == Redact || s.action == Hash }

// Text applies the policy to one text and returns it, rewritten when the
// action rewrites and something was found (a new slice; text is never
// written to), else text itself.
func (s *Scan) Text(text []byte) []byte {
	s.matches = s.find(text, s.matches[:0])
	if len(s.matches) == 0 || !s.rewrites() {
		return text
	}
	out := make([]byte, 0, len(text)+s.growth(s.matches))
	return s.appendRewritten(out, text, 0, s.matches)
}

// find appends text's matches to dst and counts them.
func (s *Scan) find(text []byte, dst []detect.Match) []detect.Match {
	n := len(dst)
	dst = s.p.set.Find(text, dst)
	for _, m := range dst[n:] {
		s.counts[s.p.index[m.Kind]]++
	}
	return dst
}

// replacementLen is the length of what replaces a finding of kind i.
func (s *Scan) replacementLen(i int) int {
	switch s.action {
	case Mask:
		return len(s.p.masks[i])
	case Hash:
		return len(s.p.prefixes[i]) + hashDigits + 1
	}
	return 0
}

// growth is how much longer (negative: shorter) a text gets once
// matches are replaced.
func (s *Scan) growth(matches []detect.Match) int {
	n := 0
	for _, m := range matches {
		n += s.replacementLen(s.p.index[m.Kind]) - (m.End - m.Start)
	}
	return n
}

// appendRewritten appends text[from:] with matches (sorted, offsets into
// text, within text[from:]) replaced to dst.
func (s *Scan) appendRewritten(dst, text []byte, from int, matches []detect.Match) []byte {
	last := from
	for _, m := range matches {
		dst = append(dst, text[last:m.Start]...)
		i := s.p.index[m.Kind]
		switch s.action {
		case Mask:
			dst = append(dst, s.p.masks[i]...)
		case Hash:
			dst = append(dst, s.p.prefixes[i]...)
			dst = s.appendMAC(dst, text[m.Start:m.End])
			dst = append(dst, '>')
		}
		last = m.End
	}
	return append(dst, text[last:]...)
}

// appendMAC appends the first hashDigits hex digits of the finding's MAC
// for the scan's consumer.
func (s *Scan) appendMAC(dst, finding []byte) []byte {
	if s.mac == nil {
		s.mac = hmac.New(sha256.New, s.p.key.Get())
	}
	s.mac.Reset()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s.consumer)))
	s.mac.Write(n[:])
	s.mac.Write([]byte(s.consumer))
	s.mac.Write(finding)
	var sum [sha256.Size]byte
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], s.mac.Sum(sum[:0]))
	return append(dst, digits[:hashDigits]...)
}
