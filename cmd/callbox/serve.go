package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/media/record"
	"callbox/pbx"
	"callbox/queue"
	"callbox/store"
	"callbox/switchboard"
	"callbox/web"
)

type serveFlags struct {
	config    string
	data      string
	logFormat string
	socket    string
}

func newServeCmd(c *cli) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon (on the built-in demo configuration without --config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), c, f)
		},
	}
	cmd.Flags().StringVar(&f.config, "config", "", "configuration file (default: the built-in demo)")
	cmd.Flags().StringVar(&f.data, "data", "", "data folder: database, recordings, voicemail (default ./callbox-data for the demo, /var/lib/callbox otherwise)")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	cmd.Flags().StringVar(&f.socket, "socket", "", "API socket for the CLI (default DATA/callbox.sock)")
	return cmd
}

// daemon is `callbox serve`: it owns every component and wires them together.
type daemon struct {
	cli     *cli
	flags   serveFlags
	log     *slog.Logger
	level   *slog.LevelVar
	cfg     atomic.Pointer[config.Config]
	started time.Time

	reg      *prometheus.Registry
	reloads  *prometheus.CounterVec
	reloadOK prometheus.Gauge

	db       *store.DB
	web      *web.Server
	pbx      *pbx.PBX
	sb       *switchboard.Switchboard
	queues   *queue.Service
	sync     *syncService
	ivr      *ivr.Service
	draining atomic.Bool
}

func serve(ctx context.Context, c *cli, f serveFlags) error {
	if f.logFormat != "text" && f.logFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", f.logFormat)
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintln(c.stderr, p)
			}
			return fmt.Errorf("refusing to start: %s has %d problem(s)", f.config, len(ps))
		}
		return err
	}
	if f.data == "" {
		f.data = "/var/lib/callbox"
		if cfg.Demo {
			f.data = demoDataDir
		}
	}
	if f.socket == "" {
		f.socket = filepath.Join(f.data, socketName)
	}
	// What the IVR needs of the machine (espeak-ng, recorded prompts) is checked like the file.
	if ps := ivrProblems(ctx, cfg, f.data); len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("refusing to start: %s has %d problem(s)", cfg.File, len(ps))
	}
	d := &daemon{cli: c, flags: f, level: new(slog.LevelVar), started: time.Now()}
	d.log = newLogger(c.stderr, f.logFormat, d.level)
	d.cfg.Store(cfg)
	d.level.Set(logLevel(cfg.Log.Level))
	return d.run(ctx)
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Demo(), nil
	}
	return config.Load(path)
}

func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s))
	return l
}

func (d *daemon) run(parent context.Context) error {
	cfg := d.cfg.Load()
	if err := os.MkdirAll(d.flags.data, 0o750); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	d.setupMetrics()

	db, err := store.Open(parent, filepath.Join(d.flags.data, "callbox.db"))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	d.db = db
	defer func() {
		if err := db.Close(); err != nil {
			d.log.Error("close database", "err", err)
		}
	}()

	recorder := &switchboard.FileRecorder{DataDir: d.flags.data, Format: record.Format(cfg.Recording.Format), Buffer: cfg.Recording.Buffer,
		Metrics: record.NewMetrics(d.reg), Log: d.log.With("component", "recording")}
	// Files a crash left half-written are made playable before anything records.
	repaired, err := record.RepairAll(recorder.Dir())
	if err != nil {
		d.log.Error("repairing recordings", "err", err)
	}
	for _, f := range repaired {
		d.log.Warn("repaired a recording left half-written by a crash (its call has no record)", "file", f)
	}
	d.ivr, err = newIVR(cfg, d.flags.data, db, d.reg, d.log.With("component", "ivr"), ivrClock(d.log))
	if err != nil {
		return err
	}
	if err := d.ivr.Seed(parent); err != nil {
		return err
	}
	d.sb = switchboard.New(switchboard.Options{Config: cfg, Log: d.log.With("component", "switchboard"), Store: callRecords{d}, Registry: d.reg, Recorder: recorder,
		IVR: d.ivr, DataDir: d.flags.data, Callers: queueCallers{d}})
	d.pbx, err = pbx.New(pbx.Options{Config: cfg, Log: d.log.With("component", "pbx"), Registry: d.reg, Calls: pbxCalls{d.sb}})
	if err != nil {
		return err
	}
	d.sb.SetDialer(pbxDialer{d.pbx})

	adminHash, adminPassword, err := d.adminHash(cfg)
	if err != nil {
		return err
	}
	d.web = web.New(web.Options{
		Log: d.log.With("component", "web"), Status: d.status, Calls: db, Gatherer: d.reg,
		AdminHash: adminHash, Reload: d.reload,
	})
	// The queues decide; the switchboard rings, bridges and plays as they decide.
	d.queues, err = newQueueService(cfg, db, d.reg, d.log.With("component", "queue"), d.sb.QueueConnector())
	if err != nil {
		return err
	}
	d.sb.SetQueues(d.queues)
	d.web.HandleQueues(d.queues, d.sb)
	d.web.HandleIVR(d.ivr)
	d.sipAPI()
	if err := d.web.Listen(cfg.Web.Listen, d.flags.socket); err != nil {
		return err
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(signals)

	g := newGroup(context.WithoutCancel(parent))
	d.sync, err = d.startSync(parent, g)
	if err != nil {
		g.stop()
		return err
	}
	g.run("queues", d.queues.Run)
	g.run("ivr", d.ivr.Run)
	g.run("web", d.web.Serve)
	g.run("sip", d.pbx.Run)

	d.banner(cfg, adminPassword)
	d.log.Info("callbox started", "version", callbox.Version, "config", cfg.File, "data", d.flags.data,
		"sip", d.pbx.Listeners(), "web", d.web.Addr().String(), "socket", d.flags.socket)

	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				d.reload(parent) // it logs what it did or why it refused
				continue
			}
			d.log.Info("shutting down", "signal", sig.String())
			return d.shutdown(g)
		case <-parent.Done():
			d.log.Info("shutting down", "reason", context.Cause(parent))
			return d.shutdown(g)
		case <-g.done():
			err := g.stop()
			d.log.Error("a component failed; stopping", "err", err)
			return err
		}
	}
}

