package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// command is one subcommand of modelgate. Adding one (`check`, `model push`,
// ...) is one entry in commands: the usage page, `modelgate help NAME`,
// `modelgate NAME --help` and the refusal of unknown flags all follow from it.
type command struct {
	name     string
	summary  string // one line on the usage page
	synopsis string // how to call it, after "usage: "
	readme   string // the heading of the README.md section that documents it
	// flags returns the command's flags, for its help page and to refuse
	// unknown flags and stray arguments before run sees them; nil when run
	// takes positional arguments and parses them itself.
	flags func() *flag.FlagSet
	run   func(args []string) int
}

// commands lists modelgate's subcommands, in the order the usage page shows them.
func commands() []command {
	return []command{
		serveCommand(),
		checkCommand(),
		keygenCommand(),
		modelCommand(),
		versionCommand(),
		helpCommand(),
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// invoke answers -h/--help with the command's help page on stdout (exit 0),
// refuses what its flags do not allow (exit 2), and runs it otherwise.
func (c command) invoke(args []string) int {
	if c.flags == nil {
		if wantsHelp(args) {
			c.writeHelp(os.Stdout)
			return 0
		}
		return c.run(args)
	}
	fs := c.flags()
	fs.SetOutput(io.Discard)
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		c.writeHelp(os.Stdout)
		return 0
	case err != nil:
		return c.usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return c.usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	return c.run(args)
}

// wantsHelp says whether a help flag comes before the end of the flags ("--"),
// for commands that parse their own arguments.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func (c command) usageError(msg string) int {
	fmt.Fprintf(os.Stderr, "modelgate %s: %s\n\n", c.name, msg)
	c.writeHelp(os.Stderr)
	return 2
}

// writeHelp prints the command's help page: what it does, how to call it, its
// flags (generated from its flag set) and where the README documents it.
func (c command) writeHelp(w io.Writer) {
	fmt.Fprintf(w, "modelgate %s: %s\n\nusage: %s\n", c.name, c.summary, c.synopsis)
	if c.flags != nil {
		if fs := c.flags(); hasFlags(fs) {
			fmt.Fprintf(w, "\nflags:\n")
			writeFlags(w, fs, "--")
		}
	}
	fmt.Fprintf(w, "\nREADME.md: section %q\n", c.readme)
}

// writeFlags lists a flag set one flag a line, spelt with dash ("--" for the
// commands, "-" for the plugin server, as Kong's commands spell them).
func writeFlags(w io.Writer, fs *flag.FlagSet, dash string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		name := dash + f.Name
		if arg != "" {
			name += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	})
	tw.Flush()
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// writeUsage prints the usage page: every command with its one line, and
// the plugin server's own flags.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `modelgate: the modelgate Kong plugin server, and its command-line tools

usage:
  modelgate [-kong-prefix DIR] [-dump]   the plugin server (Kong runs it)
  modelgate COMMAND [FLAGS]              one of the commands below
  modelgate help COMMAND                 a command's flags (or: modelgate COMMAND --help)

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
plugin server flags (Kong starts the bare binary or adds -kong-prefix, as
pluginserver_modelgate_start_cmd says, and reads the schema with -dump, its
pluginserver_modelgate_query_cmd; MODELGATE_LOG_LEVEL=debug|info|warn|error
sets the log level):
`)
	writeFlags(w, pluginServerFlags(io.Discard), "-")
	fmt.Fprintf(w, "\nREADME.md, by section (every help page: %q):\n", commandsSection)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintf(tw, "  plugin server\t%q\n", pluginServerSection)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%q\n", c.name, c.readme)
	}
	tw.Flush()
}

// The README sections the help pages point to (TestREADMECommandReference
// checks that they exist).
const (
	commandsSection     = "Commands"
	pluginServerSection = "Running under Kong"
)

func helpCommand() command {
	return command{
		name:     "help",
		summary:  "this page, or one command's help page",
		synopsis: "modelgate help [COMMAND]",
		readme:   commandsSection,
		run: func(args []string) int {
			switch len(args) {
			case 0:
				writeUsage(os.Stdout)
				return 0
			case 1:
				if c, ok := lookup(args[0]); ok {
					c.writeHelp(os.Stdout)
					return 0
				}
				return usageError(fmt.Sprintf("unknown command %q", args[0]))
			}
			return usageError(fmt.Sprintf("help: unexpected argument %q", args[1]))
		},
	}
}
