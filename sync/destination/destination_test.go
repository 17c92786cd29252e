package destination_test

import (
	"testing"

	"callbox/sync/adapter"
	"callbox/sync/destination"
	"callbox/sync/internal/fixture"
)

func TestBuildEveryKind(t *testing.T) {
	cfg := fixture.Config(t, `sync:
  lookup:
    from: zm
  destinations:
    - {name: hook, kind: webhook, url: "https://x.example", secret: "`+fixture.Secret+`", previous_secret: "`+fixture.Secret+`", timeout: 5s}
    - {name: zd, kind: zendesk, url: "https://acme.zendesk.com", user: a@acme.example, token: t}
    - {name: fd, kind: freshdesk, url: "https://acme.freshdesk.com", token: t, concurrency: 2}
    - {name: zm, kind: zammad, url: "https://zammad.example", token: t, group: Users}
    - {name: rt, kind: rt, url: "https://rt.example", token: t, queue: General}
    - {name: ost, kind: osticket, url: "https://help.example", token: t, email: "c-{number}@example.com"}
`)
	dests, err := destination.Build(cfg, adapter.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dests) != 6 || dests[0].Name != "hook" || dests[2].Concurrency != 2 || dests[0].Lease <= 3*5e9 {
		t.Fatalf("destinations: %+v", dests)
	}
	for _, d := range dests {
		if d.Deliverer == nil || d.Kind == "" {
			t.Errorf("%s has no adapter", d.Name)
		}
	}
	if dir, name, ok := destination.Directory(cfg, adapter.Deps{}); !ok || name != "zm" || dir == nil {
		t.Fatalf("directory: %v %s %v", dir, name, ok)
	}
	cfg.Sync.Lookup.From = ""
	if _, _, ok := destination.Directory(cfg, adapter.Deps{}); ok {
		t.Fatal("look-ups are off without lookup.from")
	}
}