// shutdown stops taking new calls, lets calls in progress finish within the grace period,
// ends the rest with their records written, then stops every component in reverse order.
func (d *daemon) shutdown(g *group) error {
	d.draining.Store(true)
	d.pbx.Drain()
	d.sb.Drain(context.Background(), d.cfg.Load().Calls.ShutdownGrace)
	err := g.stop()
	if err != nil {
		d.log.Error("stopped with an error", "err", err)
		return err
	}
	d.log.Info("stopped")
	return nil
}

// reload reads the config file again and applies it; an invalid file changes nothing.
func (d *daemon) reload(ctx context.Context) error {
	old := d.cfg.Load()
	if old.Demo {
		d.reloads.WithLabelValues("unchanged").Inc()
		d.log.Info("config reload: the built-in demo configuration does not change")
		return nil
	}
	cfg, err := config.Load(d.flags.config)
	if err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.reloadOK.Set(0)
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				d.log.Error("config problem", "problem", p.String())
			}
			d.log.Error("config reload refused; keeping the running configuration", "problems", len(ps))
		} else {
			d.log.Error("config reload refused; keeping the running configuration", "err", err)
		}
		return err
	}
	if ps := ivrProblems(ctx, cfg, d.flags.data); len(ps) > 0 {
		d.reloads.WithLabelValues("failure").Inc()
		d.reloadOK.Set(0)
		for _, p := range ps {
			d.log.Error("config problem", "problem", p.String())
		}
		d.log.Error("config reload refused; keeping the running configuration", "problems", len(ps))
		return ps
	}
	if cfg.Web.Listen != old.Web.Listen {
		d.log.Warn("config reload: web.listen changes only at restart", "running", old.Web.Listen, "file", cfg.Web.Listen)
	}
	if cfg.Web.AdminPasswordHash.IsSet() {
		h, _ := config.ParsePasswordHash(cfg.Web.AdminPasswordHash.Value())
		d.web.SetAdminHash(h)
	}
	if err := d.queues.Reconfigure(ctx, queueConfig(cfg), queueFeatures(cfg)); err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.reloadOK.Set(0)
		d.log.Error("config reload refused: the queues cannot take it; keeping the running configuration", "err", err)
		return err
	}
	if err := d.sync.apply(ctx, cfg); err != nil {
		d.reloads.WithLabelValues("failure").Inc()
		d.reloadOK.Set(0)
		d.log.Error("config reload refused: the sync destinations cannot take it; keeping the running configuration", "err", err)
		return err
	}
	d.level.Set(logLevel(cfg.Log.Level))
	d.cfg.Store(cfg)
	d.pbx.Reload(cfg)
	d.sb.Reload(cfg)
	if err := d.ivr.Reload(ctx, cfg); err != nil {
		d.log.Error("the IVR took the new configuration only in part", "err", err)
	}
	d.reloads.WithLabelValues("success").Inc()
	d.reloadOK.Set(1)
	d.log.Info("config reloaded", "config", cfg.File)
	return nil
}

