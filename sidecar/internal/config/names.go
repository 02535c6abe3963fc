package config

import (
	"fmt"
	"regexp"
	"strconv"
)

// Model and tensor names are folder names and metric labels: a conservative
// character set keeps them from escaping the repository folder ("..", "/").
var (
	nameRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	versionRe = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)
)

// CheckModelName returns an error unless name is a safe model name: a letter
// or digit, then up to 127 letters, digits, '_', '.' or '-'.
func CheckModelName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("model name %q is not allowed: want a letter or digit, then up to 127 letters, digits, '_', '.' or '-'", name)
	}
	return nil
}

// CheckVersion returns an error unless v is a version name: a positive
// decimal number without leading zeros (as Triton and TF Serving number them).
func CheckVersion(v string) error {
	if !versionRe.MatchString(v) {
		return fmt.Errorf("version %q is not allowed: want a positive decimal number like \"1\" or \"12\"", v)
	}
	return nil
}

// VersionNumber is the numeric value of a version name that passed CheckVersion.
func VersionNumber(v string) (int64, error) {
	if err := CheckVersion(v); err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}
