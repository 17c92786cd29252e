package queue

import (
	"context"
	"time"
)

// The call path's side: what happens to callers and offers.

// Join puts a caller in a queue (the outcome arrives as actions: offers, or an overflow
// when the queue refuses them). Without a LastAgent, the caller's last agent is looked up
// in the History for the sticky agent.
func (s *Service) Join(ctx context.Context, queue, callID string, caller Caller) error {
	if h := s.o.History; h != nil && caller.Number != "" && caller.LastAgent == "" {
		lctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		agent, at, err := h.LastAgent(lctx, caller.Number)
		cancel()
		if err != nil {
			s.log.Warn("queue: the caller's last agent is unknown", "call_id", callID, "err", err)
		} else {
			caller.LastAgent, caller.LastAgentAt = agent, at
		}
	}
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.Join(queue, callID, caller) })
}

// Hangup tells that a call is over for the queues (see Engine.Hangup).
func (s *Service) Hangup(ctx context.Context, callID string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.Hangup(callID) })
}

// Answered tells that an agent answered an offer (see Engine.Answered). An error means the
// offer is over (cancelled or timed out): hang up the agent's leg.
func (s *Service) Answered(ctx context.Context, callID, agentID string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.Answered(callID, agentID) })
}

// NotAnswered tells that an offer failed (see Engine.NotAnswered).
func (s *Service) NotAnswered(ctx context.Context, callID, agentID, reason string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.NotAnswered(callID, agentID, reason) })
}

// RequestCallback turns a waiting caller into a callback (see Engine.RequestCallback).
func (s *Service) RequestCallback(ctx context.Context, callID, number string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.RequestCallback(callID, number) })
}

// CallbackReached tells whether a dialled callback caller answered.
func (s *Service) CallbackReached(ctx context.Context, callID string, reached bool) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.CallbackReached(callID, reached) })
}

// DirectCall tells that an agent started or ended a call outside the queues.
func (s *Service) DirectCall(ctx context.Context, agentID string, active bool) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.DirectCall(agentID, active) })
}

// Agents' and supervisors' side.

// agentOp runs an agent operation and returns the agent as it is afterwards.
func (s *Service) agentOp(ctx context.Context, agentID string, op func(e *Engine) ([]Action, error)) (AgentView, error) {
	var v AgentView
	err := s.exec(ctx, func(e *Engine) ([]Action, error) {
		actions, err := op(e)
		if err == nil {
			v, err = e.Agent(agentID)
		}
		return actions, err
	})
	return v, err
}

// Login logs an agent in.
func (s *Service) Login(ctx context.Context, agentID string, o LoginOptions) (AgentView, error) {
	return s.agentOp(ctx, agentID, func(e *Engine) ([]Action, error) { return e.Login(agentID, o) })
}

// Logout logs an agent out of one queue, or of all with queue "".
func (s *Service) Logout(ctx context.Context, agentID, queue string) (AgentView, error) {
	return s.agentOp(ctx, agentID, func(e *Engine) ([]Action, error) { return e.Logout(agentID, queue) })
}

// Pause pauses an agent with a reason.
func (s *Service) Pause(ctx context.Context, agentID, reason string) (AgentView, error) {
	return s.agentOp(ctx, agentID, func(e *Engine) ([]Action, error) { return e.Pause(agentID, reason) })
}

// Unpause ends an agent's pause.
func (s *Service) Unpause(ctx context.Context, agentID string) (AgentView, error) {
	return s.agentOp(ctx, agentID, func(e *Engine) ([]Action, error) { return e.Unpause(agentID) })
}

// ForceAssign offers a waiting call to an agent now (see Engine.ForceAssign).
func (s *Service) ForceAssign(ctx context.Context, callID, agentID string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.ForceAssign(callID, agentID) })
}

// TakeBack puts a call back in its queue (see Engine.TakeBack).
func (s *Service) TakeBack(ctx context.Context, callID string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.TakeBack(callID) })
}