// adminHash returns the admin password hash from the config or, when it has none, from the
// password kept in the data folder (made at the first start). The password itself is
// returned only when it came from the data folder, for the demo's banner.
func (d *daemon) adminHash(cfg *config.Config) (config.PasswordHash, string, error) {
	if cfg.Web.AdminPasswordHash.IsSet() {
		h, err := config.ParsePasswordHash(cfg.Web.AdminPasswordHash.Value())
		return h, "", err
	}
	path := filepath.Join(d.flags.data, "admin-password")
	b, err := os.ReadFile(path)
	password := strings.TrimSpace(string(b))
	if errors.Is(err, os.ErrNotExist) || password == "" {
		raw := make([]byte, 10)
		rand.Read(raw)
		password = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
		if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
			return config.PasswordHash{}, "", fmt.Errorf("admin password: %w", err)
		}
		d.log.Info("made an admin password for the web page; it is kept in the data folder", "file", path)
	} else if err != nil {
		return config.PasswordHash{}, "", fmt.Errorf("admin password: %w", err)
	}
	hash, err := config.HashPassword(password)
	if err != nil {
		return config.PasswordHash{}, "", err
	}
	h, err := config.ParsePasswordHash(hash)
	return h, password, err
}

func (d *daemon) setupMetrics() {
	d.reg = prometheus.NewRegistry()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_build_info", Help: "The running callbox's version, always 1."}, []string{"version"})
	build.WithLabelValues(callbox.Version).Set(1)
	d.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_config_reloads_total", Help: "Configuration reloads by result."}, []string{"result"})
	d.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "callbox_config_last_reload_successful", Help: "1 when the last configuration reload succeeded (or none happened), 0 when it was refused."})
	d.reloadOK.Set(1)
	start := prometheus.NewGauge(prometheus.GaugeOpts{Name: "callbox_start_time_seconds", Help: "When the daemon started, in Unix seconds."})
	start.Set(float64(d.started.Unix()))
	d.reg.MustRegister(build, d.reloads, d.reloadOK, start)
}

func (d *daemon) status(ctx context.Context) web.Status {
	cfg := d.cfg.Load()
	s := web.Status{
		Version: callbox.Version, Box: cfg.Box.Name, Started: d.started, Config: cfg.File, Demo: cfg.Demo,
		UptimeSec: int64(time.Since(d.started) / time.Second), Draining: d.draining.Load(),
		SIP: d.pbx.Listeners(), Web: "http://" + d.web.Addr().String(),
		Trunks: []web.TrunkStatus{}, Queues: []web.QueueStatus{},
		Extensions: web.ExtensionCounts{Total: len(cfg.Extensions), Registered: d.pbx.Registered()},
	}
	for _, t := range d.pbx.Trunks() {
		s.Trunks = append(s.Trunks, web.TrunkStatus{Name: t.Name, Kind: t.Kind, State: t.State})
	}
	if qs, agents, err := queueStatus(ctx, d.queues); err == nil {
		s.Queues, s.Agents = qs, agents
	}
	for dir, n := range d.sb.Active() {
		s.Calls.Active += n
		switch dir {
		case callbox.Inbound:
			s.Calls.Inbound = n
		case callbox.Outbound:
			s.Calls.Outbound = n
		case callbox.Internal:
			s.Calls.Internal = n
		}
	}
	return s
}

// banner tells a newcomer what is running and how to use it.
func (d *daemon) banner(cfg *config.Config, adminPassword string) {
	w := d.cli.stdout
	if !cfg.Demo {
		fmt.Fprintf(w, "callbox %s serving %s (status page http://%s, socket %s)\n", callbox.Version, cfg.File, d.web.Addr(), d.flags.socket)
		return
	}
	fmt.Fprintf(w, "\ncallbox %s is running the built-in demo configuration.\n\n", callbox.Version)
	t := newTable(w)
	t.row("  SIP", strings.Join(d.pbx.Listeners(), ", "))
	sipHost := "127.0.0.1:5060"
	if len(cfg.SIP.Listeners) > 0 {
		sipHost = cfg.SIP.Listeners[0].Addr.String()
	}
	for i, e := range cfg.Extensions {
		label := " "
		if i == 0 {
			label = "  Phones"
		}
		t.row(label, fmt.Sprintf("extension %s (%s): user %s, password %s, server %s", e.Number, e.Name, e.Number, e.Password.Value(), sipHost))
	}
	for _, in := range cfg.Inbound {
		what := in.Dest.String()
		if g, ok := cfg.Group(in.Dest.Name); ok && in.Dest.Kind == "group" {
			what = "rings " + strings.Join(g.Extensions, " and ")
		}
		if in.Dest.Kind == "flow" {
			what = "the IVR flow " + in.Dest.Name + " (callbox ivr show " + in.Dest.Name + ")"
		}
		t.row("  Hotline", fmt.Sprintf("call %s at %s from this machine, no login needed: %s", in.Number, sipHost, what))
	}
	t.row("  Status page", fmt.Sprintf("http://%s  (user admin, password %s)", d.web.Addr(), adminPassword))
	t.row("  CLI", fmt.Sprintf("callbox status, callbox calls  (socket %s)", d.flags.socket))
	t.row("  Data", d.flags.data)
	t.flush()
	fmt.Fprintln(w, "\nStop with Ctrl-C.")
}
