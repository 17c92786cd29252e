package ivr

import (
	"context"
	"sort"
	"strings"

	"callbox/config"
	"callbox/media/prompt"
	"callbox/media/session"
)

// source turns a prompt into audio in lang: named prompts resolved, recordings from the
// library (in lang or the fallback language), text spoken. A part that cannot be played is
// logged and left out: the caller hears the rest, and the call goes on.
func (s *Service) source(ctx context.Context, cv *Conversation, p *config.Prompt) session.Source {
	if p.IsZero() {
		return nil
	}
	var srcs []prompt.Source
	var add func(parts []config.PromptPart, depth int)
	add = func(parts []config.PromptPart, depth int) {
		for _, part := range parts {
			switch {
			case len(part.Say) > 0:
				lang, text := pickText(part.Say, cv.lang, cv.cfg.IVR.Language)
				clip, err := s.speak(ctx, lang, text)
				if err != nil {
					s.promptFailed(cv, part, err)
					continue
				}
				srcs = append(srcs, clip.Source())
			case depth == 0 && hasPrompt(cv.cfg, part.Name):
				named := cv.cfg.IVR.Prompts[part.Name]
				add(named.Parts, depth+1)
			default:
				clip, err := s.library(cv.cfg).Clip(cv.lang, part.Name)
				if err != nil {
					s.promptFailed(cv, part, err)
					continue
				}
				srcs = append(srcs, clip.Source())
			}
		}
	}
	add(p.Parts, 0)
	switch len(srcs) {
	case 0:
		return nil
	case 1:
		return srcs[0]
	}
	return prompt.Concat(srcs...)
}

func hasPrompt(cfg *config.Config, name string) bool {
	_, ok := cfg.IVR.Prompts[name]
	return ok
}

func (s *Service) promptFailed(cv *Conversation, part config.PromptPart, err error) {
	s.metrics.promptErrors.Inc()
	what := part.Name
	if what == "" {
		what = "text"
	}
	cv.log.Error("a prompt could not be played; the caller hears the rest", "prompt", what, "language", cv.lang, "err", err)
	cv.call.Event("ivr.prompt-missing", "prompt", what, "language", cv.lang)
}

// pickText chooses the text of a prompt for lang: lang itself, its base language (zh for
// zh-cn), the fallback, any text written for every language, then the first by language
// code. It returns the language to speak it in.
func pickText(byLang map[string]string, lang, fallback string) (string, string) {
	for _, l := range []string{lang, baseLanguage(lang), fallback, baseLanguage(fallback)} {
		if t, ok := byLang[l]; ok && l != "" {
			return l, t
		}
	}
	if t, ok := byLang[""]; ok {
		return lang, t
	}
	langs := make([]string, 0, len(byLang))
	for l := range byLang {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	return langs[0], byLang[langs[0]]
}

func baseLanguage(lang string) string {
	base, _, _ := strings.Cut(lang, "-")
	return base
}
