package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"callbox/queue"
)

// Queues is what the queue and agent endpoints need; *queue.Service implements it.
type Queues interface {
	Queues(ctx context.Context) ([]queue.QueueView, error)
	Queue(ctx context.Context, name string) (queue.QueueView, error)
	Agents(ctx context.Context) ([]queue.AgentView, error)
	Agent(ctx context.Context, id string) (queue.AgentView, error)
	Login(ctx context.Context, id string, o queue.LoginOptions) (queue.AgentView, error)
	Logout(ctx context.Context, id, queueName string) (queue.AgentView, error)
	Pause(ctx context.Context, id, reason string) (queue.AgentView, error)
	Unpause(ctx context.Context, id string) (queue.AgentView, error)
	ForceAssign(ctx context.Context, callID, agentID string) error
	TakeBack(ctx context.Context, callID string) error
	Transfer(ctx context.Context, callID, dest string) error
	Subscribe(ctx context.Context, buf int) (<-chan queue.Event, func(), error)
}

// Supervisor connects a supervisor's phone to an agent's call: listen (silent), whisper
// (the agent hears), barge (three-way). The call path implements it.
type Supervisor interface {
	Supervise(ctx context.Context, mode queue.Feature, agentID, from string) error
}

// LoginRequest is the body of POST /api/v1/agents/{id}/login.
type LoginRequest struct {
	Queue   string `json:"queue,omitempty"`   // "" = all the agent's queues
	Penalty int    `json:"penalty,omitempty"` // in a queue the agent is not configured in
	Mobile  bool   `json:"mobile,omitempty"`
}

// LogoutRequest is the body of POST /api/v1/agents/{id}/logout.
type LogoutRequest struct {
	Queue string `json:"queue,omitempty"` // "" = every queue
}

// PauseRequest is the body of POST /api/v1/agents/{id}/pause.
type PauseRequest struct {
	Reason string `json:"reason,omitempty"`
}

// SuperviseRequest is the body of POST /api/v1/agents/{id}/{listen,whisper,barge}.
type SuperviseRequest struct {
	From string `json:"from"` // the supervisor's extension, which the box calls
}

// AssignRequest is the body of POST /api/v1/queues/calls/{call}/assign.
type AssignRequest struct {
	Agent string `json:"agent"`
}

// TransferRequest is the body of POST /api/v1/queues/calls/{call}/transfer.
type TransferRequest struct {
	To string `json:"to"` // agent:ID, queue:NAME, extension:EXT, number:NUMBER, voicemail:EXT, group:NAME
}

// HandleQueues adds the queue and agent endpoints; sup may be nil until the call path can
// tap calls (the supervisor endpoints then answer 501).
func (s *Server) HandleQueues(q Queues, sup Supervisor) {
	h := &queueHandlers{s: s, q: q, sup: sup}
	s.api.HandleFunc("GET /api/v1/queues", h.list)
	s.api.HandleFunc("GET /api/v1/queues/{name}", h.show)
	s.api.HandleFunc("GET /api/v1/queues/events", h.events)
	s.api.HandleFunc("POST /api/v1/queues/calls/{call}/assign", h.assign)
	s.api.HandleFunc("POST /api/v1/queues/calls/{call}/takeback", h.takeBack)
	s.api.HandleFunc("POST /api/v1/queues/calls/{call}/transfer", h.transfer)
	s.api.HandleFunc("GET /api/v1/agents", h.agents)
	s.api.HandleFunc("GET /api/v1/agents/{id}", h.agent)
	s.api.HandleFunc("POST /api/v1/agents/{id}/login", h.login)
	s.api.HandleFunc("POST /api/v1/agents/{id}/logout", h.logout)
	s.api.HandleFunc("POST /api/v1/agents/{id}/pause", h.pause)
	s.api.HandleFunc("POST /api/v1/agents/{id}/unpause", h.unpause)
	for _, mode := range []queue.Feature{queue.FeatureListen, queue.FeatureWhisper, queue.FeatureBarge} {
		s.api.HandleFunc("POST /api/v1/agents/{id}/"+string(mode), func(w http.ResponseWriter, r *http.Request) {
			h.supervise(w, r, mode)
		})
	}
}

