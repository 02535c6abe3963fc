package jsontensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/protocol"
)

// Admit checks that a body may be JSON and that there is one.
func Admit(h http.Header, body []byte) *protocol.Error {
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise, and Triton takes any type: refuse only bodies that
		// say they are something else (binary, multipart, images...).
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "text/plain" &&
			mt != "application/x-www-form-urlencoded" {
			return protocol.Errorf(protocol.KindUnsupportedMedia, "content type %q is not supported, send application/json", mt)
		}
	}
	if len(body) == 0 {
		return protocol.Errorf(protocol.KindBadRequest, "the request has no body")
	}
	return nil
}

// Malformed is the 400 for a body encoding/json refused.
func Malformed(err error) *protocol.Error {
	return protocol.Wrap(protocol.KindBadRequest, "malformed JSON: "+Problem(err), err)
}

// Problem says where JSON went wrong without echoing the body.
func Problem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q wants %s, got %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}
