package kongharness

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route is a Kong route of a declarative file, as the router matches it.
type Route struct {
	Name          string   `yaml:"name"`
	Paths         []string `yaml:"paths"`
	Methods       []string `yaml:"methods"`
	Hosts         []string `yaml:"hosts"`
	RegexPriority int      `yaml:"regex_priority"`

	// Criteria the harness does not model; a route using one is refused.
	Headers      map[string]any `yaml:"headers"`
	SNIs         []any          `yaml:"snis"`
	Sources      []any          `yaml:"sources"`
	Destinations []any          `yaml:"destinations"`
	Expression   string         `yaml:"expression"`

	index int // order in the file: the last tie-breaker
}

// Routes reads the routes of a declarative file, at the top and nested in
// services, in file order.
func Routes(kongYML []byte) ([]Route, error) {
	var doc struct {
		Routes   []Route `yaml:"routes"`
		Services []struct {
			Routes []Route `yaml:"routes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(kongYML, &doc); err != nil {
		return nil, fmt.Errorf("kong.yml: %w", err)
	}
	var routes []Route
	for _, s := range doc.Services {
		routes = append(routes, s.Routes...)
	}
	routes = append(routes, doc.Routes...)
	for i := range routes {
		r := &routes[i]
		r.index = i
		if len(r.Headers) > 0 || len(r.SNIs) > 0 || len(r.Sources) > 0 || len(r.Destinations) > 0 || r.Expression != "" {
			return nil, fmt.Errorf("route %q: headers, snis, sources, destinations and expression are not modelled by the harness", r.Name)
		}
		for _, p := range r.Paths {
			if _, err := compileRoutePath(p); err != nil {
				return nil, fmt.Errorf("route %q: %w", r.Name, err)
			}
		}
	}
	return routes, nil
}

// MatchRoute returns the route Kong 3.9.3's default router
// (router_flavor = traditional_compatible, kong/router/transform.lua and
// kong/router/atc.lua) picks for a request, or false where Kong answers 404
// "no Route matched with those values". path is the normalized request path
// without its query.
//
// As transform.lua turns a route into an expression: a prefix path matches
// by byte prefix (http.path ^= "/v2/", so "/v2/" does not match "/v2"); a
// "~" path is a regex anchored at the start of the path; methods match
// exactly; a host matches exactly, or by suffix for "*.x" and by prefix for
// "x.*". A route with paths of several lengths is split into one route per
// length (split_routes_and_services_by_path), so each matching path counts
// on its own. Among matches the highest priority (get_priority) wins:
// first the number of kinds of criteria, then hosts without wildcards, then
// a regex path over a prefix, then regex_priority (regex paths only), then
// the longer prefix. Kong breaks the remaining ties by route id; the
// harness by file order.
func MatchRoute(routes []Route, method, path, host string) (Route, bool) {
	var best *routeMatch
	for _, r := range routes {
		m, ok := r.match(method, path, host)
		if ok && (best == nil || m.above(*best)) {
			best = &m
		}
	}
	if best == nil {
		return Route{}, false
	}
	return best.route, true
}

// routeMatch is a matched route and its priority's parts, most significant
// first (transform.lua's get_priority bits).
type routeMatch struct {
	route         Route
	criteria      int
	plainHost     bool
	regex         bool
	regexPriority int
	length        int
}

func (a routeMatch) above(b routeMatch) bool {
	switch {
	case a.criteria != b.criteria:
		return a.criteria > b.criteria
	case a.plainHost != b.plainHost:
		return a.plainHost
	case a.regex != b.regex:
		return a.regex
	case a.regexPriority != b.regexPriority:
		return a.regexPriority > b.regexPriority
	case a.length != b.length:
		return a.length > b.length
	}
	return a.route.index < b.route.index
}

func (r Route) match(method, path, host string) (routeMatch, bool) {
	m := routeMatch{route: r}
	if len(r.Methods) > 0 {
		m.criteria++
		if !slices.Contains(r.Methods, method) {
			return m, false
		}
	}
	if len(r.Hosts) > 0 {
		m.criteria++
		m.plainHost = !slices.ContainsFunc(r.Hosts, func(h string) bool { return strings.Contains(h, "*") })
		if !slices.ContainsFunc(r.Hosts, func(h string) bool { return hostMatches(h, host) }) {
			return m, false
		}
	}
	if len(r.Paths) == 0 {
		return m, true
	}
	m.criteria++
	found := false
	for _, p := range r.Paths {
		c, _ := compileRoutePath(p)
		if !c.matches(path) {
			continue
		}
		cand := m
		cand.regex = c.regex != nil
		if cand.regex {
			cand.regexPriority = r.RegexPriority
		} else {
			cand.length = len(p)
		}
		if !found || cand.above(m) {
			m, found = cand, true
		}
	}
	return m, found
}

func hostMatches(want, host string) bool {
	want, host = strings.ToLower(want), strings.ToLower(host)
	switch {
	case strings.HasPrefix(want, "*"):
		return strings.HasSuffix(host, want[1:])
	case strings.HasSuffix(want, "*"):
		return strings.HasPrefix(host, want[:len(want)-1])
	}
	return want == host
}

// routePath is a prefix, or a regex for a "~" path.
type routePath struct {
	prefix string
	regex  *regexp.Regexp
}

func compileRoutePath(p string) (routePath, error) {
	if re, ok := strings.CutPrefix(p, "~"); ok {
		c, err := regexp.Compile("^" + re)
		if err != nil {
			return routePath{}, fmt.Errorf("regex path %q: %w", p, err)
		}
		return routePath{regex: c}, nil
	}
	if !strings.HasPrefix(p, "/") {
		return routePath{}, fmt.Errorf("path %q starts with neither / nor ~/", p)
	}
	return routePath{prefix: p}, nil
}

func (p routePath) matches(path string) bool {
	if p.regex != nil {
		return p.regex.MatchString(path)
	}
	return strings.HasPrefix(path, p.prefix)
}
