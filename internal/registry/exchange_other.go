//go:build !linux

package registry

// swap cannot exchange two names in one step here.
func swap(a, b string) (bool, error) { return false, nil }
