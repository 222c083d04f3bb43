package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
)

// sessionAuth knows one console session and one API token, both admins.
type sessionAuth struct{ AuthStore }

const (
	testSession = "session-0123456789"
	testToken   = "gridd_token0123456789"
)

func (sessionAuth) SessionPrincipal(_ context.Context, sid string) (geo.Principal, error) {
	if sid != testSession {
		return geo.Principal{}, geo.Errorf(geo.EUNAUTHORIZED, "session expired")
	}
	return geo.Principal{Kind: "user", Name: "root", Role: admin, Credential: "session:1"}, nil
}

func (sessionAuth) TokenPrincipal(_ context.Context, tok string) (geo.Principal, error) {
	if tok != testToken {
		return geo.Principal{}, geo.Errorf(geo.EUNAUTHORIZED, "unknown token")
	}
	return geo.Principal{Kind: "token", Name: "integration", Role: admin, Credential: "token:1"}, nil
}

func (sessionAuth) Login(context.Context, string, string, time.Duration, string) (string, geo.Principal, error) {
	return testSession, geo.Principal{Kind: "user", Name: "root", Role: admin}, nil
}

func (sessionAuth) AppendAudit(context.Context, geo.AuditEntry) error { return nil }

// hookStore records the webhooks it is asked to create.
type hookStore struct {
	CaseworkStore
	mu      sync.Mutex
	created []geo.Webhook
}

func (h *hookStore) CreateWebhook(_ context.Context, w geo.Webhook) (geo.Webhook, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.created = append(h.created, w)
	w.ID = int64(len(h.created))
	return w, nil
}

func (h *hookStore) Webhooks(context.Context) ([]geo.Webhook, error) { return nil, nil }

func (h *hookStore) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.created)
}

// TestSameOrigin: a state change authenticated by the session cookie
// must come from the server's own origin; tokens, reads and the login
// are not affected.
func TestSameOrigin(t *testing.T) {
	const hook = `{"url":"https://hooks.example.com/gridd"}`
	for _, tt := range []struct {
		name    string
		method  string
		path    string
		host    string // the request's Host (default gridd.example:8080)
		cookie  bool
		token   bool
		headers map[string]string
		want    int
	}{
		{name: "cookie, cross Origin", method: "POST", cookie: true, headers: map[string]string{"Origin": "https://evil.example"}, want: 403},
		{name: "cookie, same Origin", method: "POST", cookie: true, headers: map[string]string{"Origin": "http://gridd.example:8080"}, want: 201},
		{name: "cookie, Origin in capitals", method: "POST", cookie: true, headers: map[string]string{"Origin": "http://GRIDD.example:8080"}, want: 201},
		{name: "cookie, same host other port", method: "POST", cookie: true, headers: map[string]string{"Origin": "http://gridd.example:9090"}, want: 403},
		{name: "cookie, same host other scheme", method: "POST", cookie: true, headers: map[string]string{"Origin": "https://gridd.example:8080"}, want: 403},
		{name: "cookie, Origin null", method: "POST", cookie: true, headers: map[string]string{"Origin": "null"}, want: 403},
		{name: "cookie, no Origin, same Referer", method: "POST", cookie: true, headers: map[string]string{"Referer": "http://gridd.example:8080/#/cases"}, want: 201},
		{name: "cookie, no Origin, cross Referer", method: "POST", cookie: true, headers: map[string]string{"Referer": "https://evil.example/x"}, want: 403},
		{name: "cookie, cross Origin beats same Referer", method: "POST", cookie: true, headers: map[string]string{"Origin": "https://evil.example", "Referer": "http://gridd.example:8080/"}, want: 403},
		{name: "cookie, neither", method: "POST", cookie: true, want: 403},
		{name: "cookie, DELETE cross", method: "DELETE", path: "/api/v1/webhooks/1", cookie: true, headers: map[string]string{"Origin": "https://evil.example"}, want: 403},
		{name: "cookie, default port", method: "POST", host: "gridd.example:80", cookie: true, headers: map[string]string{"Origin": "http://gridd.example"}, want: 201},
		{name: "cookie, behind a TLS proxy", method: "POST", host: "gridd.example", cookie: true,
			headers: map[string]string{"Origin": "https://gridd.example", "X-Forwarded-Proto": "https"}, want: 201},
		{name: "cookie, read cross Origin", method: "GET", cookie: true, headers: map[string]string{"Origin": "https://evil.example"}, want: 200},
		{name: "token, cross Origin", method: "POST", token: true, headers: map[string]string{"Origin": "https://evil.example"}, want: 201},
		{name: "token and cookie, neither header", method: "POST", token: true, cookie: true, want: 201},
		{name: "login with a cookie, same Origin", method: "POST", path: "/api/v1/login", cookie: true, headers: map[string]string{"Origin": "http://gridd.example:8080"}, want: 200},
		{name: "login with a cookie, no Origin", method: "POST", path: "/api/v1/login", cookie: true, want: 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &hookStore{}
			s := NewServer(Config{}, Deps{Auth: sessionAuth{}, Incidents: routesOnlyIncidents{}, Casework: store})
			path, body := tt.path, hook
			if path == "" {
				path = "/api/v1/webhooks"
			}
			if path == "/api/v1/login" {
				body = `{"login":"root","password":"secret"}`
			}
			var rd *strings.Reader
			if tt.method == "POST" {
				rd = strings.NewReader(body)
			} else {
				rd = strings.NewReader("")
			}
			req := httptest.NewRequest(tt.method, path, rd)
			req.Host = "gridd.example:8080"
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.cookie {
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: testSession})
			}
			if tt.token {
				req.Header.Set("Authorization", "Bearer "+testToken)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code == http.StatusNotFound && tt.method == "DELETE" {
				t.Fatalf("no DELETE route: %s", rec.Body)
			}
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusForbidden {
				var e errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != geo.EFORBIDDEN ||
					!strings.HasPrefix(e.Error.Message, "cross-origin request refused: ") || !strings.Contains(e.Error.Message, "token") {
					t.Fatalf("body %s: want a forbidden JSON error saying why and what to use instead", rec.Body)
				}
				if store.count() != 0 {
					t.Fatal("the refused request reached the store")
				}
			}
		})
	}
}

