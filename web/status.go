package web

import "time"

// Status is the one-screen summary of the running box, served at /api/v1/status and printed
// by `callbox status`.
type Status struct {
	Version    string          `json:"version"`
	Box        string          `json:"box"`
	Started    time.Time       `json:"started"`
	UptimeSec  int64           `json:"uptime_seconds"`
	Config     string          `json:"config"`
	Demo       bool            `json:"demo"`
	Draining   bool            `json:"draining"` // shutting down: no new calls
	SIP        []string        `json:"sip_listeners"`
	Web        string          `json:"web"`
	Trunks     []TrunkStatus   `json:"trunks"`
	Extensions ExtensionCounts `json:"extensions"`
	Calls      CallCounts      `json:"calls"`
	Queues     []QueueStatus   `json:"queues"`
	Agents     AgentCounts     `json:"agents"`
}

// TrunkStatus is one trunk's state.
type TrunkStatus struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"` // registered, failed, up, down, unknown
}

// ExtensionCounts says how many extensions exist and how many have a phone registered.
type ExtensionCounts struct {
	Total      int `json:"total"`
	Registered int `json:"registered"`
}

// CallCounts counts calls in progress by direction.
type CallCounts struct {
	Active   int `json:"active"`
	Inbound  int `json:"inbound"`
	Outbound int `json:"outbound"`
	Internal int `json:"internal"`
}

// QueueStatus is one queue at a glance.
type QueueStatus struct {
	Name        string `json:"name"`
	Waiting     int    `json:"waiting"`
	LongestWait int64  `json:"longest_wait_seconds"`
	Available   int    `json:"agents_available"`
}

// AgentCounts counts agents by state.
type AgentCounts struct {
	LoggedIn  int `json:"logged_in"`
	Available int `json:"available"`
	OnCall    int `json:"on_call"`
	Paused    int `json:"paused"`
}
