package ivr

import (
	"context"
	"fmt"

	"callbox/config"
	"callbox/media/prompt"
	"callbox/media/session"
)

// The IVR's voice for the rest of the call path: the queue's announcements to waiting
// callers, the confirmation a mobile agent hears, the answers to feature codes.

// Speaker turns a prompt into audio in one language: named prompts resolved, recordings
// read, text spoken with espeak-ng (once; later from the cache). It is safe to call from
// any goroutine, and may take a while the first time a text is spoken: call it off the
// path that must answer quickly.
type Speaker func(ctx context.Context, p *config.Prompt) (*prompt.Clip, error)

// Speaker speaks in lang ("" = the configuration's language) with the running
// configuration's prompts.
func (s *Service) Speaker(lang string) Speaker {
	cfg := s.config()
	if lang == "" {
		lang = cfg.IVR.Language
	}
	return func(ctx context.Context, p *config.Prompt) (*prompt.Clip, error) {
		return s.render(ctx, cfg, lang, p)
	}
}

// MediaClock is the clock that paces every session the box plays to and listens to.
func (s *Service) MediaClock() *session.Clock { return s.media }

// render makes one clip of a whole prompt; unlike a flow's prompts, a part that cannot be
// played fails it.
func (s *Service) render(ctx context.Context, cfg *config.Config, lang string, p *config.Prompt) (*prompt.Clip, error) {
	var samples []int16
	name := ""
	var add func(parts []config.PromptPart, depth int) error
	add = func(parts []config.PromptPart, depth int) error {
		for _, part := range parts {
			var clip *prompt.Clip
			var err error
			switch {
			case len(part.Say) > 0:
				l, text := pickText(part.Say, lang, cfg.IVR.Language)
				clip, err = s.speak(ctx, l, text)
			case depth == 0 && hasPrompt(cfg, part.Name):
				named := cfg.IVR.Prompts[part.Name]
				if err := add(named.Parts, depth+1); err != nil {
					return err
				}
				continue
			default:
				clip, err = s.library(cfg).Clip(lang, part.Name)
			}
			if err != nil {
				what := part.Name
				if what == "" {
					what = "text"
				}
				s.metrics.promptErrors.Inc()
				return fmt.Errorf("prompt %s: %w", what, err)
			}
			if name == "" {
				name = clip.Name()
			}
			samples = append(samples, clip.Samples()...)
		}
		return nil
	}
	if p.IsZero() {
		return prompt.NewClip("", nil), nil
	}
	if err := add(p.Parts, 0); err != nil {
		return nil, err
	}
	return prompt.NewClip(name, samples), nil
}

// Language is the language the caller is spoken to in.
func (cv *Conversation) Language() string { return cv.lang }

// Speaker speaks in the caller's language (see Service.Speaker).
func (cv *Conversation) Speaker() Speaker {
	svc, cfg, lang := cv.svc, cv.cfg, cv.lang
	return func(ctx context.Context, p *config.Prompt) (*prompt.Clip, error) {
		return svc.render(ctx, cfg, lang, p)
	}
}

// Play answers the caller if need be and plays src to them in place of what plays now
// (src must not run out by itself if the caller is to hear something all the time). The
// channel is closed when src ended or was replaced.
func (cv *Conversation) Play(ctx context.Context, src session.Source) (<-chan struct{}, error) {
	if err := cv.media(ctx); err != nil {
		src.Close()
		return nil, err
	}
	return cv.sess.Play(src), nil
}

// Digits delivers the digits heard as tones in the caller's audio while the conversation
// has a session (nil otherwise: a nil channel never delivers).
func (cv *Conversation) Digits() <-chan rune {
	if cv.sess == nil {
		return nil
	}
	return cv.sess.Digits()
}

// Say plays p to the caller to its end, whatever they press. It returns false when the
// caller hung up or the call's context ended first.
func (cv *Conversation) Say(ctx context.Context, p *config.Prompt) bool {
	return cv.play(ctx, p, false) == played
}
