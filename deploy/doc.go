// Package deploy holds modelgate's packaging (the Dockerfile at the
// repository root, docker-compose.yml, the Kubernetes manifests under k8s/
// and the production kong.yml) and, in its tests, the checks that can run
// without a container engine: every file parses with the parser its tool
// uses, and the names the parts share agree everywhere they appear. They
// also keep `make test` installing every Debian package the tests call
// (the Makefile's TEST_DEBS, scripts/debdeps.sh).
package deploy
