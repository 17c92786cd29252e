// Package web serves the box's local HTTP API, its status page and its Prometheus metrics,
// on a TCP address (admin login required, but for /healthz and /metrics) and on a Unix socket
// for the CLI (protected by file permissions).
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"callbox"
	"callbox/config"
	"callbox/store"
)

// CallStore is where the API reads call records.
type CallStore interface {
	ListCalls(ctx context.Context, f store.CallFilter) ([]callbox.Record, error)
	Call(ctx context.Context, id string) (*callbox.Record, error)
}

// Options are what a Server is built from.
type Options struct {
	Log      *slog.Logger
	Status   func(ctx context.Context) Status
	Calls    CallStore
	Gatherer prometheus.Gatherer
	// AdminHash is the admin password hash that guards the TCP API and the page.
	AdminHash config.PasswordHash
	// Reload reloads the configuration (POST /api/v1/reload), as SIGHUP does.
	Reload func(ctx context.Context) error
	Now    func() time.Time
}

// Server is the HTTP side of the box.
type Server struct {
	opts  Options
	auth  *authenticator
	api   *http.ServeMux // routes that need an admin on TCP
	tcp   net.Listener
	unix  net.Listener
	sock  string
	ready chan struct{}

	// public routes carry their own proof (a signed link) and need no login.
	public []publicRoute
}

// New makes a server; routes can be added with HandleAPI before Serve.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, auth: newAuthenticator(o.AdminHash, o.Now), api: http.NewServeMux(), ready: make(chan struct{})}
	s.api.HandleFunc("GET /api/v1/status", s.handleStatus)
	s.api.HandleFunc("GET /api/v1/calls", s.handleCalls)
	s.api.HandleFunc("GET /api/v1/calls/{id}", s.handleCall)
	s.api.HandleFunc("POST /api/v1/reload", s.handleReload)
	s.api.HandleFunc("GET /{$}", s.handlePage)
	s.api.HandleFunc("GET /status.js", s.handleStatusScript)
	s.api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// HandleAPI adds a route that needs an admin on TCP and is open on the socket.
func (s *Server) HandleAPI(pattern string, h http.HandlerFunc) { s.api.HandleFunc(pattern, h) }

type publicRoute struct {
	pattern string
	h       http.HandlerFunc
}

// HandlePublic adds a route that needs no login on TCP because each request carries its own
// proof, such as a signed link. Call it before Serve.
func (s *Server) HandlePublic(pattern string, h http.HandlerFunc) {
	s.public = append(s.public, publicRoute{pattern, h})
}

// SetAdminHash replaces the admin password after a config reload.
func (s *Server) SetAdminHash(h config.PasswordHash) { s.auth.setHash(h) }

// Listen binds the TCP address and the Unix socket, so a port already taken fails the start
// instead of a background goroutine.
func (s *Server) Listen(tcpAddr, socketPath string) error {
	l, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		return fmt.Errorf("web listen %s: %w", tcpAddr, err)
	}
	u, err := listenSocket(socketPath)
	if err != nil {
		l.Close()
		return err
	}
	s.tcp, s.unix, s.sock = l, u, socketPath
	return nil
}

// Addr is the TCP address the server listens on.
func (s *Server) Addr() net.Addr { return s.tcp.Addr() }

// listenSocket binds a Unix socket readable and writable by owner and group only, and hands
// it to the group "callbox" when that group exists. A stale socket left by a crash is
// replaced; one that still answers means another daemon runs.
func listenSocket(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s: another callbox daemon is already running", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("socket listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if g, err := user.LookupGroup("callbox"); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil {
			// Only root or a member of the group can do this; otherwise the socket stays
			// with the daemon's own group, which is still 0660.
			_ = os.Chown(path, -1, gid)
		}
	}
	return l, nil
}

func (s *Server) handler(requireAdmin bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.opts.Log}}))
	for _, r := range s.public {
		mux.HandleFunc(r.pattern, r.h)
	}
	if requireAdmin {
		mux.HandleFunc("GET /login", s.handleLoginPage)
		mux.HandleFunc("POST /login", s.handleLogin)
		mux.HandleFunc("POST /logout", s.handleLogout)
		mux.Handle("/api/", s.auth.require(s.api, false))
		mux.Handle("/", s.auth.require(s.api, true))
	} else {
		mux.Handle("/", s.api)
		// Profiles only on the socket: they reveal internals and cost CPU, so only someone
		// with the socket's file permissions may ask.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return securityHeaders(mux)
}

// Serve answers requests until ctx ends, then lets requests in flight finish (up to 5 s).
func (s *Server) Serve(ctx context.Context) error {
	servers := []*http.Server{
		{Handler: s.handler(true), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil},
		{Handler: s.handler(false), ReadHeaderTimeout: 10 * time.Second},
	}
	listeners := []net.Listener{s.tcp, s.unix}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if err := srv.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("web serve %s: %w", listeners[i].Addr(), err)
				return
			}
			errc <- nil
		}()
	}
	close(s.ready)
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutdownCtx)
	}
	for range len(servers) - 1 {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	os.Remove(s.sock)
	return first
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Status(r.Context()))
}

func (s *Server) handleCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.CallFilter{Limit: 50, Number: q.Get("number"), Result: q.Get("result"), Flag: q.Get("flag")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 10000")
			return
		}
		f.Limit = n
	}
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "before must be an RFC 3339 time, e.g. 2026-11-23T09:00:00Z")
			return
		}
		f.Before = t
	}
	calls, err := s.opts.Calls.ListCalls(r.Context(), f)
	writeList(s, w, r, calls, err)
}

func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	c, err := s.opts.Calls.Call(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		writeError(w, http.StatusNotImplemented, "reload is not available")
		return
	}
	if err := s.opts.Reload(r.Context()); err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the new configuration is invalid; the old one stays", "problems": problemStrings(ps)})
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

func problemStrings(ps config.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// fail answers with the status that matches err's code; internal details stay in the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := callbox.ErrorCode(err)
	status := map[string]int{
		callbox.EINVALID: http.StatusBadRequest, callbox.ENOTFOUND: http.StatusNotFound,
		callbox.ECONFLICT: http.StatusConflict, callbox.EUNAVAILABLE: http.StatusServiceUnavailable,
		callbox.EUNAUTHORIZED: http.StatusUnauthorized,
	}[code]
	if status == 0 {
		status = http.StatusInternalServerError
		s.opts.Log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, callbox.ErrorMessage(err))
}

// APIError is the body of every API error answer.
type APIError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, APIError{Error: msg})
}

// writeList answers a list, or the error that kept it: [] rather than null when the list is
// empty, so scripts can always iterate.
func writeList[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, items)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// slogPrinter lets promhttp report through slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics", "err", fmt.Sprint(v...)) }
