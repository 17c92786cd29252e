package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"callbox"
	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/destination"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/plan"
	"callbox/sync/reclink"
)

// syncService is the daemon's upstream sync: the outbox workers of every destination, the
// recording janitor, caller look-ups, the sync API and the signed recording links.
type syncService struct {
	d       *daemon
	m       *outbox.Manager
	look    *lookup.Service
	janitor *outbox.Janitor
	deps    adapter.Deps

	mu          sync.Mutex
	cfg         *config.Config // the configuration last applied
	fingerprint string         // of its sync section
}

// startSync builds the sync service from the running configuration, adds its API and links
// to the web server, and runs its parts in g. The daemon calls it after the web server is
// bound (links point at its address) and before it serves.
func (d *daemon) startSync(ctx context.Context, g *group) (*syncService, error) {
	cfg := d.cfg.Load()
	key, err := d.linkKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	base := cfg.Sync.Links.BaseURL
	if base == "" {
		base = "http://" + d.web.Addr().String()
	}
	links := reclink.New(key, base, cfg.Sync.Links.TTL, nil)
	s := &syncService{d: d, deps: adapter.Deps{Files: adapter.Files{DataDir: d.flags.data}, Links: links}}
	log := d.log.With("component", "sync")
	s.m, err = outbox.NewManager(outbox.Options{DB: d.db.SQL(), Log: log, Registerer: d.reg})
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	s.look, err = lookup.New(lookup.Options{DB: d.db.SQL(), Log: d.log.With("component", "lookup"), Registerer: d.reg})
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	s.janitor = s.m.NewJanitor(d.flags.data, cfg.Sync.Retention, 10*time.Minute)
	if err := s.apply(ctx, cfg); err != nil {
		return nil, err
	}
	d.web.HandleSync(s.m, links, recordingFiles{st: s.m.Store(), files: s.deps.Files})
	g.run("sync", s.m.Run)
	g.run("lookup", s.look.Run)
	g.run("recording janitor", s.janitor.Run)
	if n := len(cfg.Sync.Destinations); n > 0 {
		log.Info("upstream sync started", "destinations", n, "lookup", cfg.Sync.Lookup.From)
	}
	return s, nil
}

// apply puts a configuration into effect: new destinations (the workers restart and paused
// destinations resume), the look-up directory and the retention. A reload that leaves the
// sync section as it was only resumes paused destinations.
func (s *syncService) apply(ctx context.Context, cfg *config.Config) error {
	fp := syncFingerprint(cfg.Sync)
	s.mu.Lock()
	unchanged := s.cfg != nil && fp == s.fingerprint
	s.mu.Unlock()
	if unchanged {
		s.mu.Lock()
		s.cfg = cfg
		s.mu.Unlock()
		return s.m.Resume(ctx)
	}
	dests, err := destination.Build(cfg, s.deps)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := s.m.Configure(ctx, dests); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	dir, name, _ := destination.Directory(cfg, s.deps)
	l := cfg.Sync.Lookup
	s.look.Configure(dir, name, l.Deadline, l.Fresh, l.TTL)
	s.janitor.SetRetention(cfg.Sync.Retention)
	s.mu.Lock()
	old := s.cfg
	s.cfg, s.fingerprint = cfg, fp
	s.mu.Unlock()
	if old != nil && (old.Sync.Links.BaseURL != cfg.Sync.Links.BaseURL || old.Sync.Links.Secret.Value() != cfg.Sync.Links.Secret.Value()) {
		s.d.log.Warn("config reload: sync.recording_links changes only at restart")
	}
	return nil
}

// FinishCall writes a finished call with the outbox rows of every destination that takes it,
// in one transaction, and wakes the workers. The switchboard calls it when a call ends.
func (s *syncService) FinishCall(ctx context.Context, rec *callbox.Record) error {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	number := rec.From
	if rec.Direction == callbox.Outbound {
		number = rec.To
	}
	caller, _ := s.look.Cached(ctx, number)
	rows, err := plan.Rows(cfg, rec, caller)
	if err != nil {
		return err
	}
	if err := s.d.db.FinishCall(ctx, rec, rows); err != nil {
		return err
	}
	if len(rows) > 0 {
		s.m.Kick()
	}
	return nil
}

// Lookup tells the IVR and the queue who is calling (see lookup.Service.Lookup).
func (s *syncService) Lookup(ctx context.Context, number string) (lookup.Caller, lookup.Source) {
	return s.look.Lookup(ctx, number)
}

// linkKey is the key that signs recording links: the configured secret, or a random key kept
// in the data folder so links survive a restart.
func (d *daemon) linkKey(cfg *config.Config) ([]byte, error) {
	if cfg.Sync.Links.Secret.IsSet() {
		return []byte(cfg.Sync.Links.Secret.Value()), nil
	}
	path := filepath.Join(d.flags.data, "recording-links.key")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recording link key: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	key := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("recording link key: %w", err)
	}
	return []byte(key), nil
}

// recordingFiles finds recordings for their signed links.
type recordingFiles struct {
	st    *outbox.Store
	files adapter.Files
}

func (r recordingFiles) RecordingFile(ctx context.Context, id string) (string, error) {
	path, deleted, err := r.st.Recording(ctx, id)
	if err != nil {
		return "", err
	}
	if deleted {
		return "", callbox.Errorf(callbox.ENOTFOUND, "recording %s was removed after its retention", id)
	}
	return r.files.Path(path), nil
}

// syncFingerprint describes a sync section, secrets included (hashed) and file positions
// left out, so that a reload which changes nothing of it can leave the workers alone.
func syncFingerprint(sc config.Sync) string {
	var b strings.Builder
	markType, secretType := reflect.TypeFor[config.Mark](), reflect.TypeFor[config.Secret]()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Type() {
		case markType:
			return
		case secretType:
			sum := sha256.Sum256([]byte(v.Interface().(config.Secret).Value()))
			b.WriteString(hex.EncodeToString(sum[:8]))
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() {
					b.WriteString(f.Name + "=")
					walk(v.Field(i))
					b.WriteString(";")
				}
			}
		case reflect.Slice:
			b.WriteString("[")
			for i := range v.Len() {
				walk(v.Index(i))
				b.WriteString(",")
			}
			b.WriteString("]")
		case reflect.Map:
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				fmt.Fprintf(&b, "%v:", k.Interface())
				walk(v.MapIndex(k))
				b.WriteString(",")
			}
		default:
			fmt.Fprint(&b, v.Interface())
		}
	}
	walk(reflect.ValueOf(sc))
	return b.String()
}

// callRecords is where the switchboard writes finished calls: through the sync service, so
// the call and its upstream deliveries are one transaction. The sync service starts before
// the PBX takes calls.
type callRecords struct{ d *daemon }

func (c callRecords) FinishCall(ctx context.Context, rec *callbox.Record) error {
	return c.d.sync.FinishCall(ctx, rec)
}
