package auth

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/kong-plugin/internal/secret"
)

// TestWarnsAboutIssuerWithoutAudiences: an issuer without audiences is
// accepted, with one warning naming it at config build; one with
// audiences is not warned about (issue 12, item 10).
func TestWarnsAboutIssuerWithoutAudiences(t *testing.T) {
	t.Setenv("MODELGATE_TEST_AUDIENCE_HMAC", strings.Repeat("audience-test-hmac-", 3))
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	_, err := New(Config{JWT: []Issuer{
		{Issuer: "https://open.test", Name: "open", Algorithms: []string{"HS256"},
			Secret: "env:MODELGATE_TEST_AUDIENCE_HMAC", DefaultTier: "free"},
		{Issuer: "https://checked.test", Name: "checked", Algorithms: []string{"HS256"},
			Secret: "env:MODELGATE_TEST_AUDIENCE_HMAC", DefaultTier: "free", Audiences: []string{"modelgate"}},
	}}, WithSecretWatch(secret.WatchOptions{Logger: log}))
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "issuer=https://open.test") ||
		!strings.Contains(out, "no audiences") || !strings.Contains(out, "RFC 8725") {
		t.Errorf("want one warning naming https://open.test, got:\n%s", out)
	}
	if strings.Contains(out, "checked.test") {
		t.Errorf("an issuer with audiences was warned about:\n%s", out)
	}
}
