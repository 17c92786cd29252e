// Package queue is the automatic call distribution: agents and their states, queues,
// priorities, the sticky agent, strategies, overflow and supervisor actions. It decides; the
// legs do the ringing and bridging.
package queue
