package pbx

import (
	"context"
	"time"

	"callbox"
)

// watchMedia ends answered calls that have received no RTP for rtp.no_media_timeout (a
// phone that lost power, a NAT that closed), except while they are on hold.
func (p *PBX) watchMedia(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		timeout := p.cfg.Load().RTP.NoMediaTimeout
		if timeout <= 0 {
			continue
		}
		now := p.now()
		p.mu.Lock()
		seen := map[*sipLeg]bool{}
		var silent []*sipLeg
		for _, l := range p.dialogs {
			if seen[l] {
				continue
			}
			seen[l] = true
			l.mu.Lock()
			state, answered, silenced := l.state, l.answered, l.silenced
			l.mu.Unlock()
			if state != stateAnswered || silenced || l.isHeld() {
				continue
			}
			last := l.ep.LastReceived()
			if answered.After(last) {
				last = answered
			}
			if now.Sub(last) > timeout {
				l.mu.Lock()
				l.silenced = true
				l.mu.Unlock()
				silent = append(silent, l)
			}
		}
		p.mu.Unlock()
		for _, l := range silent {
			l.log.Warn("no RTP received; ending the call", "for", timeout.String())
			p.wg.Go(func() {
				hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				l.Hangup(hctx, callbox.CauseNoMedia)
			})
		}
	}
}
