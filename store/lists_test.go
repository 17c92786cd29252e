package store

import (
	"context"
	"testing"
	"time"

	"callbox"
)

func TestCallerLists(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	until := now.AddDate(0, 1, 0)
	// The CLI adds a number; the same number on the same list again replaces the entry.
	for _, e := range []ListEntry{
		{List: "blacklist", Number: "+12125550199", Note: "spam", Source: "cli", Created: now},
		{List: "blacklist", Number: "+12125550199", Note: "spam calls", Until: until, Source: "cli", Created: now},
		{List: "vip", Number: "+12125550188", Level: 7, Source: "cli", Created: now},
		{List: "warning", Number: "+12125550188", Note: "slow payer", Source: "cli", Created: now},
	} {
		if err := d.AddListEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	bl, err := d.ListEntries(ctx, "blacklist")
	if err != nil || len(bl) != 1 || bl[0].Note != "spam calls" || !bl[0].Until.Equal(until) || bl[0].Source != "cli" {
		t.Fatalf("blacklist %+v %v", bl, err)
	}
	if err := d.ListHit(ctx, "blacklist", "+12125550199", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	es, _ := d.NumberEntries(ctx, "+12125550188")
	if len(es) != 2 || es[0].List != "vip" || es[0].Level != 7 || es[1].List != "warning" || !es[0].Until.IsZero() {
		t.Fatalf("entries of +12125550188: %+v", es)
	}
	// Seeding from the configuration: its entries replace the last seed's, a CLI entry of the
	// same list and number becomes the file's, and the hits stay.
	if err := d.SeedLists(ctx, []ListEntry{{List: "blacklist", Number: "+12125550199", Note: "from the file", Created: now},
		{List: "blacklist", Number: "+12125550111", Created: now}}); err != nil {
		t.Fatal(err)
	}
	if err := d.SeedLists(ctx, []ListEntry{{List: "blacklist", Number: "+12125550199", Note: "from the file", Created: now}}); err != nil {
		t.Fatal(err)
	}
	bl, _ = d.ListEntries(ctx, "blacklist")
	if len(bl) != 1 || bl[0].Source != "config" || bl[0].Note != "from the file" || bl[0].Hits != 1 || !bl[0].LastHit.Equal(now.Add(time.Hour)) || !bl[0].Until.IsZero() {
		t.Fatalf("after seeding: %+v", bl)
	}
	if vip, _ := d.ListEntries(ctx, "vip"); len(vip) != 1 {
		t.Fatalf("seeding removed a CLI entry: %+v", vip)
	}
	removed, err := d.RemoveListEntry(ctx, "vip", "+12125550188")
	if err != nil || removed.Level != 7 {
		t.Fatalf("remove: %+v %v", removed, err)
	}
	if _, err := d.RemoveListEntry(ctx, "vip", "+12125550188"); callbox.ErrorCode(err) != callbox.ENOTFOUND {
		t.Fatalf("removing again: %v", err)
	}
	if err := d.AddListEntry(ctx, ListEntry{List: "friends", Number: "+1", Source: "cli", Created: now}); err == nil {
		t.Fatal("a list that does not exist was accepted")
	}
}

func TestHoursOverrides(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	now := time.Now()
	for _, set := range [][2]string{{"*", "closed"}, {"office", "open"}, {"office", "closed"}, {"*", ""}} {
		if err := d.SetHoursOverride(ctx, set[0], set[1], now); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.HoursOverrides(ctx)
	if err != nil || len(got) != 1 || got["office"] != "closed" {
		t.Fatalf("overrides %v %v", got, err)
	}
	if err := d.SetHoursOverride(ctx, "office", "ajar", now); err == nil {
		t.Fatal("a mode that does not exist was accepted")
	}
}
