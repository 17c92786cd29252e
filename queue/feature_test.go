package queue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestFeatureCodesMatch(t *testing.T) {
	fc := DefaultFeatureCodes()
	custom := FeatureCodes{Login: "#1", Pause: "#2", Listen: "#5", Whisper: "#55", Barge: "#6"}
	tests := []struct {
		codes  FeatureCodes
		dial   string
		want   Feature
		target string
		ok     bool
	}{
		{fc, "*45", FeatureLogin, "", true},
		{fc, "*46", FeaturePause, "", true},
		{fc, "*311001", FeatureListen, "1001", true},
		{fc, "*321001", FeatureWhisper, "1001", true},
		{fc, "*331002", FeatureBarge, "1002", true},
		{fc, "*31", "", "", false},                        // no extension
		{fc, "*4512", "", "", false},                      // login takes nothing after it
		{fc, "*31abc", "", "", false},                     // not digits
		{fc, "1001", "", "", false},                       // an extension
		{fc, "", "", "", false},                           //
		{custom, "#551001", FeatureWhisper, "1001", true}, // the longest code wins
		{custom, "#51001", FeatureListen, "1001", true},
		{custom, "#1", FeatureLogin, "", true},
	}
	for _, tt := range tests {
		f, target, ok := tt.codes.Match(tt.dial)
		if f != tt.want || target != tt.target || ok != tt.ok {
			t.Errorf("%q: %q %q %v, want %q %q %v", tt.dial, f, target, ok, tt.want, tt.target, tt.ok)
		}
	}
	if !FeatureBarge.Supervising() || FeaturePause.Supervising() {
		t.Error("Supervising is wrong")
	}
}

func TestEventJSON(t *testing.T) {
	ev := Event{At: start, Kind: "offer", Call: "c1", Action: Offer{Call: "c1", Queue: "support", Agent: "1001",
		Timeout: 15 * time.Second, Endpoints: []Endpoint{{Kind: "mobile", Target: "+4917", After: 8 * time.Second, Confirm: "1"}}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"offer"`, `"call_id":"c1"`, `"timeout_ms":15000`, `"agent":"1001"`,
		`"endpoints":[{"kind":"mobile","target":"+4917","after_ms":8000,"confirm":"1"}]`, `"caller":{"number":""}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
