package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/modelgate/modelgate/kong-plugin/internal/trust"
)

// validatePaths checks the files, sockets and folders the config names
// against the folders the operator allows (trust.Policy's SecretFolders and
// SocketFolders), after every symlink: each file: reference, attach mode's
// socket and a launched sidecar's --models. The secret package checks file:
// references again at every re-read.
func (c *Config) validatePaths(p *problems, policy trust.Policy) {
	for _, ref := range fileRefs(reflect.ValueOf(*c), "") {
		if err := policy.CheckSecretFile(strings.TrimPrefix(ref.value, filePrefix)); err != nil {
			p.add(ref.place, "secret reference %q: %v", ref.value, err)
		}
	}
	s := c.Sidecar
	switch s.Mode {
	case "attach":
		if s.Socket != "" {
			if err := policy.CheckSocket(s.Socket); err != nil {
				p.add("sidecar.socket", "%v", err)
			}
		}
	case "launch":
		if dir, i := ModelsArg(s.Args); dir != "" {
			if err := policy.CheckModels(dir); err != nil {
				p.add(fmt.Sprintf("sidecar.args[%d]", i), "the model repository %v", err)
			}
		}
	}
}

// fileRef is a file: reference and its place in the config.
type fileRef struct{ place, value string }

// fileRefs finds every file: reference in v, whatever section holds it, so
// that a secret field added later is bounded without a line here. Places
// are named as validation names them ("auth.jwt[0].public_key").
func fileRefs(v reflect.Value, place string) []fileRef {
	var refs []fileRef
	switch v.Kind() {
	case reflect.String:
		if strings.HasPrefix(v.String(), filePrefix) {
			refs = append(refs, fileRef{place, v.String()})
		}
	case reflect.Pointer:
		if !v.IsNil() {
			refs = fileRefs(v.Elem(), place)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			refs = append(refs, fileRefs(v.Index(i), fmt.Sprintf("%s[%d]", place, i))...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if !t.Field(i).IsExported() || name == "" || name == "-" {
				continue
			}
			if place != "" {
				name = place + "." + name
			}
			refs = append(refs, fileRefs(v.Field(i), name)...)
		}
	}
	return refs
}

// ModelsArg finds the value of --models in the sidecar's flags and the
// index of the argument that holds it ("", -1 when there is none).
func ModelsArg(args []string) (string, int) {
	for i, a := range args {
		for _, flag := range []string{"--models", "-models"} {
			if a == flag && i+1 < len(args) {
				return args[i+1], i + 1
			}
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				return v, i
			}
		}
	}
	return "", -1
}
