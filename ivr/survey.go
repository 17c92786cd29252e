package ivr

import (
	"context"
	"strconv"
)

// Survey asks the caller, whose agent just hung up, to rate the call from 1 to 5. A score is
// stored on the call's record with the agent; no key, a wrong key twice or hanging up leaves
// the call without one. The caller hears the thanks and is hung up on, unless they left.
func (cv *Conversation) Survey(ctx context.Context, agent string) int {
	s := cv.cfg.IVR.Survey
	cv.answered = true // the survey follows a conversation: the caller's leg is answered
	cv.pending = cv.pending[:0]
	cv.call.Event("survey.asked", "agent", agent)
	score := 0
	for try := 0; try < 2 && score == 0; try++ {
		k, h := cv.ask(ctx, s.Question, s.Timeout)
		if h != gotKey {
			if h == timedOut {
				cv.call.Event("survey.timeout", "agent", agent)
				break
			}
			cv.svc.metrics.surveys.WithLabelValues("left").Inc()
			return 0
		}
		if k.digit >= '1' && k.digit <= '5' {
			score = int(k.digit - '0')
		} else {
			cv.call.Event("survey.invalid", "key", string(k.digit))
			cv.pending = cv.pending[:0]
		}
	}
	if score > 0 {
		rec := cv.call.Record()
		rec.Survey = score
		cv.call.Event("survey", "score", strconv.Itoa(score), "agent", agent, "source", "ivr")
		cv.svc.metrics.surveys.WithLabelValues("scored").Inc()
		cv.svc.metrics.scores.WithLabelValues(strconv.Itoa(score)).Inc()
	} else {
		cv.svc.metrics.surveys.WithLabelValues("unanswered").Inc()
	}
	if h := cv.play(ctx, s.Thanks, false); h != hungUp {
		cv.hangup(cv.endCause(ctx))
	}
	return score
}
