package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger logs JSON to w. Launched by go-plugin, it uses hclog's keys
// (@level, @message) so that the plugin server re-logs each line at its
// level instead of as raw text.
func newLogger(w io.Writer, level slog.Level, pluginMode bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if pluginMode {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// newHCLogger is go-plugin's own logger on the plugin side, in the same format.
func newHCLogger(w io.Writer, level slog.Level) hclog.Logger {
	hl := hclog.Info
	switch {
	case level <= slog.LevelDebug:
		hl = hclog.Debug
	case level >= slog.LevelError:
		hl = hclog.Error
	case level >= slog.LevelWarn:
		hl = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{Name: "go-plugin", Output: w, Level: hl, JSONFormat: true})
}
