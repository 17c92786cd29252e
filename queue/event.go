package queue

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// Event is one of the engine's decisions or records, for screens.
type Event struct {
	At     time.Time
	Kind   string
	Call   string
	Action Action
}

// MarshalJSON writes the event as the API serves it: the action's fields in snake_case,
// durations in milliseconds (with an _ms suffix).
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		At   time.Time      `json:"at"`
		Kind string         `json:"kind"`
		Call string         `json:"call_id,omitempty"`
		Data map[string]any `json:"data"`
	}{e.At, e.Kind, e.Call, actionFields(e.Action)})
}

func actionFields(a Action) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(a)
	if v.Kind() != reflect.Struct {
		return out
	}
	t := v.Type()
	for i := range t.NumField() {
		name := snake(t.Field(i).Name)
		switch x := v.Field(i).Interface().(type) {
		case time.Duration:
			out[name+"_ms"] = x.Milliseconds()
		case time.Time:
			if !x.IsZero() {
				out[name] = x
			}
		default:
			out[name] = x
		}
	}
	return out
}

// snake turns a Go field name into snake_case: StickyAgent → sticky_agent.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MarshalJSON writes the endpoint's durations in milliseconds.
func (ep Endpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind    string `json:"kind"`
		Target  string `json:"target"`
		After   int64  `json:"after_ms"`
		For     int64  `json:"for_ms,omitempty"`
		Confirm string `json:"confirm,omitempty"`
	}{ep.Kind, ep.Target, ep.After.Milliseconds(), ep.For.Milliseconds(), ep.Confirm})
}
