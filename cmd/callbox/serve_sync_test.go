package main

import (
	"testing"

	"callbox/config"
)

func TestSyncFingerprintIgnoresPositionsButNotSecrets(t *testing.T) {
	parse := func(yaml string) *config.Config {
		t.Helper()
		c, err := config.Parse("t.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const head = "sip:\n  listen: [udp://127.0.0.1:5060]\n"
	hook := func(secret string) string {
		return "sync:\n  destinations:\n    - name: hook\n      kind: webhook\n      url: https://x.example\n      secret: " + secret + "\n"
	}
	a := parse(head + hook(e2eSecret))
	moved := parse("# a comment that moves every line\n" + head + hook(e2eSecret))
	other := parse(head + hook("whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludDEy"))
	if syncFingerprint(a.Sync) != syncFingerprint(moved.Sync) {
		t.Error("moving lines changed the fingerprint")
	}
	if syncFingerprint(a.Sync) == syncFingerprint(other.Sync) {
		t.Error("a new secret did not change the fingerprint")
	}
}
