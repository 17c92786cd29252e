// Package queue is the automatic call distribution: agents and their states, queues,
// priorities, the sticky agent, strategies, overflow and supervisor actions. It decides; the
// legs do the ringing and bridging.
//
// The Engine is the decision core: a state machine without goroutines that reads time from
// an injected clock. Each input (a caller joins, an agent answers, an offer rings out, a
// supervisor force-assigns, a timer falls due) returns the Actions it decided: Offer,
// CancelOffer, Bridge, DialCaller, Overflow, Announce, ... for the call path, and records
// (AgentChanged, Finished, Alert, CallbackPending) for the store, screens and metrics.
//
// The Service runs one Engine in its own goroutine: it turns the Engine's next deadline
// into a timer, hands leg actions in order to a Connector (the SIP call path), writes
// records through a Store, publishes every decision to subscribers and keeps the
// Prometheus metrics. At start it restores agents' logins and pauses, waiting callbacks and
// today's figures from the Store.
package queue
