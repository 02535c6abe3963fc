// Package kongschema models the two halves of a Kong plugin schema that a
// go-pdk plugin server takes part in: the schema go-pdk v0.11.2 derives
// from the config struct (Of), and the way Kong 3.9.3's schema library
// validates a declarative config against it (Check). Each rule names the
// Kong file it follows.
//
// Both the plugin's `modelgate check` command and the test harness use it,
// so an operator sees before a deploy what Kong would refuse at start-up.
package kongschema
