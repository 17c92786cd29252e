package pbx

import (
	"github.com/emiago/sipgo/sip"

	"callbox/config"
)

// authenticate checks a request's digest credentials against the extensions. It returns the
// extension when they are good; otherwise it has answered the request (401 with a challenge,
// or 403 after a failure, which counts against the source address).
func (p *PBX) authenticate(req *sip.Request, tx sip.ServerTransaction) (config.Extension, bool) {
	src := sourceAddr(req)
	h := req.GetHeader("Authorization")
	if h == nil {
		p.challenge(req, tx, false)
		return config.Extension{}, false
	}
	creds, err := parseCredentials(h.Value())
	if err != nil {
		p.guard.authFailed(src.Addr(), "")
		respond(tx, req, sip.StatusForbidden, "Forbidden")
		return config.Extension{}, false
	}
	ext, ok := p.cfg.Load().Extension(creds.username)
	if !ok {
		// An unknown user is a failure like a wrong password, and answered the same way, so
		// a scanner cannot tell which extensions exist.
		p.guard.authFailed(src.Addr(), creds.username)
		respond(tx, req, sip.StatusForbidden, "Forbidden")
		return config.Extension{}, false
	}
	switch p.auth.verify(creds, string(req.Method), ext.Password.Value(), p.cfg.Load().SIP.Security.Digest) {
	case authOK:
		p.guard.authSucceeded(src.Addr())
		return ext, true
	case authStale:
		p.challenge(req, tx, true)
	default:
		p.guard.authFailed(src.Addr(), creds.username)
		respond(tx, req, sip.StatusForbidden, "Forbidden")
	}
	return config.Extension{}, false
}

func (p *PBX) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	for _, c := range p.auth.challenges(p.cfg.Load().SIP.Security.Digest, stale) {
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", c))
	}
	tx.Respond(res)
}
