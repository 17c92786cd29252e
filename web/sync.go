package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"callbox"
	"callbox/sync/outbox"
	"callbox/sync/reclink"
)

// SyncOps are the upstream sync's operations, for `callbox sync …`.
type SyncOps interface {
	Status(ctx context.Context) ([]outbox.DestinationStatus, error)
	Retry(ctx context.Context, r outbox.RetryRequest) (outbox.RetryResult, error)
	Replay(ctx context.Context, r outbox.ReplayRequest) (outbox.ReplayResult, error)
}

// RecordingFiles finds the file of a recording for its signed link; a recording removed after
// its retention is ENOTFOUND.
type RecordingFiles interface {
	RecordingFile(ctx context.Context, id string) (path string, err error)
}

// HandleSync adds the sync API (admin only on TCP) and, with links and files, the public
// endpoint of signed recording links. Call it before Serve.
//
//	GET  /api/v1/sync/status            → [DestinationStatus]
//	POST /api/v1/sync/retry  {id|dead}  → RetryResult
//	POST /api/v1/sync/replay {since}    → ReplayResult
//	GET  /sync/recordings/{id}?expires=&sig=  → audio/wav (no login: the link is the proof)
func (s *Server) HandleSync(ops SyncOps, links *reclink.Signer, files RecordingFiles) {
	s.HandleAPI("GET /api/v1/sync/status", func(w http.ResponseWriter, r *http.Request) {
		sts, err := ops.Status(r.Context())
		writeList(s, w, r, sts, err)
	})
	s.HandleAPI("POST /api/v1/sync/retry", func(w http.ResponseWriter, r *http.Request) {
		var req outbox.RetryRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.ID != "" && req.Dead {
			writeError(w, http.StatusBadRequest, "retry one row (id) or every dead letter (dead), not both")
			return
		}
		res, err := ops.Retry(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	s.HandleAPI("POST /api/v1/sync/replay", func(w http.ResponseWriter, r *http.Request) {
		var req outbox.ReplayRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Since.IsZero() {
			writeError(w, http.StatusBadRequest, "since is required: an RFC 3339 time, e.g. 2026-11-23T09:00:00Z")
			return
		}
		if req.Since.After(time.Now()) {
			writeError(w, http.StatusBadRequest, "since is in the future")
			return
		}
		res, err := ops.Replay(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	if links != nil && files != nil {
		s.HandlePublic("GET "+reclink.Path+"{id}", s.recordingHandler(links, files))
	}
}

// readJSON decodes a request body into v, answering 400 itself when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

// recordingHandler serves a recording to whoever holds a valid, unexpired signed link.
func (s *Server) recordingHandler(links *reclink.Signer, files RecordingFiles) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		q := r.URL.Query()
		switch err := links.Verify(id, q.Get("expires"), q.Get("sig")); {
		case errors.Is(err, reclink.ErrExpired):
			writeError(w, http.StatusGone, "this recording link has expired")
			return
		case err != nil:
			writeError(w, http.StatusForbidden, "this recording link is not valid")
			return
		}
		path, err := files.RecordingFile(r.Context(), id)
		if err != nil {
			if callbox.ErrorCode(err) == callbox.ENOTFOUND {
				writeError(w, http.StatusNotFound, "the recording is no longer on the box")
				return
			}
			s.fail(w, r, err)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				writeError(w, http.StatusNotFound, "the recording is no longer on the box")
				return
			}
			s.fail(w, r, err)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(id)+`.wav"`)
		w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	}
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
