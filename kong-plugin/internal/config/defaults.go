package config

// Defaults the plugin applies to fields left empty (zero) in kong.yml.
const (
	DefaultMode            = "launch"
	DefaultCommand         = "modelgate-sidecar"
	DefaultSocket          = "/run/modelgate/sidecar.sock"
	DefaultMaxMessageBytes = 64 << 20
	DefaultStartTimeout    = "30s"
	DefaultCheckInterval   = "500ms"
	DefaultMaxBackoff      = "1s"
	DefaultMaxBodyBytes    = 8 << 20
	DefaultTimeout         = "10s"
	DefaultMaxTimeout      = "60s"
	DefaultMaxElements     = 1 << 24
)

// WithDefaults returns a copy of c with every empty field that has a default set.
func (c Config) WithDefaults() Config {
	s := &c.Sidecar
	if s.Mode == "" {
		s.Mode = DefaultMode
	}
	if s.Mode == "launch" && s.Command == "" {
		s.Command = DefaultCommand
	}
	if s.Mode == "attach" && s.Socket == "" {
		s.Socket = DefaultSocket
	}
	setInt(&s.MaxMessageBytes, DefaultMaxMessageBytes)
	setString(&s.StartTimeout, DefaultStartTimeout)
	setString(&s.CheckInterval, DefaultCheckInterval)
	setString(&s.MaxBackoff, DefaultMaxBackoff)

	l := &c.Limits
	setInt(&l.MaxBodyBytes, DefaultMaxBodyBytes)
	setString(&l.DefaultTimeout, DefaultTimeout)
	setString(&l.MaxTimeout, DefaultMaxTimeout)
	setInt(&l.MaxElements, DefaultMaxElements)
	c.withAuthDefaults()
	return c
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}
