package outbox

import (
	"net/http"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	h := func(retryAfter string) http.Header {
		hd := http.Header{}
		if retryAfter != "" {
			hd.Set("Retry-After", retryAfter)
		}
		return hd
	}
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       Outcome
		wait       time.Duration
	}{
		{200, "", Done, 0}, {201, "", Done, 0}, {204, "", Done, 0},
		{408, "", Retry, 0}, {429, "30", Retry, 30 * time.Second}, {500, "", Retry, 0}, {502, "", Retry, 0},
		{503, now.Add(2 * time.Minute).Format(http.TimeFormat), Retry, 2 * time.Minute}, {504, "soon", Retry, 0},
		{409, "", Reread, 0}, {412, "", Reread, 0},
		{401, "", Pause, 0}, {403, "", Pause, 0},
		{400, "", Dead, 0}, {404, "", Dead, 0}, {410, "", Dead, 0}, {422, "", Dead, 0}, {301, "", Dead, 0},
		{429, "99999999", Retry, maxRetryAfter},
	} {
		r := Classify(tc.status, h(tc.retryAfter), "body", now)
		if r.Outcome != tc.want || r.RetryAfter != tc.wait || r.Status != tc.status || (r.Outcome == Done) != (r.Err == nil) {
			t.Errorf("%d %q: %+v, want %v after %s", tc.status, tc.retryAfter, r, tc.want, tc.wait)
		}
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	for _, rnd := range []float64{0, 0.5, 0.999} {
		prevMax := time.Duration(0)
		for attempt := 1; attempt <= 30; attempt++ {
			d := Backoff(attempt, 10*time.Minute, func() float64 { return rnd })
			full := min(time.Second<<min(attempt-1, 20), 10*time.Minute)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d (rnd %v): %s outside [%s, %s]", attempt, rnd, d, full/2, full)
			}
			prevMax = max(prevMax, d)
		}
		if prevMax > 10*time.Minute {
			t.Fatalf("backoff beyond the cap: %s", prevMax)
		}
	}
}
