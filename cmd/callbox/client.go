package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"callbox/web"
)

const (
	installedSocket = "/run/callbox/callbox.sock"
	demoDataDir     = "callbox-data"
	socketName      = "callbox.sock"
)

// socketPath finds the daemon's socket: the flag, then $CALLBOX_SOCKET, then the installed
// path if it exists, then the demo's data folder.
func (c *cli) socketPath() string {
	if c.socket != "" {
		return c.socket
	}
	if s := os.Getenv("CALLBOX_SOCKET"); s != "" {
		return s
	}
	if _, err := os.Stat(installedSocket); err == nil {
		return installedSocket
	}
	return filepath.Join(demoDataDir, socketName)
}

// apiClient speaks HTTP+JSON to the daemon over its Unix socket.
type apiClient struct {
	socket string
	http   *http.Client
}

func (c *cli) client() *apiClient {
	sock := c.socketPath()
	return &apiClient{socket: sock, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}}
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (a *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://callbox"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("the callbox daemon is not running (nothing answers on %s); start it with `callbox serve` or `systemctl start callbox`", a.socket)
		}
		if errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("no permission to use %s: run as root or as a member of the group callbox", a.socket)
		}
		return fmt.Errorf("reach the daemon on %s: %w", a.socket, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("read the daemon's answer: %w", err)
	}
	if res.StatusCode >= 300 {
		return apiError(res.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the daemon's answer to %s is not what this callbox expects: %w", path, err)
	}
	return nil
}

// apiError turns an error answer into a message; a list of problems is kept whole.
func apiError(status int, body []byte) error {
	var e struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return fmt.Errorf("the daemon answered %d %s", status, http.StatusText(status))
	}
	msg := e.Error
	for _, p := range e.Problems {
		msg += "\n  " + p
	}
	return errors.New(msg)
}

func (a *apiClient) status(ctx context.Context) (web.Status, error) {
	var s web.Status
	err := a.do(ctx, http.MethodGet, "/api/v1/status", nil, &s)
	return s, err
}
