package serve

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// pluginName is the only plugin modelgate serve runs.
const pluginName = "modelgate"

// kongFile is what modelgate serve takes from a Kong declarative file.
type kongFile struct {
	routes []*route
	// plugins are the enabled modelgate plugin entries, each with its scope.
	plugins []*pluginEntry
	// consumers are the Kong consumers' usernames.
	consumers []string
}

// pluginEntry is one `modelgate` plugin in the file and where it applies.
type pluginEntry struct {
	node           *yaml.Node // its config mapping
	path           string     // its place in the document, for messages
	route, service string     // scope: a route or a service by name; both empty: global
}

// Kong's keys that modelgate serve accepts, per entity. Keys Kong knows but
// that mean nothing without a proxy (timeouts, TLS) are accepted on services
// only, where they cannot change an answer the plugin gives.
var (
	topKeys     = []string{"_format_version", "_transform", "_comment", "_ignore", "routes", "services", "plugins", "consumers"}
	routeKeys   = []string{"id", "name", "paths", "methods", "hosts", "headers", "protocols", "strip_path", "preserve_host", "regex_priority", "path_handling", "https_redirect_status_code", "request_buffering", "response_buffering", "tags", "service", "plugins"}
	serviceKeys = []string{"id", "name", "url", "protocol", "host", "port", "path", "retries", "connect_timeout", "write_timeout", "read_timeout", "tags", "enabled", "tls_verify", "tls_verify_depth", "routes", "plugins"}
	pluginKeys  = []string{"id", "name", "config", "enabled", "route", "service", "consumer", "protocols", "tags", "instance_name"}
	consumKeys  = []string{"id", "username", "custom_id", "tags"}
)

// formatVersions are the declarative format versions Kong 3.x reads.
var formatVersions = map[string]bool{"3.0": true, "2.1": true, "1.1": true}

// readKongFile reads and checks path. The problems it finds are added to p;
// the returned root is nil when the file could not be parsed at all.
func readKongFile(p *problems, path string) (*kongFile, *yaml.Node) {
	data, err := os.ReadFile(path)
	if err != nil {
		p.at(nil, "", "cannot read the file: %v", err)
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.at(nil, "", "not YAML: %v", err)
		return nil, nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.at(nil, "", "the file is empty")
		return nil, nil
	}
	root := doc.Content[0]
	f := &kongFile{}
	top := fields(p, root, "", topKeys...)
	if e, ok := top["_format_version"]; !ok {
		p.at(root, "_format_version", `required (Kong 3.x: "3.0")`)
	} else if v := str(p, e.value, "_format_version"); v != "" && !formatVersions[v] {
		p.at(e.value, "_format_version", `%q is not a format Kong 3.x reads ("3.0")`, v)
	}
	boolean(p, top["_transform"].value, "_transform", true)

	services := map[string]bool{}
	for i, s := range sequence(p, top["services"].value, "services") {
		f.readService(p, s, fmt.Sprintf("services[%d]", i), services)
	}
	for i, r := range sequence(p, top["routes"].value, "routes") {
		f.readRoute(p, r, fmt.Sprintf("routes[%d]", i), "")
	}
	for i, pl := range sequence(p, top["plugins"].value, "plugins") {
		f.readPlugin(p, pl, fmt.Sprintf("plugins[%d]", i), "", "")
	}
	for i, c := range sequence(p, top["consumers"].value, "consumers") {
		path := fmt.Sprintf("consumers[%d]", i)
		cf := fields(p, c, path, consumKeys...)
		name := str(p, cf["username"].value, path+".username")
		if name == "" && str(p, cf["custom_id"].value, path+".custom_id") == "" {
			p.at(c, path, "a consumer needs a username or a custom_id")
		}
		strs(p, cf["tags"].value, path+".tags")
		f.consumers = append(f.consumers, name)
	}
	f.checkReferences(p, services)
	return f, root
}

