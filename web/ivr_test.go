package web

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/ivr"
)

// fakeIVR answers like the IVR service, keeping what it was asked.
type fakeIVR struct{ asked []string }

func (f *fakeIVR) Flows(ctx context.Context) ([]ivr.FlowView, error) {
	return []ivr.FlowView{{Name: "hotline", Tree: "start: play"}}, nil
}
func (f *fakeIVR) Flow(ctx context.Context, name string) (ivr.FlowView, error) {
	if name != "hotline" {
		return ivr.FlowView{}, callbox.Errorf(callbox.ENOTFOUND, "no flow called %s", name)
	}
	return ivr.FlowView{Name: name}, nil
}
func (f *fakeIVR) List(ctx context.Context, list, number string) ([]ivr.ListEntry, error) {
	f.asked = append(f.asked, "list "+list+" "+number)
	return []ivr.ListEntry{{List: list, Number: "+15550100"}}, nil
}
func (f *fakeIVR) AddToList(ctx context.Context, list string, r ivr.ListRequest) (ivr.ListEntry, error) {
	f.asked = append(f.asked, "add "+list+" "+r.Number+" "+r.Until+" "+r.Note)
	if r.Number == "bad" {
		return ivr.ListEntry{}, callbox.Errorf(callbox.EINVALID, "bad number")
	}
	return ivr.ListEntry{List: list, Number: r.Number}, nil
}
func (f *fakeIVR) RemoveFromList(ctx context.Context, list, number string) (ivr.ListEntry, error) {
	f.asked = append(f.asked, "rm "+list+" "+number)
	return ivr.ListEntry{}, callbox.Errorf(callbox.ECONFLICT, "from the file")
}
func (f *fakeIVR) Hours(ctx context.Context) ([]ivr.HoursView, error) {
	return []ivr.HoursView{{Name: "office", State: ivr.Open}}, nil
}
func (f *fakeIVR) SetHours(ctx context.Context, name, mode string) ([]ivr.HoursView, error) {
	f.asked = append(f.asked, "hours "+name+" "+mode)
	return []ivr.HoursView{{Name: "office", State: ivr.Closed, Override: mode}}, nil
}

func TestIVREndpoints(t *testing.T) {
	f := &fakeIVR{}
	s := New(Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Status: func(context.Context) Status { return Status{} },
		Calls: fakeCalls{}, Gatherer: prometheus.NewRegistry(), AdminHash: cheapHash(t, "right-password")})
	s.HandleIVR(f)
	sock := httptest.NewServer(s.handler(false))
	tcp := httptest.NewServer(s.handler(true))
	defer sock.Close()
	defer tcp.Close()
	var flows []ivr.FlowView
	if code := call(t, "GET", sock.URL+"/api/v1/ivr/flows", "", &flows); code != 200 || len(flows) != 1 || flows[0].Tree == "" {
		t.Fatalf("flows: %d %+v", code, flows)
	}
	var e APIError
	if code := call(t, "GET", sock.URL+"/api/v1/ivr/flows/other", "", &e); code != 404 || e.Error != "no flow called other" {
		t.Fatalf("missing flow: %d %+v", code, e)
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/lists/vip?number=%2B15550100", "", 200},
		{"POST", "/api/v1/lists/blacklist", `{"number":"+15550199","until":"2027-01-01","note":"spam"}`, 200},
		{"POST", "/api/v1/lists/blacklist", `{"number":"bad"}`, 400},
		{"POST", "/api/v1/lists/blacklist", `{"numbr":"+1"}`, 400},
		{"DELETE", "/api/v1/lists/blacklist/%2B15550199", "", 409},
		{"GET", "/api/v1/hours", "", 200},
		{"POST", "/api/v1/hours", `{"mode":"closed"}`, 200},
	} {
		if code := call(t, tt.method, sock.URL+tt.path, tt.body, nil); code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, code, tt.want)
		}
	}
	want := []string{"list vip +15550100", "add blacklist +15550199 2027-01-01 spam", "add blacklist bad  ", "rm blacklist +15550199", "hours  closed"}
	if len(f.asked) != len(want) {
		t.Fatalf("asked %q", f.asked)
	}
	for i := range want {
		if f.asked[i] != want[i] {
			t.Errorf("asked %q, want %q", f.asked[i], want[i])
		}
	}
	// Over TCP the lists need a login.
	if code := call(t, "GET", tcp.URL+"/api/v1/lists/vip", "", nil); code != 401 {
		t.Errorf("lists over TCP without a login: %d", code)
	}
}
