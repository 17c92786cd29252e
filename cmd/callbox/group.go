package main

import (
	"context"
	"sync"
)

// group runs the daemon's components, each until its context ends; the first to fail stops
// the rest. It is the owner of their goroutines: wait returns when all have returned.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) *group {
	ctx, cancel := context.WithCancel(ctx)
	return &group{ctx: ctx, cancel: cancel}
}

// run starts fn in its own goroutine with the group's context.
func (g *group) run(name string, fn func(ctx context.Context) error) {
	g.wg.Go(func() {
		if err := fn(g.ctx); err != nil && g.ctx.Err() == nil {
			g.once.Do(func() {
				g.err = componentError{name, err}
				g.cancel()
			})
		}
	})
}

// done is closed when a component failed or stop was called.
func (g *group) done() <-chan struct{} { return g.ctx.Done() }

// stop ends every component and waits for them; it returns the first failure.
func (g *group) stop() error {
	g.cancel()
	g.wg.Wait()
	return g.err
}

type componentError struct {
	name string
	err  error
}

func (e componentError) Error() string { return e.name + ": " + e.err.Error() }
func (e componentError) Unwrap() error { return e.err }
