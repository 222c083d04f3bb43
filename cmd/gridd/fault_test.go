package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/jackc/pgx/v5"
)

// answer is what one POST /api/v1/incidents got.
type answer struct {
	key        string
	status     int
	id         int64
	code       string // the JSON error's code
	retryAfter string
	err        error // no answer at all
	took       time.Duration
	at         time.Time
}

// TestDatabaseRestartWhilePosting crashes the PostgreSQL under a running
// 'gridd serve' (an immediate shutdown: no checkpoint, recovery from the
// WAL on start, as after a power cut of the database host) while four
// clients post incidents, and starts it again. While it is down every
// answer is a prompt 503 with a JSON body and Retry-After, never a hang
// or a 500; afterwards the same gridd, not restarted, answers 201 again;
// every incident that was answered 201 is in the database; and clients
// that retried their 503s with the same Idempotency-Key got each report
// stored exactly once.
func TestDatabaseRestartWhilePosting(t *testing.T) {
	ctx := context.Background()
	// A durable server, as 'gridd serve' runs its own: a 201 means
	// committed to disk.
	pg := startCrashablePG(t, "gridd-fault-")
	url := pg.URL()
	const timeout = 5 * time.Second
	base := serve(t, url, "--request-timeout", timeout.String())

	post := func(client *http.Client, key string) answer {
		body, _ := json.Marshal(map[string]any{"category": "E0102", "lon": 121.55, "lat": 29.87,
			"description": "fault test " + key, "reporter": map[string]string{"name": "测试"}})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		a := answer{key: key, at: time.Now()}
		resp, err := client.Do(req)
		a.took = time.Since(a.at)
		if err != nil {
			a.err = err
			return a
		}
		defer resp.Body.Close()
		a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		b, _ := io.ReadAll(resp.Body)
		var v struct {
			ID    int64
			Error struct{ Code string }
		}
		if err := json.Unmarshal(b, &v); err != nil {
			a.err = fmt.Errorf("HTTP %d, not JSON: %q", resp.StatusCode, b)
		}
		a.id, a.code = v.ID, v.Error.Code
		return a
	}

	// Four clients, each posting reports one after the other and retrying
	// a report answered 503 with the same key, as an integration does.
	var mu sync.Mutex
	var answers []answer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 3 * timeout, Transport: devAuth.wrap(&http.Transport{})}
			for n := 0; ; n++ {
				key := fmt.Sprintf("fault-%d-%d", w, n)
				for {
					select {
					case <-stop:
						return
					default:
					}
					a := post(client, key)
					mu.Lock()
					answers = append(answers, a)
					mu.Unlock()
					if a.status != http.StatusServiceUnavailable {
						break
					}
					time.Sleep(50 * time.Millisecond) // Retry-After says 2 s; the test has no time for that
				}
			}
		}(w)
	}
	count := func(since time.Time, status int) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range answers {
			if a.status == status && a.at.After(since) {
				n++
			}
		}
		return n
	}
	waitFor := func(what string, since time.Time, status, n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); count(since, status) < n; {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("no %d %s within 30 s", n, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	start := time.Now()
	waitFor("incidents created before the crash", start, http.StatusCreated, 200)

	// The crash: SIGQUIT to the postmaster is PostgreSQL's immediate
	// shutdown; committed transactions survive through the WAL only.
	crash := time.Now()
	pg.crash(t)
	down := time.Now()
	waitFor("answers 503 while the database is down", down, http.StatusServiceUnavailable, 20)
	getJSON(t, base+"/healthz", http.StatusServiceUnavailable, &map[string]string{})

	if err := pg.restart(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("restart postgres: %v", err)
	}
	up := time.Now()
	waitFor("incidents created after the restart", up, http.StatusCreated, 100)
	close(stop)
	wg.Wait()
	getJSON(t, base+"/healthz", http.StatusOK, &map[string]string{})

	// Every answer was a 201 or a prompt 503 with a JSON body and
	// Retry-After; nothing hung, nothing was a 500.
	var acked []int64
	keys := map[string]int64{}
	unavailable := 0
	for _, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s at +%v: %v", a.key, a.at.Sub(start), a.err)
		case a.status == http.StatusCreated:
			acked = append(acked, a.id)
			if prev, ok := keys[a.key]; ok && prev != a.id {
				t.Errorf("key %s answered incident %d and %d", a.key, prev, a.id)
			}
			keys[a.key] = a.id
		case a.status == http.StatusServiceUnavailable:
			unavailable++
			if a.code != "unavailable" || a.retryAfter == "" {
				t.Errorf("%s: 503 with code %q, Retry-After %q", a.key, a.code, a.retryAfter)
			}
			if a.took > timeout+time.Second {
				t.Errorf("%s: the 503 took %v, beyond the request timeout %v", a.key, a.took, timeout)
			}
		default:
			t.Errorf("%s at +%v: HTTP %d (%s), want 201 or 503", a.key, a.at.Sub(start), a.status, a.code)
		}
	}
	t.Logf("%d answers: %d created, %d unavailable; crash at +%v, postgres exited after %v, down %v",
		len(answers), len(acked), unavailable, crash.Sub(start), down.Sub(crash), up.Sub(down))

	// Every acknowledged incident is there, once per key.
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var stored, distinctKeys int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT idempotency_key) FROM incidents WHERE id = ANY ($1)`, acked).
		Scan(&stored, &distinctKeys); err != nil {
		t.Fatal(err)
	}
	if distinct := len(uniq(acked)); stored != distinct {
		t.Errorf("%d of %d acknowledged incidents are in the database", stored, distinct)
	}
	var rows, keyRows int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT idempotency_key) FROM incidents WHERE idempotency_key LIKE 'fault-%'`).
		Scan(&rows, &keyRows); err != nil {
		t.Fatal(err)
	}
	if rows != keyRows {
		t.Errorf("%d incidents for %d keys: a retried report was stored twice", rows, keyRows)
	}
	if rows < len(keys) {
		t.Errorf("%d incidents stored, %d keys acknowledged", rows, len(keys))
	}
	// Each stored case has its audit entry: it is written in the case's
	// own transaction, so no crash keeps one without the other.
	var unaudited int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM incidents i WHERE i.idempotency_key LIKE 'fault-%'
		AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.target = 'incident:' || i.id AND a.action = 'incident.create')`).Scan(&unaudited); err != nil {
		t.Fatal(err)
	}
	if unaudited > 0 {
		t.Errorf("%d of %d stored incidents have no audit entry", unaudited, rows)
	}
}

func uniq(ids []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// crashablePG is a PostgreSQL of a test's own, durable (fsync and
// synchronous_commit on) as the one 'gridd serve' runs, that the test
// crashes and starts again on the same port and data.
type crashablePG struct {
	dir string
	mu  sync.Mutex
	pg  *postgis.Embedded
}

func startCrashablePG(t *testing.T, prefix string) *crashablePG {
	t.Helper()
	dir, err := pgtest.MkdirShared(prefix)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgis.StartEmbedded(context.Background(), postgis.EmbeddedConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := &crashablePG{dir: dir, pg: pg}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.pg.Stop()
		os.RemoveAll(dir)
	})
	return c
}

// URL is the gridd database's; AdminURL the postgres database's.
func (c *crashablePG) URL() string      { return c.pg.URL() }
func (c *crashablePG) AdminURL() string { return c.pg.AdminURL() }

// crash is an immediate shutdown (SIGQUIT to the postmaster: no
// checkpoint, recovery from the WAL at the next start), as a power cut of
// the database host; it returns when postgres has exited.
func (c *crashablePG) crash(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(c.pg.PID(), syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	<-c.pg.Exited()
}

// restart starts postgres again on its data and port.
func (c *crashablePG) restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The crashed instance still holds its lock files; left to the
	// garbage collector they kept the final Stop waiting for 2 minutes.
	c.pg.Stop()
	pg, err := postgis.StartEmbedded(context.Background(), postgis.EmbeddedConfig{DataDir: c.dir, Port: c.pg.Port()})
	if err != nil {
		return err
	}
	c.pg = pg
	return nil
}
