package loadgen

import (
	"strings"
	"testing"
)

func TestValidateNamesWhatIsWrong(t *testing.T) {
	ok := Defaults()
	ok.Targets = []string{"http://127.0.0.1:8081"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"neither targets nor spawn", func(c *Config) { c.Targets = nil }, "--spawn"},
		{"both", func(c *Config) { c.Spawn, c.Bin = 1, "x" }, "not both"},
		{"bad url", func(c *Config) { c.Targets = []string{"127.0.0.1:8081"} }, "not an http"},
		{"pids mismatch", func(c *Config) { c.Pids = []int{1, 2} }, "--pids"},
		{"memory store over replicas", func(c *Config) { c.Targets, c.Spawn, c.Bin, c.Store = nil, 2, "x", "memory" }, "--spawn 1"},
		{"more papers than sessions", func(c *Config) { c.Papers = c.Sessions + 1 }, "--papers"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "--duration"},
		{"env without =", func(c *Config) { c.ReplicaEnv = []string{"X"} }, "KEY=VALUE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
