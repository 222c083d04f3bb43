package jobs_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/jobs"
	"github.com/gridd/gridd/postgis"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func report(t *testing.T, db *postgis.DB) geo.Incident {
	t.Helper()
	inc, _, err := db.CreateIncident(context.Background(), geo.NewIncident{Category: "E0102", Lon: 121.55, Lat: 29.8, SRS: geo.DatumWGS84,
		Location: geo.Location{Match: geo.MatchNone}, Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// TestWebhookRetries: a failing receiver gets the event again after the
// backoff, a signed body, and a delivery that keeps failing is given up.
func TestWebhookRetries(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	var calls atomic.Int32
	var last atomic.Value
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s3"))
		mac.Write(b)
		if r.Header.Get("X-Gridd-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("bad signature %q", r.Header.Get("X-Gridd-Signature"))
		}
		last.Store(b)
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails
		}
	}))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer bad.Close()
	for _, h := range []geo.Webhook{{URL: ok.URL, Secret: "s3"}, {URL: bad.URL}} {
		if _, err := db.CreateWebhook(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	inc := report(t, db)
	w := &jobs.Webhooks{Store: db, Targets: allowLoopback(t), Backoff: time.Millisecond, MaxAttempts: 3, Timeout: time.Second, Logger: slogDiscard()}
	delivered := 0
	for i := 0; i < 5; i++ {
		n, err := w.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		delivered += n
		time.Sleep(20 * time.Millisecond)
	}
	if delivered != 1 || calls.Load() != 2 {
		t.Fatalf("delivered %d after %d calls to the receiver, want 1 after 2", delivered, calls.Load())
	}
	var p jobs.Payload
	json.Unmarshal(last.Load().([]byte), &p)
	if p.Event.IncidentID != inc.ID || p.Event.Action != geo.ActReport || p.IncidentURL == "" {
		t.Fatalf("payload %+v", p)
	}
	rows, err := db.Pool.Query(ctx, `SELECT state, attempts FROM webhook_deliveries ORDER BY webhook_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		var a int
		rows.Scan(&s, &a)
		got = append(got, s+":"+string(rune('0'+a)))
	}
	if len(got) != 2 || got[0] != "delivered:2" || got[1] != "failed:3" {
		t.Fatalf("deliveries %v, want delivered after 2 attempts and failed after 3", got)
	}
}

// TestSchedulerLoop: the loop runs a pass at once and stops with its
// context.
func TestSchedulerLoop(t *testing.T) {
	db := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		jobs.RunScheduler(ctx, db, time.Hour, slogDiscard())
		close(done)
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the scheduler loop did not stop")
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
