package outbox

import "context"

// CompleteForTest records one outcome as a worker would.
func CompleteForTest(ctx context.Context, st *Store, d Delivery, r Result) error {
	return st.Complete(ctx, d.Destination, []completion{{d: d, res: r, next: st.now()}})
}
