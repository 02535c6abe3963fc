package protocol

import "time"

// Audit is what one request did, never its data: the record the Kong
// adapter adds to Kong's log serializer (kong.log.set_serialize_value) and
// modelgate serve writes to its access log.
type Audit struct {
	Consumer, Model, Version string
	Status                   int
	// Items is the request's batch items, 0 before they were counted.
	Items   int
	Latency time.Duration
	// Action is the privacy action applied to the request's texts; ""
	// when the privacy policy is off or never saw the request.
	Action string
	// Findings counts the personal data found, per kind.
	Findings []Finding
}

// Finding is how many times one kind of personal data was found.
type Finding struct {
	Kind  string
	Count int
}

// Fields is the record as one JSON object or Kong serializer table:
// consumer, model, version, status, items, latency_ms, and with privacy
// on, action and findings ({kind: count}).
func (a Audit) Fields() map[string]any {
	f := map[string]any{
		"consumer":   a.Consumer,
		"model":      a.Model,
		"version":    a.Version,
		"status":     a.Status,
		"items":      a.Items,
		"latency_ms": float64(a.Latency.Microseconds()) / 1000,
	}
	if a.Action != "" {
		found := make(map[string]any, len(a.Findings))
		for _, x := range a.Findings {
			found[x.Kind] = x.Count
		}
		f["action"] = a.Action
		f["findings"] = found
	}
	return f
}
