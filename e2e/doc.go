// Package e2e holds the end-to-end tests: the real `modelgate serve` binary
// over real HTTP, launching the real sidecar with ONNX Runtime and the
// committed example models in deploy/models, configured by the root kong.yml.
// Its only code is tests.
package e2e
