package main

import (
	"context"
	"net/http"
	"net/netip"

	"callbox"
	"callbox/pbx"
	"callbox/switchboard"
)

// pbxCalls hands the PBX's new calls to the switchboard.
type pbxCalls struct{ sb *switchboard.Switchboard }

func (h pbxCalls) HandleCall(leg callbox.Leg, in pbx.Incoming) {
	h.sb.Take(switchboard.Offer{Leg: leg, From: in.From, To: in.To, Trunk: in.Trunk, Extension: in.Extension, LineID: in.CallID})
}

// pbxDialer lets the switchboard place SIP calls.
type pbxDialer struct{ p *pbx.PBX }

func (d pbxDialer) Dial(ctx context.Context, t switchboard.Target) (callbox.Leg, error) {
	o := pbx.DialOptions{From: t.From, Codec: t.Codec, Timeout: t.Timeout, CallID: t.CallID}
	if t.Kind == "extension" {
		return d.p.DialExtension(ctx, t.Number, o)
	}
	return d.p.DialNumber(ctx, t.Number, o)
}

func (d pbxDialer) CanDialOut(number string) bool { return d.p.CanDialOut(number) }

// sipAPI adds the PBX's views to the API.
func (d *daemon) sipAPI() {
	d.web.HandleAPI("GET /api/v1/extensions", func(w http.ResponseWriter, r *http.Request) {
		writeAPI(w, http.StatusOK, d.pbx.Extensions())
	})
	d.web.HandleAPI("GET /api/v1/trunks", func(w http.ResponseWriter, r *http.Request) {
		writeAPI(w, http.StatusOK, d.pbx.Trunks())
	})
	d.web.HandleAPI("GET /api/v1/bans", func(w http.ResponseWriter, r *http.Request) {
		bans := d.pbx.Bans()
		if bans == nil {
			bans = []pbx.Ban{}
		}
		writeAPI(w, http.StatusOK, bans)
	})
	d.web.HandleAPI("DELETE /api/v1/bans/{addr}", func(w http.ResponseWriter, r *http.Request) {
		a, err := netip.ParseAddr(r.PathValue("addr"))
		if err != nil {
			writeAPI(w, http.StatusBadRequest, map[string]string{"error": "not an IP address: " + r.PathValue("addr")})
			return
		}
		if !d.pbx.Unban(a) {
			writeAPI(w, http.StatusNotFound, map[string]string{"error": a.String() + " is not banned"})
			return
		}
		writeAPI(w, http.StatusOK, map[string]string{"status": "unbanned"})
	})
}
