package switchboard

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"callbox/config"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/queue"
)

// What a waiting caller hears: music on hold, paused while the queue's announcements play.

// holdSource is the music a caller hears while queued, with announcements played in turn
// in its place. It never runs out and always gives whole frames (a session takes a short
// frame for the end). Announcements are added from other goroutines (they are spoken
// off the call's path), hence the lock.
type holdSource struct {
	mu       sync.Mutex
	music    session.Source
	fallback bool
	queue    []session.Source
	log      *slog.Logger
}

func newHoldSource(music session.Source, log *slog.Logger) *holdSource {
	return &holdSource{music: music, log: log}
}

// announce plays src once the announcements before it have played, then the music again.
func (h *holdSource) announce(src session.Source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queue = append(h.queue, src)
}

func (h *holdSource) ReadFrame(frame []int16) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.queue) > 0 {
		n, err := h.queue[0].ReadFrame(frame)
		if n > 0 {
			clear(frame[n:])
			if err != nil || n < len(frame) {
				h.queue[0].Close()
				h.queue = h.queue[1:]
			}
			return len(frame), nil
		}
		h.queue[0].Close()
		h.queue = h.queue[1:]
	}
	n, err := h.music.ReadFrame(frame)
	if (err != nil || n == 0) && !h.fallback {
		// Music that breaks (files gone, unreadable) gives way to the box's own tune: a
		// caller on hold must never hear a dead line.
		h.log.Warn("music on hold failed; playing the box's own tune", "err", err)
		h.music.Close()
		h.music, h.fallback = prompt.Melody(), true
		n, _ = h.music.ReadFrame(frame)
	}
	clear(frame[n:])
	return len(frame), nil
}

func (h *holdSource) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.queue {
		s.Close()
	}
	h.queue = nil
	return h.music.Close()
}

// music is the music on hold the configuration asks for: WAV files from a folder, or the
// box's own tune.
func (sb *Switchboard) music(cfg *config.Config) session.Source {
	m := cfg.MusicOnHold
	if m.Dir == "" {
		return prompt.Melody()
	}
	dir := m.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(sb.dataDir, dir)
	}
	src, err := prompt.NewMusic(dir, m.Order == "random", nil, sb.log).Source()
	if err != nil {
		sb.log.Warn("no music on hold; playing the box's own tune", "dir", dir, "err", err)
		return prompt.Melody()
	}
	return src
}

// startHold answers the caller if need be and plays them the music on hold.
func (c *call) startHold() error {
	h := newHoldSource(c.sb.music(c.sb.config()), c.log)
	if _, err := c.conv.Play(c.ctx, h); err != nil {
		return err
	}
	c.q.hold = h
	return nil
}

// stopHold ends the music (before a bridge, an overflow).
func (c *call) stopHold() {
	c.q.hold = nil
	c.releaseMedia()
}

// announce speaks the caller's position and expected wait, or one of the queue's
// messages, in place of the music for a moment. The speech is made off the call's path.
func (c *call) announce(a queue.Announce) {
	h := c.q.hold
	if h == nil {
		return
	}
	var p *config.Prompt
	switch a.What {
	case queue.AnnouncePosition:
		c.event("queue.announce", nil, "what", "position", "position", fmt.Sprint(a.Position), "estimated", a.Estimated.String())
		p = positionPhrase(a.Position, a.Estimated).prompt()
	case queue.AnnounceMessage:
		c.event("queue.announce", nil, "what", "message", "prompt", a.Prompt)
		p = messagePrompt(c.sb.config(), a.Prompt)
	default:
		return
	}
	speak := c.conv.Speaker()
	ctx, log := c.ctx, c.log
	c.holdWG.Go(func() {
		clip, err := speak(ctx, p)
		if err != nil {
			log.Warn("a queue announcement could not be spoken; the caller hears the music", "err", err)
			return
		}
		h.announce(clip.Source())
	})
}

// messagePrompt is a queue's periodic message: a prompt of ivr.prompts by name, or text
// spoken in the caller's language.
func messagePrompt(cfg *config.Config, msg string) *config.Prompt {
	if _, ok := cfg.IVR.Prompts[msg]; ok {
		return &config.Prompt{Parts: []config.PromptPart{{Name: msg}}}
	}
	return config.Text(map[string]string{"": msg})
}
