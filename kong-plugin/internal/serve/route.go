package serve

import (
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelgate/modelgate/kong-plugin/internal/core"
)

// route is one Kong route as modelgate serve matches it.
type route struct {
	name          string
	index         int // order in the file: the last tie-breaker
	paths         []routePath
	methods       []string
	hosts         []string
	headers       map[string][]string // lower-case name -> accepted values
	regexPriority int
	// stripPath is read for completeness: it changes the path Kong sends
	// upstream, not the one the plugin sees (kong.request.get_path is the
	// client's path), and modelgate proxies nothing.
	stripPath bool
	service   string
	gateway   *core.Gateway // the modelgate plugin that applies; nil: none

	// Where the route and its service reference are in the file, for messages.
	node, serviceNode *yaml.Node
	path, servicePath string
}

// routePath is a prefix or an anchored regular expression.
type routePath struct {
	raw    string
	prefix string
	regex  *regexp.Regexp
}

// match is how well a route matched a request, for Kong's precedence.
type match struct {
	route    *route
	criteria int  // how many kinds of criteria the route has (hosts, headers, methods, paths)
	regex    bool // matched by a regex path
	length   int  // length of the matched prefix
}

// matches reports whether r matches the request, and how.
func (r *route) matches(req *http.Request) (match, bool) {
	m := match{route: r}
	if len(r.methods) > 0 {
		m.criteria++
		if !slices.Contains(r.methods, req.Method) {
			return m, false
		}
	}
	if len(r.hosts) > 0 {
		m.criteria++
		if !r.matchesHost(req.Host) {
			return m, false
		}
	}
	if len(r.headers) > 0 {
		m.criteria++
		for name, values := range r.headers {
			got := req.Header.Values(name)
			if !slices.ContainsFunc(values, func(v string) bool {
				return slices.ContainsFunc(got, func(g string) bool { return strings.EqualFold(g, v) })
			}) {
				return m, false
			}
		}
	}
	if len(r.paths) == 0 {
		return m, true
	}
	m.criteria++
	found := false
	for _, p := range r.paths {
		switch {
		case p.regex != nil:
			if p.regex.MatchString(req.URL.Path) && (!found || !m.regex) {
				found, m.regex = true, true
			}
		case strings.HasPrefix(req.URL.Path, p.prefix):
			if !m.regex && len(p.prefix) > m.length {
				found, m.length = true, len(p.prefix)
			}
		}
	}
	return m, found
}

func (r *route) matchesHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, want := range r.hosts {
		want = strings.ToLower(want)
		switch {
		case want == host:
			return true
		case strings.HasPrefix(want, "*.") && strings.HasSuffix(host, want[1:]):
			return true
		case strings.HasSuffix(want, ".*") && strings.HasPrefix(host, want[:len(want)-1]):
			return true
		}
	}
	return false
}

// better orders two matches the way Kong's router prefers routes: more
// kinds of criteria first, then regex paths (higher regex_priority first)
// before prefixes, then the longer prefix, then the earlier route.
func (m match) better(o match) bool {
	if m.criteria != o.criteria {
		return m.criteria > o.criteria
	}
	if m.regex != o.regex {
		return m.regex
	}
	if m.regex && m.route.regexPriority != o.route.regexPriority {
		return m.route.regexPriority > o.route.regexPriority
	}
	if m.length != o.length {
		return m.length > o.length
	}
	return m.route.index < o.route.index
}

// router finds the route for a request.
type router struct{ routes []*route }

func (rt router) find(req *http.Request) *route {
	var best *match
	for _, r := range rt.routes {
		if m, ok := r.matches(req); ok && (best == nil || m.better(*best)) {
			best = &m
		}
	}
	if best == nil {
		return nil
	}
	return best.route
}
