package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a password, token or hash. In the file it is written inline, or read from a file
// or an environment variable so it stays out of the YAML:
//
//	password: demo-1001
//	password: {file: /etc/callbox/secrets/1001}
//	password: {env: CALLBOX_TRUNK_PASSWORD}
//
// Printing, logging or marshalling a Secret shows "[redacted]"; only Value reveals it.
type Secret struct {
	value  string
	source string // "", "file PATH" or "env NAME": where it came from, for messages
	set    bool
}

// NewSecret wraps a value, e.g. one generated at run time.
func NewSecret(v string) Secret { return Secret{value: v, set: true} }

// Value is the secret itself.
func (s Secret) Value() string { return s.value }

// IsSet tells whether the file gave the secret.
func (s Secret) IsSet() bool { return s.set }

func (s Secret) String() string { return "[redacted]" }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalJSON keeps the secret out of JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal("[redacted]") }

func (s *Secret) decodeNode(d *decoder, n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Value == "" {
			d.errorf(n, "empty secret: write it inline, or as {file: PATH} or {env: NAME}")
			return false
		}
		*s = Secret{value: n.Value, set: true}
		return true
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			d.errorf(n, "a secret is read from one place: {file: PATH} or {env: NAME}")
			return false
		}
		k, v := n.Content[0], n.Content[1]
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			d.errorf(v, "want a file path or variable name, found %s", kindName(v))
			return false
		}
		switch k.Value {
		case "file":
			b, err := os.ReadFile(v.Value)
			if err != nil {
				d.errorf(v, "secret file: %v", unwrapPathError(err))
				return false
			}
			val := strings.TrimRight(string(b), "\r\n")
			if val == "" {
				d.errorf(v, "secret file %s is empty", v.Value)
				return false
			}
			*s = Secret{value: val, source: "file " + v.Value, set: true}
		case "env":
			val, ok := os.LookupEnv(v.Value)
			if !ok || val == "" {
				d.errorf(v, "environment variable %s is not set", v.Value)
				return false
			}
			*s = Secret{value: val, source: "env " + v.Value, set: true}
		default:
			d.errorf(k, "unknown secret source %q: want file or env", k.Value)
			return false
		}
		return true
	}
	d.errorf(n, "want a secret (text, {file: PATH} or {env: NAME}), found %s", kindName(n))
	return false
}

func unwrapPathError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}
