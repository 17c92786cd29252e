package adapter

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"callbox/sync/event"
	"callbox/sync/outbox"
)

func TestTicketStepsDispatch(t *testing.T) {
	var got []string
	steps := TicketSteps("desk",
		func(_ context.Context, d outbox.Delivery, step event.Step) outbox.Result {
			got = append(got, "ticket "+d.ID)
			return outbox.Delivered("7")
		},
		func(_ context.Context, ticket string, step event.Step) outbox.Result {
			got = append(got, "recording on "+ticket)
			return OnTicket(ticket, outbox.Delivered(""))
		},
		func(_ context.Context, ticket string, step event.Step) outbox.Result {
			got = append(got, "survey on "+ticket)
			return outbox.Delivered("")
		})
	row := func(action, ticket string) outbox.Delivery {
		b, err := json.Marshal(event.Step{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		return outbox.Delivery{ID: action, Payload: b, DependencyRef: ticket}
	}
	ctx := context.Background()
	if r := steps.Deliver(ctx, row(event.ActionTicket, "")); r.Outcome != outbox.Done || r.RemoteRef != "7" {
		t.Errorf("ticket: %+v", r)
	}
	if r := steps.Deliver(ctx, row(event.ActionRecording, "7")); r.Outcome != outbox.Done || r.RemoteRef != "7" {
		t.Errorf("recording: %+v", r)
	}
	steps.Deliver(ctx, row(event.ActionSurvey, "7"))
	if want := "ticket ticket,recording on 7,survey on 7"; strings.Join(got, ",") != want {
		t.Errorf("handled %q, want %q", strings.Join(got, ","), want)
	}

	// What the helpdesk does not do, and a payload that does not decode, are dead letters.
	if r := steps.Deliver(ctx, row(event.ActionUpload, "")); r.Outcome != outbox.Dead || r.Err == nil || r.Err.Error() != "desk cannot upload" {
		t.Errorf("upload: %+v", r)
	}
	if r := steps.Deliver(ctx, outbox.Delivery{ID: "bad", Payload: []byte("{")}); r.Outcome != outbox.Dead {
		t.Errorf("bad payload: %+v", r)
	}
	if len(got) != 3 {
		t.Errorf("a dead letter reached a handler: %q", got)
	}
}

func TestSurveyStep(t *testing.T) {
	step := event.Step{Action: event.ActionSurvey}
	step.Event.Data.Survey = &event.SurveyScore{Score: 4, Max: 5}
	var got []string
	comment := func(text string) outbox.Result {
		got = append(got, "comment "+text)
		return OnTicket("7", outbox.Delivered(""))
	}
	setField := func(field string, score int) outbox.Result {
		got = append(got, field+"="+strconv.Itoa(score))
		return outbox.Delivered("")
	}
	if r := SurveyStep("", step, comment, setField); r.Outcome != outbox.Dead {
		t.Errorf("no ticket: %+v", r)
	}
	if r := SurveyStep("7", step, comment, setField); r.Outcome != outbox.Done || r.RemoteRef != "7" {
		t.Errorf("comment: %+v", r)
	}
	step.SurveyField = "score"
	if r := SurveyStep("7", step, comment, setField); r.Outcome != outbox.Done || r.RemoteRef != "7" {
		t.Errorf("field: %+v", r)
	}
	if len(got) != 2 || got[0] != "comment "+SurveyText(step.Event.Data) || got[1] != "score=4" {
		t.Errorf("did %q", got)
	}
}

func TestTicketStep(t *testing.T) {
	var did []string
	comment := func(status int) func(string) outbox.Result {
		return func(ticket string) outbox.Result {
			did = append(did, "comment "+ticket)
			if status == http.StatusNotFound {
				return outbox.Result{Outcome: outbox.Dead, Status: status}
			}
			return OnTicket(ticket, outbox.Delivered(""))
		}
	}
	find := func(id string, r outbox.Result) func() (string, outbox.Result) {
		return func() (string, outbox.Result) { did = append(did, "find"); return id, r }
	}
	create := func() outbox.Result { did = append(did, "create"); return outbox.Delivered("9") }
	open := event.Step{Action: event.ActionTicket, Ticket: "7"}
	first, retry := outbox.Delivery{Attempt: 1}, outbox.Delivery{Attempt: 2}
	for _, c := range []struct {
		name       string
		d          outbox.Delivery
		step       event.Step
		status     int
		id         string
		findResult outbox.Result
		want       string
		ref        string
	}{
		{"the open ticket", first, open, 200, "", outbox.Delivered(""), "comment 7", "7"},
		{"the open ticket is gone", first, open, 404, "", outbox.Delivered(""), "comment 7,create", "9"},
		{"a first attempt makes the ticket", first, event.Step{}, 200, "5", outbox.Delivered(""), "create", "9"},
		{"a retry finds it", retry, event.Step{}, 200, "5", outbox.Delivered(""), "find", "5"},
		{"a retry finds none", retry, event.Step{}, 200, "", outbox.Delivered(""), "find,create", "9"},
		{"a retry cannot look", retry, event.Step{}, 200, "", outbox.Transient(http.ErrHandlerTimeout), "find", ""},
	} {
		did = nil
		r := TicketStep(c.d, c.step, comment(c.status), find(c.id, c.findResult), create)
		if got := strings.Join(did, ","); got != c.want || r.RemoteRef != c.ref {
			t.Errorf("%s: did %q, ref %q; want %q, %q", c.name, got, r.RemoteRef, c.want, c.ref)
		}
	}
}
