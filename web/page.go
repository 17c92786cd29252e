package web

import (
	_ "embed"
	"io"
	"net/http"
	"strings"
	"time"
)

//go:embed assets/status.html
var statusPage []byte

//go:embed assets/login.html
var loginPage string

//go:embed assets/status.js
var statusScript []byte

// pageCSP lets the pages run only the box's own script and inline styles.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Write(statusPage)
}

func (s *Server) handleStatusScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Write(statusScript)
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	page := loginPage
	if r.URL.Query().Has("failed") {
		page = strings.Replace(page, "<!--failed-->", `<p class="failed" id="failed">Wrong password.</p>`, 1)
	}
	io.WriteString(w, page)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r)
	if s.auth.isBanned(ip) {
		http.Error(w, "too many failed logins from your address; try again in a few minutes", http.StatusTooManyRequests)
		return
	}
	if !s.auth.checkPassword(adminUser, r.PostFormValue("password")) {
		s.auth.fail(ip)
		s.opts.Log.Warn("web login failed", "remote", ip)
		http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.auth.newSession(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL / time.Second),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.endSession(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
