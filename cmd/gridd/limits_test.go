package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/internal/pgtest"
)

// TestRateLimitAndRequestTimeout shows the per-caller token bucket (each
// token and each anonymous address its own; 429 with Retry-After and a
// JSON body past the burst, served again after the wait) and the request
// deadline: a request stuck behind a database lock answers 503 when the
// request timeout passes, and the next one is served once the lock goes.
func TestRateLimitAndRequestTimeout(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	base := serve(t, dbURL, "--rate-limit", "2", "--rate-burst", "3", "--request-timeout", "1s")
	a, _ := addToken(t, dbURL, base, "integration a", "viewer", "")
	b, _ := addToken(t, dbURL, base, "integration b", "viewer", "")
	anon := newClient(base, "anonymous")

	t.Run("rate limit", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			a.do(t, "GET", "/api/v1/categories", nil, http.StatusOK)
		}
		resp, body := a.rawDo(t, "GET", "/api/v1/categories", nil, nil)
		var e apiError
		json.Unmarshal(body, &e)
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "too_many" || !strings.Contains(e.Error.Message, "--rate-limit") || wait < 1 {
			t.Fatalf("4th request in a burst of 3: HTTP %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		b.do(t, "GET", "/api/v1/categories", nil, http.StatusOK) // another token has its own bucket
		for i := 0; i < 3; i++ {
			anon.do(t, "GET", "/healthz", nil, http.StatusOK)
		}
		anon.do(t, "GET", "/healthz", nil, http.StatusTooManyRequests) // anonymous callers by address
		time.Sleep(time.Duration(wait) * time.Second)
		a.do(t, "GET", "/api/v1/categories", nil, http.StatusOK)
	})

	t.Run("request timeout", func(t *testing.T) {
		unlock := lockCategories(t, dbURL)
		start := time.Now()
		resp, body := b.rawDo(t, "GET", "/api/v1/categories", nil, nil)
		took := time.Since(start)
		var e apiError
		json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusServiceUnavailable || e.Error.Code != "unavailable" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a request behind a lock: HTTP %d after %v: %s", resp.StatusCode, took, body)
		}
		if took < time.Second {
			t.Fatalf("answered 503 after %v, before the 1 s request timeout", took)
		}
		unlock()
		time.Sleep(600 * time.Millisecond) // the bucket of 2/s has a token again
		b.do(t, "GET", "/api/v1/categories", nil, http.StatusOK)
	})

	t.Run("in-flight cap", func(t *testing.T) {
		capped := serve(t, dbURL, "--max-inflight", "2")
		unlock := lockCategories(t, dbURL)
		// Two requests wait behind the lock and take both slots.
		waiting := make(chan int, 2)
		for i := 0; i < 2; i++ {
			go func() {
				resp, err := http.Get(capped + "/api/v1/categories")
				if err != nil {
					waiting <- 0
					return
				}
				resp.Body.Close()
				waiting <- resp.StatusCode
			}()
		}
		var st int
		for i := 0; i < 100 && st != http.StatusServiceUnavailable; i++ {
			time.Sleep(20 * time.Millisecond)
			resp, err := http.Get(capped + "/api/v1/generations")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if st = resp.StatusCode; st == http.StatusServiceUnavailable &&
				(!strings.Contains(string(body), "--max-inflight") || resp.Header.Get("Retry-After") == "") {
				t.Fatalf("the third request: %s", body)
			}
		}
		if st != http.StatusServiceUnavailable {
			t.Fatalf("a third request while two wait: HTTP %d, want 503", st)
		}
		getJSON(t, capped+"/healthz", http.StatusOK, &map[string]string{}) // not counted
		unlock()
		for i := 0; i < 2; i++ {
			if st := <-waiting; st != http.StatusOK {
				t.Fatalf("a request that waited for the lock: HTTP %d", st)
			}
		}
		getJSON(t, capped+"/api/v1/generations", http.StatusOK, &map[string]any{})
	})
}

// TestGracefulShutdown stops 'gridd serve' while a request is half sent
// and an SSE stream is open: the request is finished and answered (and
// its incident stored), the stream ends cleanly, serve returns without
// error, and the port no longer answers.
func TestGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabaseURL(t)
	addr := freeAddr(t)
	token := rand.Text()
	devAuth.set(addr, token)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, []string{"serve", "--db", dbURL, "--addr", addr, "--dev-token", token}, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}

	stream, err := http.Get(base + "/api/v1/events")
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("open the event stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	streamEnd := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(stream.Body)
		streamEnd <- err
	}()

	// Half a request, then the shutdown, then the rest of the request.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", pr)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- result{status: resp.StatusCode, body: b}
	}()
	pw.Write([]byte(`{"category":"E0102","lon":121.55,`))
	time.Sleep(300 * time.Millisecond) // the server is reading the body
	stop()
	select {
	case err := <-streamEnd:
		if err != nil {
			t.Fatalf("the event stream ended with %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event stream did not end at shutdown")
	}
	pw.Write([]byte(`"lat":29.87,"description":"sent during shutdown","reporter":{"name":"x"}}`))
	pw.Close()
	res := <-answered
	if res.err != nil || res.status != http.StatusCreated {
		t.Fatalf("the in-flight request: %v, HTTP %d: %s", res.err, res.status, res.body)
	}
	var inc struct{ ID int64 }
	json.Unmarshal(res.body, &inc)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after the shutdown")
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers after shutting down")
	}
	conn := connect(t, dbURL)
	var desc string
	if err := conn.QueryRow(ctx, `SELECT description FROM incidents WHERE id = $1`, inc.ID).Scan(&desc); err != nil || desc != "sent during shutdown" {
		t.Fatalf("incident %d answered during the shutdown: %q %v", inc.ID, desc, err)
	}
}

// lockCategories holds an exclusive lock on the categories table, which
// every request reading them then waits behind, until unlock is called.
func lockCategories(t *testing.T, dbURL string) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := connect(t, dbURL).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE categories IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback(ctx) }
}
