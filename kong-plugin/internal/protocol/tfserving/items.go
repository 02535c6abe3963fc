package tfserving

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol/jsontensor"
	"github.com/modelgate/modelgate/shared/pb"
)

// unbatchedItems counts the one instance a model without batching takes
// against the item quota as OIP counts its tensors
// (jsontensor.UnbatchedItems): the most any input counts, at least 1. An
// instance that does not parse counts 1; buildPredict then refuses it.
func unbatchedItems(meta *pb.ModelMetadataResponse, instance json.RawMessage) int {
	inputs := meta.GetInputs()
	first := bytes.TrimSpace(instance)
	items := int64(1)
	count := func(name string, v json.RawMessage) {
		if elements, err := scalarsIn(v); err == nil {
			items = max(items, jsontensor.UnbatchedItems(inputs, name, elements))
		}
	}
	switch {
	case len(first) > 0 && first[0] == '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(first, &obj) != nil {
			return 1
		}
		for _, in := range inputs {
			if v, ok := obj[in.GetName()]; ok {
				count(in.GetName(), v)
			}
		}
	case len(first) > 0 && first[0] == '"':
		// One text: the model's tokenizer bounds it, not the client.
	case len(inputs) == 1:
		count(inputs[0].GetName(), first)
	}
	return int(items)
}

// scalarsIn counts the scalars of a JSON value (nested arrays of numbers,
// strings or booleans: the elements of a regular one) token by token,
// keeping none of them: it runs before the request's quota is taken, so it
// must not hold memory in proportion to the body the way decoding does.
func scalarsIn(v json.RawMessage) (int64, error) {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var n int64
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if _, delim := tok.(json.Delim); !delim {
			n++
		}
	}
}