// TestWebhookSubscriptionTargets: a subscription to an internal address
// is refused with 400 before anything is stored, and allowed when the
// operator's --webhook-allow covers it.
func TestWebhookSubscriptionTargets(t *testing.T) {
	allow10, err := geo.ParseWebhookAllow([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		url     string
		targets geo.WebhookTargets
		want    int
	}{
		{"http://10.0.0.1/", geo.WebhookTargets{}, 400},
		{"http://127.0.0.1:9000/hook", geo.WebhookTargets{}, 400},
		{"http://localhost:9000/hook", geo.WebhookTargets{}, 400},
		{"http://169.254.169.254/latest/meta-data/", geo.WebhookTargets{}, 400},
		{"http://[fd00:ec2::254]/", geo.WebhookTargets{}, 400},
		{"http://[::ffff:10.0.0.1]/", geo.WebhookTargets{}, 400},
		{"https://hooks.example.com/gridd", geo.WebhookTargets{}, 201},
		{"http://10.0.0.1/", allow10, 201},
		{"http://192.168.1.1/", allow10, 400},
	} {
		store := &hookStore{}
		s := NewServer(Config{DevToken: testDevToken, WebhookTargets: tt.targets}, Deps{Auth: sessionAuth{}, Incidents: routesOnlyIncidents{}, Casework: store})
		req := httptest.NewRequest("POST", "/api/v1/webhooks", strings.NewReader(`{"url":"`+tt.url+`"}`))
		req.Header.Set("Authorization", "Bearer "+testDevToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.url, rec.Code, tt.want, rec.Body)
			continue
		}
		if tt.want == 400 {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != geo.EINVALID || !strings.Contains(e.Error.Message, "--webhook-allow") {
				t.Errorf("%s: body %s: want an invalid JSON error naming --webhook-allow", tt.url, rec.Body)
			}
			if store.count() != 0 {
				t.Errorf("%s: stored", tt.url)
			}
		}
	}
}
