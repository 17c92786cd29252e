package ivr

import (
	"context"
	"testing"

	"callbox/config"
	"callbox/hw/sim"
)

// TestSpeakerRendersWholePrompts: a named prompt of recordings becomes one clip, in the
// language asked (falling back to the default); a part that cannot be played fails it.
func TestSpeakerRendersWholePrompts(t *testing.T) {
	h := newHarness(t, `ivr:
  language: en
  prompts:
    hello: [welcome, menu]
`)
	speak := h.svc.Speaker("")
	clip, err := speak(context.Background(), &config.Prompt{Parts: []config.PromptPart{{Name: "hello"}}})
	if err != nil {
		t.Fatal(err)
	}
	pcm := clip.Samples()
	if len(pcm) != 2*4800 {
		t.Fatalf("%d samples, want two 600 ms recordings", len(pcm))
	}
	if sim.ToneShare(pcm[:4800], promptTones["welcome"]) < 0.6 || sim.ToneShare(pcm[4800:], promptTones["menu"]) < 0.6 {
		t.Error("the parts are not the recordings, in order")
	}
	zh, err := h.svc.Speaker("zh")(context.Background(), &config.Prompt{Parts: []config.PromptPart{{Name: "menu"}}})
	if err != nil || sim.ToneShare(zh.Samples(), promptTones["menu-zh"]) < 0.6 {
		t.Errorf("the Mandarin recording was not chosen: %v", err)
	}
	if _, err := speak(context.Background(), &config.Prompt{Parts: []config.PromptPart{{Name: "welcome"}, {Name: "missing"}}}); err == nil {
		t.Error("a missing recording did not fail the prompt")
	}
	if h.svc.MediaClock() == nil {
		t.Error("no media clock")
	}
}
