package callbox_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
	CgoFiles   []string
	Module     *struct{ Path string }
}

// listPackages runs `go list -deps -json` on patterns.
func listPackages(t *testing.T, patterns ...string) map[string]goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json"}, patterns...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(out)
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func ours(path string) bool { return path == "callbox" || strings.HasPrefix(path, "callbox/") }

// TestLayering fails the build when a package imports what the architecture forbids.
func TestLayering(t *testing.T) {
	pkgs := listPackages(t, "./...")
	for _, p := range pkgs {
		if !ours(p.ImportPath) {
			continue
		}
		for _, imp := range p.Imports {
			// Only pbx speaks SIP through sipgo.
			if strings.HasPrefix(imp, "github.com/emiago/sipgo") && p.ImportPath != "callbox/pbx" && !strings.HasPrefix(p.ImportPath, "callbox/pbx/") {
				t.Errorf("%s imports %s: only callbox/pbx may use sipgo", p.ImportPath, imp)
			}
			// The domain types import none of the box's packages.
			if p.ImportPath == "callbox" && ours(imp) {
				t.Errorf("the domain package callbox imports %s", imp)
			}
			// Nothing reaches into the binary or the test harness from production code.
			if strings.HasPrefix(imp, "callbox/cmd/") {
				t.Errorf("%s imports %s", p.ImportPath, imp)
			}
		}
	}
	// The audio, IVR and queue logic must stay pure Go: cross-compiled and raced without a C
	// toolchain. Only hw may link C libraries (libusb, miniaudio).
	for _, root := range []string{"callbox/media", "callbox/ivr", "callbox/queue"} {
		p, ok := pkgs[root]
		if !ok {
			t.Errorf("package %s is missing", root)
			continue
		}
		for _, dep := range append([]string{root}, p.Deps...) {
			d := pkgs[dep]
			if !d.Standard && len(d.CgoFiles) > 0 {
				t.Errorf("%s pulls in cgo through %s", root, dep)
			}
		}
	}
}
