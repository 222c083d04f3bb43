package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/jobs"
	"github.com/gridd/gridd/postgis"
)

// allowLoopback is the policy of tests whose receivers are httptest
// servers on 127.0.0.1: the default refuses them.
func allowLoopback(t *testing.T) geo.WebhookTargets {
	t.Helper()
	p, err := geo.ParseWebhookAllow([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// delivery is the state of a webhook's one delivery row.
type delivery struct {
	state    string
	attempts int
	lastErr  string
}

func deliveryOf(t *testing.T, db *postgis.DB, hook int64) delivery {
	t.Helper()
	var d delivery
	if err := db.Pool.QueryRow(context.Background(), `SELECT state, attempts, coalesce(last_error, '') FROM webhook_deliveries
		WHERE webhook_id = $1 ORDER BY id DESC LIMIT 1`, hook).Scan(&d.state, &d.attempts, &d.lastErr); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWebhookTargetPolicy: a receiver on 127.0.0.1 is refused by default,
// by address and by a name that resolves to loopback ("localhost"), at
// delivery, after resolution: the receiver is never called and the
// delivery is failed at once with the reason. With 127.0.0.0/8 allowed,
// both are delivered. A redirect is not followed.
func TestWebhookTargetPolicy(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	var calls, redirected atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer recv.Close()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	byName := strings.Replace(recv.URL, "127.0.0.1", "localhost", 1)

	hooks := map[string]int64{}
	for name, u := range map[string]string{"address": recv.URL, "name": byName, "redirect": redirect.URL} {
		h, err := db.CreateWebhook(ctx, geo.Webhook{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		hooks[name] = h.ID
	}

	t.Run("refused by default", func(t *testing.T) {
		report(t, db)
		w := &jobs.Webhooks{Store: db, Backoff: time.Millisecond, MaxAttempts: 5, Timeout: time.Second, Logger: slogDiscard()}
		for i := 0; i < 3; i++ {
			if n, err := w.DeliverDue(ctx); err != nil || n != 0 {
				t.Fatalf("pass %d: delivered %d, %v", i, n, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if calls.Load() != 0 || redirected.Load() != 0 {
			t.Fatalf("the receiver was called %d times", calls.Load())
		}
		for _, name := range []string{"address", "name", "redirect"} {
			d := deliveryOf(t, db, hooks[name])
			if d.state != "failed" || d.attempts != 1 || !strings.Contains(d.lastErr, "loopback") || !strings.Contains(d.lastErr, "--webhook-allow 127.0.0.1/32") {
				t.Errorf("%s: delivery %+v, want failed after one attempt saying loopback and how to allow it", name, d)
			}
		}
	})

	t.Run("delivered when allowed", func(t *testing.T) {
		report(t, db)
		w := &jobs.Webhooks{Store: db, Targets: allowLoopback(t), Backoff: time.Hour, MaxAttempts: 5, Timeout: time.Second, Logger: slogDiscard()}
		n, err := w.DeliverDue(ctx)
		if err != nil || n != 2 || calls.Load() != 2 {
			t.Fatalf("delivered %d (%v), the receiver called %d times; want 2 and 2", n, err, calls.Load())
		}
		for _, name := range []string{"address", "name"} {
			if d := deliveryOf(t, db, hooks[name]); d.state != "delivered" {
				t.Errorf("%s: %+v", name, d)
			}
		}
		d := deliveryOf(t, db, hooks["redirect"])
		if redirected.Load() != 0 || d.state != "pending" || !strings.Contains(d.lastErr, "HTTP 307") || !strings.Contains(d.lastErr, "redirect") {
			t.Errorf("redirect: followed %d times, delivery %+v; want not followed, a retry, the reason", redirected.Load(), d)
		}
	})
}