func (f *kongFile) readService(p *problems, node *yaml.Node, path string, names map[string]bool) {
	sf := fields(p, node, path, serviceKeys...)
	name := str(p, sf["name"].value, path+".name")
	if name == "" {
		p.at(node, path+".name", "modelgate serve needs every service named (routes and plugins refer to it by name)")
	} else if names[name] {
		p.at(sf["name"].value, path+".name", "duplicate service %q", name)
	}
	names[name] = true
	if !boolean(p, sf["enabled"].value, path+".enabled", true) {
		return
	}
	for i, r := range sequence(p, sf["routes"].value, path+".routes") {
		f.readRoute(p, r, fmt.Sprintf("%s.routes[%d]", path, i), name)
	}
	for i, pl := range sequence(p, sf["plugins"].value, path+".plugins") {
		f.readPlugin(p, pl, fmt.Sprintf("%s.plugins[%d]", path, i), "", name)
	}
}

func (f *kongFile) readRoute(p *problems, node *yaml.Node, path, service string) {
	rf := fields(p, node, path, routeKeys...)
	r := &route{index: len(f.routes), service: service, stripPath: true, node: node, path: path}
	r.name = str(p, rf["name"].value, path+".name")
	if r.name == "" {
		r.name = fmt.Sprintf("#%d", r.index)
	}
	if e, ok := rf["service"]; ok {
		if service != "" {
			p.at(e.key, path+".service", "a route nested in a service names no service")
		}
		r.service = reference(p, e.value, path+".service")
		r.serviceNode, r.servicePath = e.value, path+".service"
	}
	for i, raw := range strs(p, rf["paths"].value, path+".paths") {
		pp := fmt.Sprintf("%s.paths[%d]", path, i)
		rp, err := compilePath(raw)
		if err != nil {
			p.at(rf["paths"].value.Content[i], pp, "%v", err)
			continue
		}
		r.paths = append(r.paths, rp)
	}
	for i, m := range strs(p, rf["methods"].value, path+".methods") {
		if m == "" || strings.ToUpper(m) != m {
			p.at(rf["methods"].value.Content[i], fmt.Sprintf("%s.methods[%d]", path, i), "%q is not an upper-case HTTP method", m)
		}
		r.methods = append(r.methods, m)
	}
	r.hosts = strs(p, rf["hosts"].value, path+".hosts")
	if e, ok := rf["headers"]; ok {
		r.headers = map[string][]string{}
		hn := e.value
		if hn.Kind != yaml.MappingNode {
			p.at(hn, path+".headers", "expected a mapping of header names to lists of values")
		} else {
			for i := 0; i+1 < len(hn.Content); i += 2 {
				name := hn.Content[i].Value
				r.headers[strings.ToLower(name)] = strs(p, hn.Content[i+1], path+".headers."+name)
			}
		}
	}
	for i, proto := range strs(p, rf["protocols"].value, path+".protocols") {
		if proto != "http" && proto != "https" {
			p.at(rf["protocols"].value.Content[i], fmt.Sprintf("%s.protocols[%d]", path, i), "modelgate serve speaks http only, not %q", proto)
		}
	}
	r.stripPath = boolean(p, rf["strip_path"].value, path+".strip_path", true)
	boolean(p, rf["preserve_host"].value, path+".preserve_host", false)
	boolean(p, rf["request_buffering"].value, path+".request_buffering", true)
	boolean(p, rf["response_buffering"].value, path+".response_buffering", true)
	r.regexPriority = integer(p, rf["regex_priority"].value, path+".regex_priority", 0)
	integer(p, rf["https_redirect_status_code"].value, path+".https_redirect_status_code", 426)
	if ph := str(p, rf["path_handling"].value, path+".path_handling"); ph != "" && ph != "v0" && ph != "v1" {
		p.at(rf["path_handling"].value, path+".path_handling", "%q is not v0 or v1", ph)
	}
	strs(p, rf["tags"].value, path+".tags")
	if len(r.paths) == 0 && len(r.methods) == 0 && len(r.hosts) == 0 && len(r.headers) == 0 {
		p.at(node, path, "a route needs at least one of paths, methods, hosts or headers")
	}
	f.routes = append(f.routes, r)
	for i, pl := range sequence(p, rf["plugins"].value, path+".plugins") {
		f.readPlugin(p, pl, fmt.Sprintf("%s.plugins[%d]", path, i), r.name, "")
	}
}

