// Package outbox delivers what the box learned about calls to every destination (webhooks
// and helpdesks), exactly as it happened, however long the destination was away.
//
// Rows are written by store.FinishCall in the same transaction as the call. A worker per
// destination claims due rows with a lease (UPDATE … RETURNING), hands them to the
// destination's Deliverer, and records the outcome: done, retry with exponential backoff and
// jitter (honouring Retry-After), re-read after a conflict, dead letter, or pause of the
// whole destination when it refuses our credentials. A call's steps go out in order: a row is
// claimed only when every earlier step of the same call for the same destination is done, so
// "create ticket → upload recording → add comment" holds, and a step that needs the ticket id
// gets it from the row it depends on.
//
// Crashes lose nothing: a row is marked done only after the destination answered, so a crash
// in between sends it again; receivers de-duplicate on the row id (the event id), which never
// changes. A new worker releases every row its destination left in flight, because only one
// daemon owns the database.
package outbox

import (
	"context"
	"time"
)

// Delivery is one attempt to deliver a row.
type Delivery struct {
	ID          string // the event id: stable across retries, receivers de-duplicate on it
	Destination string
	CallID      string
	Seq         int
	Kind        string
	Payload     []byte
	// Attempt is 1 for the first try. A later attempt may follow one whose outcome was
	// unknown (a timeout, a crash): destinations without idempotency look before creating.
	Attempt int
	// DependsOn is the row this one needs; DependencyRef is that row's RemoteRef (the ticket
	// id a comment goes to).
	DependsOn     string
	DependencyRef string
	// RemoteRef is what an earlier attempt of this row recorded, "" normally.
	RemoteRef string
	Created   time.Time
}

// Deliverer sends rows to one destination. It must honour ctx and classify every answer
// (Classify does it for the usual HTTP rules).
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) Result
}

// DeliverFunc adapts a function to a Deliverer.
type DeliverFunc func(ctx context.Context, d Delivery) Result

// Deliver calls f(ctx, d).
func (f DeliverFunc) Deliver(ctx context.Context, d Delivery) Result { return f(ctx, d) }

// DestinationStatus is one destination at a glance, for `callbox sync status`.
type DestinationStatus struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind,omitempty"`
	Pending     int        `json:"pending"`   // waiting, including those retrying
	InFlight    int        `json:"in_flight"` // being sent now
	Failed      int        `json:"failed"`    // pending after at least one failed attempt
	Dead        int        `json:"dead"`      // dead letters: need an admin
	Oldest      *time.Time `json:"oldest_pending,omitempty"`
	Paused      bool       `json:"paused"`
	PauseReason string     `json:"pause_reason,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
}

// RetryRequest asks to send rows again now: one row (ID), every dead letter (Dead), or, with
// neither, every waiting row. Destination narrows Dead and the default to one destination.
// Paused destinations it touches are resumed.
type RetryRequest struct {
	ID          string `json:"id,omitempty"`
	Dead        bool   `json:"dead,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// RetryResult says what a retry did.
type RetryResult struct {
	Requeued int      `json:"requeued"`
	Resumed  []string `json:"resumed"` // destinations no longer paused
}

// ReplayRequest asks to send again every delivered row created since Since.
type ReplayRequest struct {
	Since       time.Time `json:"since"`
	Destination string    `json:"destination,omitempty"`
}

// ReplayResult says how many rows go out again.
type ReplayResult struct {
	Requeued int `json:"requeued"`
}
