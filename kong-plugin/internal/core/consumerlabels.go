package core

import (
	"slices"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
)

// consumerLabels bounds the consumer label of modelgate_consumer_requests_total
// (metrics.consumer_labels): a configured consumer is its own label, a
// consumer derived from a JWT subject (`<namespace>:<subject>`) is counted
// under its issuer's `<namespace>:*`, anything else under "_other". The
// label set is then at most the configured consumers and issuers, never one
// label per token subject.
type consumerLabels struct {
	configured map[string]bool
	// namespaces are the issuers' namespaces, longest first, so that a
	// namespace that is another's prefix never takes its subjects.
	namespaces []string
}

func compileConsumerLabels(c auth.Config) consumerLabels {
	l := consumerLabels{configured: make(map[string]bool, len(c.Consumers))}
	for _, cons := range c.Consumers {
		l.configured[cons.Name] = true
	}
	for _, iss := range c.JWT {
		l.namespaces = append(l.namespaces, iss.Namespace())
	}
	slices.SortFunc(l.namespaces, func(a, b string) int { return len(b) - len(a) })
	return l
}

// otherConsumers is the label of a consumer neither configured nor from an issuer.
const otherConsumers = "_other"

// label is consumer's label value.
func (l consumerLabels) label(consumer string) string {
	if l.configured[consumer] {
		return consumer
	}
	for _, ns := range l.namespaces {
		if strings.HasPrefix(consumer, ns+auth.NamespaceSeparator) {
			return ns + auth.NamespaceSeparator + "*"
		}
	}
	return otherConsumers
}
