package queue

import (
	"strings"
)

// FeatureCodes are what agents and supervisors dial on their desk phones.
type FeatureCodes struct {
	Login   string // toggles the agent's login to all their queues
	Pause   string // toggles the agent's pause
	Listen  string // + extension: listen silently to that agent's call
	Whisper string // + extension: speak to the agent only
	Barge   string // + extension: join the call, all three hear each other
}

// DefaultFeatureCodes are the codes a configuration does not change.
func DefaultFeatureCodes() FeatureCodes {
	return FeatureCodes{Login: "*45", Pause: "*46", Listen: "*31", Whisper: "*32", Barge: "*33"}
}

// Feature is what a dialled feature code asks for.
type Feature string

const (
	FeatureLogin   Feature = "login"
	FeaturePause   Feature = "pause"
	FeatureListen  Feature = "listen"
	FeatureWhisper Feature = "whisper"
	FeatureBarge   Feature = "barge"
)

// Supervising tells the three supervisor features.
func (f Feature) Supervising() bool {
	return f == FeatureListen || f == FeatureWhisper || f == FeatureBarge
}

// Match tells whether dialled is a feature code: the feature and, for the supervisor
// codes, the extension that follows them. Login and pause codes match only exactly.
func (fc FeatureCodes) Match(dialled string) (f Feature, target string, ok bool) {
	switch {
	case dialled == "":
		return "", "", false
	case dialled == fc.Login:
		return FeatureLogin, "", true
	case dialled == fc.Pause:
		return FeaturePause, "", true
	}
	// The longest supervisor code that prefixes the digits wins.
	best := ""
	for _, c := range []struct {
		f    Feature
		code string
	}{{FeatureListen, fc.Listen}, {FeatureWhisper, fc.Whisper}, {FeatureBarge, fc.Barge}} {
		if c.code == "" || !strings.HasPrefix(dialled, c.code) || len(c.code) <= len(best) {
			continue
		}
		rest := dialled[len(c.code):]
		if rest == "" || strings.Trim(rest, "0123456789") != "" {
			continue
		}
		best, f, target = c.code, c.f, rest
	}
	return f, target, best != ""
}
