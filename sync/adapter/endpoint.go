package adapter

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Endpoint is where a helpdesk's API answers: the configured base URL, which may or may not
// end in "/", with every request's path put under it.
type Endpoint struct {
	base string
}

// NewEndpoint is the API at base.
func NewEndpoint(base string) Endpoint {
	return Endpoint{base: strings.TrimRight(base, "/")}
}

// Under is the API below a fixed prefix of the helpdesk (RT's /REST/2.0).
func (e Endpoint) Under(prefix string) Endpoint {
	return Endpoint{base: e.base + prefix}
}

// URL is the address of path with the query q (nil or empty for none).
func (e Endpoint) URL(path string, q url.Values) string {
	if len(q) > 0 {
		return e.base + path + "?" + q.Encode()
	}
	return e.base + path
}

// Client makes the client a helpdesk adapter sends its requests with: timeout and auth as
// NewClient, and the adapters' clock, so Retry-After dates are read against the same time.
func (d Deps) Client(timeout time.Duration, auth func(*http.Request)) *Client {
	c := NewClient(timeout, auth)
	c.Now = d.Now
	return c
}

// SetHeader is the auth of a helpdesk whose credentials are one header.
func SetHeader(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// Basic is the Authorization header of HTTP Basic auth.
func Basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