type queueHandlers struct {
	s   *Server
	q   Queues
	sup Supervisor
}

func (h *queueHandlers) list(w http.ResponseWriter, r *http.Request) {
	qs, err := h.q.Queues(r.Context())
	writeList(h.s, w, r, qs, err)
}

func (h *queueHandlers) show(w http.ResponseWriter, r *http.Request) {
	v, err := h.q.Queue(r.Context(), r.PathValue("name"))
	h.answer(w, r, v, err)
}

func (h *queueHandlers) agents(w http.ResponseWriter, r *http.Request) {
	as, err := h.q.Agents(r.Context())
	writeList(h.s, w, r, as, err)
}

func (h *queueHandlers) agent(w http.ResponseWriter, r *http.Request) {
	v, err := h.q.Agent(r.Context(), r.PathValue("id"))
	h.answer(w, r, v, err)
}

func (h *queueHandlers) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.q.Login(r.Context(), r.PathValue("id"), queue.LoginOptions{Queue: req.Queue, Penalty: req.Penalty, Mobile: req.Mobile})
	h.answer(w, r, v, err)
}

func (h *queueHandlers) logout(w http.ResponseWriter, r *http.Request) {
	var req LogoutRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.q.Logout(r.Context(), r.PathValue("id"), req.Queue)
	h.answer(w, r, v, err)
}

func (h *queueHandlers) pause(w http.ResponseWriter, r *http.Request) {
	var req PauseRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.q.Pause(r.Context(), r.PathValue("id"), req.Reason)
	h.answer(w, r, v, err)
}

func (h *queueHandlers) unpause(w http.ResponseWriter, r *http.Request) {
	if !h.decode(w, r, &struct{}{}) {
		return
	}
	v, err := h.q.Unpause(r.Context(), r.PathValue("id"))
	h.answer(w, r, v, err)
}

func (h *queueHandlers) assign(w http.ResponseWriter, r *http.Request) {
	var req AssignRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Agent == "" {
		writeError(w, http.StatusBadRequest, "give the agent to assign the call to")
		return
	}
	h.done(w, r, h.q.ForceAssign(r.Context(), r.PathValue("call"), req.Agent))
}

func (h *queueHandlers) takeBack(w http.ResponseWriter, r *http.Request) {
	if !h.decode(w, r, &struct{}{}) {
		return
	}
	h.done(w, r, h.q.TakeBack(r.Context(), r.PathValue("call")))
}

func (h *queueHandlers) transfer(w http.ResponseWriter, r *http.Request) {
	var req TransferRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.To == "" {
		writeError(w, http.StatusBadRequest, "give where to transfer the call: agent:ID, queue:NAME, extension:EXT, number:NUMBER or voicemail:EXT")
		return
	}
	h.done(w, r, h.q.Transfer(r.Context(), r.PathValue("call"), req.To))
}

func (h *queueHandlers) supervise(w http.ResponseWriter, r *http.Request, mode queue.Feature) {
	var req SuperviseRequest
	if !h.decode(w, r, &req) {
		return
	}
	if h.sup == nil {
		writeError(w, http.StatusNotImplemented, string(mode)+" is not available yet")
		return
	}
	if req.From == "" {
		writeError(w, http.StatusBadRequest, "give the supervisor's extension (from)")
		return
	}
	h.done(w, r, h.sup.Supervise(r.Context(), mode, r.PathValue("id"), req.From))
}

// events streams the queues' decisions and records as server-sent events, for screens.
func (h *queueHandlers) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	events, unsubscribe, err := h.q.Subscribe(r.Context(), 256)
	if err != nil {
		h.s.fail(w, r, err)
		return
	}
	defer unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-events:
			if !ok {
				return // the queues stopped
			}
			b, err := json.Marshal(ev)
			if err != nil {
				h.s.opts.Log.Error("queue event", "kind", ev.Kind, "err", err)
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// decode reads an optional JSON body into v; an empty body leaves v as it is.
func (h *queueHandlers) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

func (h *queueHandlers) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *queueHandlers) done(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		h.s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Compile-time check: the queue service is what the endpoints need.
var _ Queues = (*queue.Service)(nil)