func (f *kongFile) readPlugin(p *problems, node *yaml.Node, path, route, service string) {
	pf := fields(p, node, path, pluginKeys...)
	name := str(p, pf["name"].value, path+".name")
	if name == "" {
		p.at(node, path+".name", "required")
		return
	}
	if name != pluginName {
		p.at(pf["name"].value, path+".name", "modelgate serve runs only the %s plugin, not %q: run Kong for that", pluginName, name)
		return
	}
	if !boolean(p, pf["enabled"].value, path+".enabled", true) {
		return
	}
	if e, ok := pf["consumer"]; ok {
		p.at(e.key, path+".consumer", "a consumer-scoped modelgate plugin is not supported: the plugin authenticates consumers itself")
	}
	if e, ok := pf["route"]; ok {
		route = reference(p, e.value, path+".route")
	}
	if e, ok := pf["service"]; ok {
		service = reference(p, e.value, path+".service")
	}
	for i, proto := range strs(p, pf["protocols"].value, path+".protocols") {
		if proto != "http" && proto != "https" {
			p.at(pf["protocols"].value.Content[i], fmt.Sprintf("%s.protocols[%d]", path, i), "modelgate serve speaks http only, not %q", proto)
		}
	}
	strs(p, pf["tags"].value, path+".tags")
	str(p, pf["instance_name"].value, path+".instance_name")
	cfg, ok := pf["config"]
	if !ok || isNull(cfg.value) {
		p.at(node, path+".config", "the modelgate plugin needs a config")
		return
	}
	for _, other := range f.plugins {
		if other.route == route && other.service == service {
			p.at(node, path, "a second modelgate plugin for the same scope (the first is at %s)", other.path)
			return
		}
	}
	f.plugins = append(f.plugins, &pluginEntry{node: cfg.value, path: path + ".config", route: route, service: service})
}

// reference reads a foreign key as Kong writes it: a name, or {name: ...} / {id: ...}.
func reference(p *problems, node *yaml.Node, path string) string {
	if node != nil && node.Kind == yaml.MappingNode {
		rf := fields(p, node, path, "name", "id")
		if v := str(p, rf["name"].value, path+".name"); v != "" {
			return v
		}
		return str(p, rf["id"].value, path+".id")
	}
	return str(p, node, path)
}

// checkReferences reports routes and plugins that name a service or route
// that the file does not define.
func (f *kongFile) checkReferences(p *problems, services map[string]bool) {
	routes := map[string]bool{}
	for _, r := range f.routes {
		if routes[r.name] {
			p.at(r.node, r.path+".name", "duplicate route name %q", r.name)
		}
		routes[r.name] = true
		if r.servicePath != "" && !services[r.service] {
			p.at(r.serviceNode, r.servicePath, "service %q is not defined in the file", r.service)
		}
	}
	for _, pl := range f.plugins {
		if pl.route != "" && !routes[pl.route] {
			p.at(pl.node, pl.path, "the plugin's route %q is not defined in the file", pl.route)
		}
		if pl.service != "" && !services[pl.service] {
			p.at(pl.node, pl.path, "the plugin's service %q is not defined in the file", pl.service)
		}
	}
}

// compilePath reads one of a route's paths: a prefix ("/v2/"), or a regular
// expression after "~" that Kong anchors at the start of the path.
func compilePath(raw string) (routePath, error) {
	if re, ok := strings.CutPrefix(raw, "~"); ok {
		c, err := regexp.Compile("^(?:" + re + ")")
		if err != nil {
			return routePath{}, fmt.Errorf("regex path %q: %w", raw, err)
		}
		return routePath{raw: raw, regex: c}, nil
	}
	if !strings.HasPrefix(raw, "/") {
		return routePath{}, fmt.Errorf("path %q must start with / (or ~ for a regex)", raw)
	}
	return routePath{raw: raw, prefix: raw}, nil
}
