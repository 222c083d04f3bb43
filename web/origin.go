package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gridd/gridd/geo"
)

// Cross-site request forgery: a browser sends the console's session
// cookie with any request to gridd, whichever page makes it, so a page on
// another site could make a logged-in operator's browser close cases or
// delete webhooks (SameSite=Lax keeps the cookie off cross-site POSTs in
// current browsers, but not off same-site ones from a neighbouring host,
// nor in every browser). A request authenticated by the cookie that
// changes state must therefore come from gridd's own origin, as the
// browser's Origin header (or, without one, its Referer) says; pages
// cannot forge either. Requests with a token (Authorization: Bearer, an
// Open311 api_key) are not affected: a page cannot make the browser send
// a token it does not have.

// changesState reports whether a request of this method may change data.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// sameOrigin is the middleware step authenticate runs for a request its
// session cookie authenticated: a state change must come from this
// server's origin.
func sameOrigin(r *http.Request) error {
	if !changesState(r.Method) {
		return nil
	}
	own := ownOrigins(r)
	what, from := "Origin", r.Header.Get("Origin")
	if from == "" {
		what, from = "Referer", r.Header.Get("Referer")
	}
	if from == "" {
		return geo.Errorf(geo.EFORBIDDEN, "cross-origin request refused: %s %s carries the console's session cookie but neither Origin nor Referer; "+
			"send Origin: %s (browsers do), or call the API with a token (Authorization: Bearer; 'gridd token create')", r.Method, r.URL.Path, own[0])
	}
	o, ok := originOf(from)
	if ok {
		for _, x := range own {
			if o == x {
				return nil
			}
		}
	}
	return geo.Errorf(geo.EFORBIDDEN, "cross-origin request refused: %s %s is not from this server (%s); "+
		"only gridd's own console may change data with its session cookie: other sites and integrations use a token (Authorization: Bearer; 'gridd token create')",
		what, clip(from, 100), own[0])
}

// ownOrigins is this server's origin as the browser sees it: scheme, host
// and port of the request, and, behind a proxy that terminates TLS, as
// the X-Forwarded-Proto/Host headers gridd already honours for the
// session cookie and tile URLs say (deploy.md asks proxies to set them).
// Trusting them here opens nothing: a page on another site cannot make
// the browser send them (they need a CORS preflight gridd never grants),
// and a client that can send them has no victim's cookie to send along.
func ownOrigins(r *http.Request) []string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out := []string{normalOrigin(scheme, r.Host)}
	if fw, ok := originOf(baseURL(r)); ok && fw != out[0] {
		out = append(out, fw)
	}
	return out
}

// originOf is the scheme://host[:port] of an Origin or Referer value,
// with the scheme's default port left out, as browsers write Origin.
func originOf(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false // "null" among others: a sandboxed page, a privacy redirect
	}
	return normalOrigin(u.Scheme, u.Host), true
}

func normalOrigin(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}

// clip shortens a header quoted back in a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
