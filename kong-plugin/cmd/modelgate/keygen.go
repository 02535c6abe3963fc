package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/kong-plugin/internal/auth"
)

func keygenCommand() command {
	return command{
		name:     "keygen",
		summary:  "print a fresh API key and its consumer entry for the plugin config",
		synopsis: "modelgate keygen --consumer NAME [--tier TIER]",
		readme:   "API keys",
		flags:    func() *flag.FlagSet { fs, _ := keygenFlags(); return fs },
		run:      keygen,
	}
}

type keygenOptions struct {
	consumer, tier string
}

func keygenFlags() (*flag.FlagSet, *keygenOptions) {
	var o keygenOptions
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.StringVar(&o.consumer, "consumer", "", "consumer `NAME` (required)")
	fs.StringVar(&o.tier, "tier", "", "quota `TIER` (default "+auth.DefaultKeygenTier+")")
	return fs, &o
}

// keygen runs once invoke has checked the arguments.
func keygen(args []string) int {
	fs, o := keygenFlags()
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.consumer == "" {
		return keygenCommand().usageError("--consumer is required")
	}
	if err := auth.Keygen(os.Stdout, o.consumer, o.tier); err != nil {
		fmt.Fprintln(os.Stderr, "modelgate keygen:", err)
		return 1
	}
	return 0
}