// Transfer moves a call in progress elsewhere (see Engine.Transfer).
func (s *Service) Transfer(ctx context.Context, callID, dest string) error {
	return s.exec(ctx, func(e *Engine) ([]Action, error) { return e.Transfer(callID, dest) })
}

// FeatureResult is what a feature code did, for the prompt the phone hears.
type FeatureResult struct {
	Feature  Feature `json:"feature"`
	Agent    string  `json:"agent"` // who dialled (login, pause) or whose call (listen, whisper, barge)
	LoggedIn bool    `json:"logged_in,omitempty"`
	Paused   bool    `json:"paused,omitempty"`
	Call     string  `json:"call,omitempty"` // the call to listen to, whisper to or barge in on
}

// Feature handles a feature code dialled by extension ext; ok is false when dialled is
// none. Login and pause toggle ext's own state; the supervisor codes find the call of the
// agent whose extension follows the code, which the call path then taps.
func (s *Service) Feature(ctx context.Context, ext, dialled string) (res FeatureResult, ok bool, err error) {
	f, target, ok := s.Features().Match(dialled)
	if !ok {
		return FeatureResult{}, false, nil
	}
	res.Feature = f
	switch f {
	case FeatureLogin:
		res.Agent = ext
		err = s.exec(ctx, func(e *Engine) ([]Action, error) {
			in, actions, err := e.ToggleLogin(ext)
			res.LoggedIn = in
			return actions, err
		})
	case FeaturePause:
		res.Agent = ext
		err = s.exec(ctx, func(e *Engine) ([]Action, error) {
			paused, actions, err := e.TogglePause(ext, "phone")
			res.Paused, res.LoggedIn = paused, true
			return actions, err
		})
	default:
		res.Agent = target
		err = s.read(ctx, func(e *Engine) error {
			call, err := e.AgentCall(target)
			res.Call = call
			return err
		})
	}
	return res, true, err
}

// Reconfigure applies a reloaded configuration and feature codes (zero: the defaults).
func (s *Service) Reconfigure(ctx context.Context, cfg Config, features FeatureCodes) error {
	if features == (FeatureCodes{}) {
		features = DefaultFeatureCodes()
	}
	err := s.exec(ctx, func(e *Engine) ([]Action, error) { return e.Reconfigure(cfg) })
	if err == nil {
		s.features.Store(&features)
	}
	return err
}

// The live view.

// Queues is the live view of every queue.
func (s *Service) Queues(ctx context.Context) ([]QueueView, error) {
	var out []QueueView
	err := s.read(ctx, func(e *Engine) error { out = e.Queues(); return nil })
	return out, err
}

// Queue is the live view of one queue.
func (s *Service) Queue(ctx context.Context, name string) (QueueView, error) {
	var out QueueView
	err := s.read(ctx, func(e *Engine) (err error) { out, err = e.Queue(name); return err })
	return out, err
}

// Agents is the live view of every agent.
func (s *Service) Agents(ctx context.Context) ([]AgentView, error) {
	var out []AgentView
	err := s.read(ctx, func(e *Engine) error { out = e.Agents(); return nil })
	return out, err
}

// Agent is the live view of one agent.
func (s *Service) Agent(ctx context.Context, id string) (AgentView, error) {
	var out AgentView
	err := s.read(ctx, func(e *Engine) (err error) { out, err = e.Agent(id); return err })
	return out, err
}

// Summary is every queue at a glance and the agents by state, for the status page.
func (s *Service) Summary(ctx context.Context) ([]QueueSummary, map[State]int, error) {
	var qs []QueueSummary
	var agents map[State]int
	err := s.read(ctx, func(e *Engine) error { qs, agents = e.Summary(); return nil })
	return qs, agents, err
}

// AgentCall is the queue call an agent is talking on, for a supervisor to tap.
func (s *Service) AgentCall(ctx context.Context, agentID string) (string, error) {
	var call string
	err := s.read(ctx, func(e *Engine) (err error) { call, err = e.AgentCall(agentID); return err })
	return call, err
}
