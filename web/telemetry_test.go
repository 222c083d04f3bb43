package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
)

// fixedOps answers /metrics' database questions with given figures.
type fixedOps struct {
	f   geo.OpsFigures
	err error
}

func (o fixedOps) OpsFigures(context.Context) (geo.OpsFigures, error) { return o.f, o.err }

// refuseTokens knows no token: only the development token gets in.
type refuseTokens struct{ AuthStore }

func (refuseTokens) TokenPrincipal(context.Context, string) (geo.Principal, error) {
	return geo.Principal{}, geo.Errorf(geo.EUNAUTHORIZED, "unknown token")
}

const testDevToken = "metrics-test-token-0123456789"

func scrape(t *testing.T, s *Server, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestMetricsAccess(t *testing.T) {
	for _, tt := range []struct {
		mode string
		auth string
		want int
	}{
		{MetricsAuth, "", http.StatusUnauthorized},
		{MetricsAuth, testDevToken, http.StatusOK},
		{MetricsAuth, "gridd_wrong", http.StatusUnauthorized},
		{MetricsPublic, "", http.StatusOK},
		{MetricsOff, "", http.StatusUnauthorized}, // no route: the console's catch-all is not /metrics
		{MetricsOff, testDevToken, http.StatusNotFound},
	} {
		s := NewServer(Config{Metrics: tt.mode, DevToken: testDevToken}, Deps{Auth: refuseTokens{}})
		code, body := scrape(t, s, tt.auth)
		if tt.mode == MetricsOff && strings.Contains(body, "gridd_http_requests_total") {
			t.Errorf("mode %q: /metrics answered with figures", tt.mode)
		}
		if tt.mode != MetricsOff && code != tt.want {
			t.Errorf("mode %q auth %q: %d, want %d (%s)", tt.mode, tt.auth, code, tt.want, body)
		}
	}
}

func TestMetricsFigures(t *testing.T) {
	ops := fixedOps{f: geo.OpsFigures{PoolAcquired: 2, PoolIdle: 3, PoolMax: 8, PoolAcquires: 41,
		SchedulerLag: 90 * time.Second, StandbyConfigured: true, StandbyUsable: true, StandbyReads: 5, PrimaryReads: 2, WebhooksPending: 7, WebhooksFailed: 1, WebhookOldest: 12 * time.Second}}
	s := NewServer(Config{Metrics: MetricsPublic}, Deps{Ops: ops, Events: NewEventHub(), Auth: refuseTokens{}})
	for range 3 {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	}
	code, body := scrape(t, s, "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`gridd_http_requests_total{code="200",method="GET",route="/api/v1/openapi.json"} 3`,
		`gridd_http_request_duration_seconds_count{method="GET",route="/api/v1/openapi.json"} 3`,
		`gridd_db_pool_connections{state="acquired"} 2`,
		`gridd_db_pool_connections{state="idle"} 3`,
		`gridd_db_pool_max_connections 8`,
		`gridd_db_pool_acquires_total 41`,
		`gridd_scheduler_lag_seconds 90`,
		`gridd_webhook_deliveries{state="pending"} 7`,
		`gridd_webhook_deliveries{state="failed"} 1`,
		`gridd_webhook_oldest_pending_seconds 12`,
		`gridd_event_listeners 0`,
		`gridd_db_up 1`,
		`gridd_db_read_standby_usable 1`,
		`gridd_db_heavy_reads_total{target="standby"} 5`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, body = scrape(t, s, "")
	if !strings.Contains(body, `gridd_http_requests_total{code="200",method="GET",route="/metrics"} 1`) {
		t.Error("the first scrape is not counted in the second")
	}

	down := NewServer(Config{Metrics: MetricsPublic}, Deps{Ops: fixedOps{err: errors.New("connection refused")}, Auth: refuseTokens{}})
	_, body = scrape(t, down, "")
	if !strings.Contains(body, "gridd_db_up 0") || strings.Contains(body, "gridd_scheduler_lag_seconds") {
		t.Errorf("a failed database read must show gridd_db_up 0 and no queue figures:\n%s", body)
	}
}
