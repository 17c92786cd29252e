// Package destination builds the outbox's destinations and the caller look-up directory from
// the configuration: one adapter per configured destination, by kind.
package destination

import (
	"time"

	"fmt"

	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/freshdesk"
	"callbox/sync/lookup"
	"callbox/sync/osticket"
	"callbox/sync/outbox"
	"callbox/sync/rt"
	"callbox/sync/webhook"
	"callbox/sync/zammad"
	"callbox/sync/zendesk"
)

// adapterOf makes the adapter of one destination.
func adapterOf(d config.SyncDestination, deps adapter.Deps) (outbox.Deliverer, error) {
	switch d.Kind {
	case config.KindWebhook:
		secrets := []string{d.Secret.Value()}
		if d.PreviousSecret.IsSet() {
			secrets = append(secrets, d.PreviousSecret.Value())
		}
		return webhook.New(webhook.Options{URL: d.URL, Secrets: secrets, Recording: d.Recording, Links: deps.Links,
			Files: deps.Files, Timeout: d.Timeout, Now: deps.Now})
	case config.KindZendesk:
		return zendesk.New(d, deps), nil
	case config.KindFreshdesk:
		return freshdesk.New(d, deps), nil
	case config.KindZammad:
		return zammad.New(d, deps), nil
	case config.KindRT:
		return rt.New(d, deps), nil
	case config.KindOSTicket:
		return osticket.New(d, deps), nil
	}
	return nil, fmt.Errorf("sync destination %s: unknown kind %q", d.Name, d.Kind)
}

// Build makes every destination of cfg for the outbox.
func Build(cfg *config.Config, deps adapter.Deps) ([]outbox.Destination, error) {
	var out []outbox.Destination
	for _, d := range cfg.Sync.Destinations {
		dl, err := adapterOf(d, deps)
		if err != nil {
			return nil, err
		}
		out = append(out, outbox.Destination{
			Name: d.Name, Kind: d.Kind, Deliverer: dl, Concurrency: d.Concurrency, MaxBackoff: d.MaxBackoff,
			// Longer than any attempt: a timed-out request plus the follow-up requests of a step.
			Lease: 3*d.Timeout + 30*time.Second,
		})
	}
	return out, nil
}

// Directory is the helpdesk that answers caller look-ups (sync.lookup.from); ok is false when
// look-ups are off.
func Directory(cfg *config.Config, deps adapter.Deps) (dir lookup.Directory, name string, ok bool) {
	d, found := cfg.Sync.Destination(cfg.Sync.Lookup.From)
	if cfg.Sync.Lookup.From == "" || !found {
		return nil, "", false
	}
	switch d.Kind {
	case config.KindZendesk:
		return zendesk.New(d, deps), d.Name, true
	case config.KindFreshdesk:
		return freshdesk.New(d, deps), d.Name, true
	case config.KindZammad:
		return zammad.New(d, deps), d.Name, true
	case config.KindRT:
		return rt.New(d, deps), d.Name, true
	}
	return nil, "", false
}
