package core

import (
	"github.com/modelgate/modelgate/kong-plugin/internal/config"
	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// allowList is who may use a model or one of its versions: a consumer
// named in consumers or on a tier in tiers. Both nil lets everyone through.
type allowList struct {
	consumers map[string]bool
	tiers     map[string]bool
}

func (a allowList) allows(consumer, tier string) bool {
	if a.consumers == nil && a.tiers == nil {
		return true
	}
	return a.consumers[consumer] || a.tiers[tier]
}

func compileVersionAccess(byVersion map[string]config.VersionAccess) map[string]allowList {
	if len(byVersion) == 0 {
		return nil
	}
	out := make(map[string]allowList, len(byVersion))
	for v, a := range byVersion {
		out[v] = allowList{consumers: set(a.AllowConsumers), tiers: set(a.AllowTiers)}
	}
	return out
}

// allows reports whether a consumer of a tier may use the model at all.
func (m *modelRouting) allows(consumer, tier string) bool {
	if m.closed {
		return false
	}
	return allowList{consumers: m.allowConsumers, tiers: m.allowTiers}.allows(consumer, tier)
}

// allowsVersion reports whether a consumer of a tier, allowed to use the
// model, may call its version v; a version without allow lists is open.
func (m *modelRouting) allowsVersion(consumer, tier, v string) bool {
	a, ok := m.versionAccess[v]
	return !ok || a.allows(consumer, tier)
}

// restrictsVersions reports whether some version of the model has allow
// lists: then a request that leaves the version to the sidecar (its latest)
// must learn which version that is before it may be served.
func (m *modelRouting) restrictsVersions() bool { return len(m.versionAccess) > 0 }

// authorize checks the model's allow lists. A closed model (unlisted, with
// unlisted_models: deny) is refused even in an open gateway.
func (ex *exchange) authorize(m *modelRouting) *protocol.Error {
	if m.closed {
		return protocol.Errorf(protocol.KindForbidden, "model %q is not open to consumers", m.name)
	}
	if ex.g.auth == nil || m.allows(ex.identity.Consumer, ex.identity.Tier) {
		return nil
	}
	return protocol.Errorf(protocol.KindForbidden, "consumer %q may not use model %q", ex.identity.Consumer, m.name)
}

// authorizeVersion checks version v's allow lists, whatever chose v (the
// URL, a label, a pin, the split, the default alias or the sidecar's
// latest): a version in the URL does not get past them.
func (ex *exchange) authorizeVersion(m *modelRouting, v string) *protocol.Error {
	if ex.g.auth == nil || m.allowsVersion(ex.identity.Consumer, ex.identity.Tier, v) {
		return nil
	}
	return protocol.Errorf(protocol.KindForbidden, "consumer %q may not use version %q of model %q", ex.identity.Consumer, v, m.name)
}

// mayCall reports whether the consumer may call version v of m; v ""
// (a model-wide entry) needs only the model's allow lists.
func (ex *exchange) mayCall(m *modelRouting, v string) bool {
	if ex.authorize(m) != nil {
		return false
	}
	return v == "" || ex.authorizeVersion(m, v) == nil
}

// stickyKey identifies the caller for the split: the consumer, else
// (an open gateway) the client's address.
func (ex *exchange) stickyKey() string {
	if ex.identity.Consumer != "" {
		return ex.identity.Consumer
	}
	return ex.req.ClientIP
}

// visibleVersions keeps the versions of a metadata answer the consumer may call.
func (ex *exchange) visibleVersions(m *modelRouting, versions []string) []string {
	if !m.restrictsVersions() || ex.g.auth == nil {
		return versions
	}
	out := make([]string, 0, len(versions))
	for _, v := range versions {
		if m.allowsVersion(ex.identity.Consumer, ex.identity.Tier, v) {
			out = append(out, v)
		}
	}
	return out
}
