package callbox_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeShowsTheDemoConfig keeps the README's annotated configuration equal to the one the
// binary embeds and prints with `callbox config demo`.
func TestReadmeShowsTheDemoConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	demo, err := os.ReadFile("config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- demo-config:")
	if !ok {
		t.Fatal("README.md lacks the demo-config block")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```\n<!-- /demo-config -->")
	if !ok {
		t.Fatal("README.md's demo-config block is not closed")
	}
	if block != string(demo) {
		t.Error("README.md's demo configuration differs from config/demo.yaml: copy it over")
	}
}
