package conformance

import (
	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
)

// DelivererOf is a Suite's Build for an adapter's constructor (its New).
func DelivererOf[T outbox.Deliverer](newDesk func(config.SyncDestination, adapter.Deps) T) func(config.SyncDestination, adapter.Deps) outbox.Deliverer {
	return func(d config.SyncDestination, deps adapter.Deps) outbox.Deliverer { return newDesk(d, deps) }
}

// DirectoryOf is a Suite's Directory for an adapter's constructor (its New).
func DirectoryOf[T lookup.Directory](newDesk func(config.SyncDestination, adapter.Deps) T) func(config.SyncDestination, adapter.Deps) lookup.Directory {
	return func(d config.SyncDestination, deps adapter.Deps) lookup.Directory { return newDesk(d, deps) }
}
