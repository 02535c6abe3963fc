package main

import (
	"flag"
	"os"

	"github.com/modelgate/modelgate/internal/version"
)

func versionCommand() command {
	return command{
		name:     "version",
		summary:  "print the version, the commit, and the Go and go-pdk versions",
		synopsis: "modelgate version (or: modelgate --version)",
		readme:   commandsSection,
		flags:    func() *flag.FlagSet { return flag.NewFlagSet("version", flag.ContinueOnError) },
		run: func([]string) int {
			if err := version.Write(os.Stdout, "modelgate", version.Fields("github.com/Kong/go-pdk")); err != nil {
				return 1
			}
			return 0
		},
	}
}
