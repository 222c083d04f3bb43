package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
)

// killableServe starts 'gridd serve' in a child process (griddProcess) on dbURL and
// returns its base URL and the process, killed when the test ends.
func killableServe(t *testing.T, dbURL string) (string, *os.Process) {
	t.Helper()
	addr := freeAddr(t)
	tok := rand.Text()
	devAuth.set(addr, tok)
	cmd := griddProcess("serve", "--db", dbURL, "--addr", addr, "--dev-token", tok, "--webhook-allow", "127.0.0.0/8") // receivers on loopback
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	base := "http://" + addr
	for i := 0; i < 400; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base, cmd.Process
		}
		select {
		case <-exited:
			t.Fatal("the gridd process exited at start")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("the gridd process did not come up")
	return "", nil
}

// servedGeneration is the generation a replica locates in and styles.
func servedGeneration(t *testing.T, base string, lon, lat float64) (int, int) {
	t.Helper()
	var loc geo.Location
	getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, lon, lat), http.StatusOK, &loc)
	var style struct{ Name string }
	getJSON(t, base+"/tiles/style.json", http.StatusOK, &style)
	var g int
	fmt.Sscanf(style.Name, "gridd generation %d", &g)
	return loc.Generation, g
}

// TestReplicas runs several gridd serve on one PostgreSQL, as a deployment
// behind a load balancer does: what one replica does, the others follow;
// the work they share is done once; a replica killed in the middle of an
// activation leaves the others serving one consistent generation.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	var lon, lat float64
	if err := conn.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas
		WHERE generation = 1 AND level = 'grid' ORDER BY code LIMIT 1) x`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	// Drafts to activate: copies of generation 1.
	if _, err := conn.Exec(ctx, `INSERT INTO generations (id, note) VALUES (2, 'copy'), (3, 'copy');
		INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
		SELECT g, level, code, name, parent_code, households, population, geom FROM areas, (VALUES (2), (3)) v(g) WHERE generation = 1`); err != nil {
		t.Fatal(err)
	}
	a := serve(t, dbURL, "--scheduler-every", "200ms", "--webhook-allow", "127.0.0.0/8") // webhook receivers on loopback
	b := serve(t, dbURL, "--scheduler-every", "200ms", "--webhook-allow", "127.0.0.0/8")
	op := as("值班员", geo.RoleOperator)

	t.Run("an activation on one is followed by the other within 2 s", func(t *testing.T) {
		if l, s := servedGeneration(t, b, lon, lat); l != 1 || s != 1 {
			t.Fatalf("before: b serves %d / %d", l, s)
		}
		// Both pick up a catalog first, so that only the notification can
		// make b see the activation quickly.
		servedGeneration(t, a, lon, lat)
		call(t, "POST", a+"/api/v1/generations/2/activate", nil, nil, http.StatusOK, nil)
		activated := time.Now()
		for {
			l, s := servedGeneration(t, b, lon, lat)
			if l == 2 && s == 2 {
				break
			}
			if time.Since(activated) > 2*time.Second {
				t.Fatalf("2 s after the activation on a, b locates in %d and styles %d", l, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("a case posted on one reaches the other's event stream", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, _ := http.NewRequestWithContext(sctx, "GET", b+"/api/v1/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("b's stream: %v %v", err, resp)
		}
		defer resp.Body.Close()
		events := readSSE(resp.Body)
		time.Sleep(200 * time.Millisecond) // the stream is subscribed once its headers are sent; give the hub a moment
		var inc geo.Incident
		call(t, "POST", a+"/api/v1/incidents", op, map[string]any{"category": "E0102", "lon": lon, "lat": lat, "description": "跨副本"}, http.StatusCreated, &inc)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("b's stream ended")
				}
				if e.IncidentID == inc.ID && e.Action == geo.ActReport {
					return
				}
			case <-timeout:
				t.Fatalf("b's stream never carried case %d", inc.ID)
			}
		}
	})

	t.Run("escalations and webhook deliveries happen once", func(t *testing.T) {
		var mu sync.Mutex
		got := map[string]int{} // "action/incident" → deliveries
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var p struct{ Event geo.IncidentEvent }
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &p); err == nil {
				e := p.Event
				mu.Lock()
				got[fmt.Sprintf("%s/%d", e.Action, e.IncidentID)]++
				mu.Unlock()
			}
		}))
		defer hook.Close()
		call(t, "POST", a+"/api/v1/webhooks", nil, geo.Webhook{URL: hook.URL, Secret: "k", Actions: []string{"report", "escalate"}}, http.StatusCreated, nil)
		var cases []geo.Incident
		for i := 0; i < 6; i++ {
			var inc geo.Incident
			base := []string{a, b}[i%2]
			call(t, "POST", base+"/api/v1/incidents", op, map[string]any{"category": "E0102", "lon": lon, "lat": lat, "description": fmt.Sprintf("第%d件", i)}, http.StatusCreated, &inc)
			cases = append(cases, inc)
		}
		ids := make([]int64, len(cases))
		for i, c := range cases {
			ids[i] = c.ID
		}
		if _, err := conn.Exec(ctx, `UPDATE incidents SET warn_at = now() - interval '2 hours', deadline_at = now() - interval '1 hour' WHERE id = ANY ($1)`, ids); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var escalated int
			conn.QueryRow(ctx, `SELECT count(DISTINCT incident_id) FROM escalations WHERE incident_id = ANY ($1)`, ids).Scan(&escalated)
			mu.Lock()
			reports := 0
			for _, c := range cases {
				if got[fmt.Sprintf("report/%d", c.ID)] > 0 {
					reports++
				}
			}
			mu.Unlock()
			if escalated == len(cases) && reports == len(cases) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30 s: %d of %d cases escalated, %d reports delivered", escalated, len(cases), reports)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Both replicas' schedulers and delivery loops run several more
		// passes: nothing may happen twice.
		time.Sleep(3 * time.Second)
		var twice int
		conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT incident_id, deadline_at FROM escalations WHERE incident_id = ANY ($1)
			GROUP BY 1, 2 HAVING count(*) > 1) x`, ids).Scan(&twice)
		var escalateEvents int
		conn.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE incident_id = ANY ($1) AND action = 'escalate'`, ids).Scan(&escalateEvents)
		if twice != 0 || escalateEvents > len(cases) {
			t.Fatalf("escalated twice: %d cases; %d escalation events for %d cases", twice, escalateEvents, len(cases))
		}
		mu.Lock()
		defer mu.Unlock()
		for k, n := range got {
			if n != 1 {
				t.Errorf("webhook %s delivered %d times", k, n)
			}
		}
	})

	t.Run("SIGKILL in the middle of an activation", func(t *testing.T) {
		c, proc := killableServe(t, dbURL)
		// Hold the generations' rows, so that c's activation of 3 waits
		// inside its transaction; kill c there.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT id FROM generations FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		go func() {
			req, _ := http.NewRequest("POST", c+"/api/v1/generations/3/activate", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		waiting := false
		for i := 0; i < 200 && !waiting; i++ {
			tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND pid <> pg_backend_pid())`).Scan(&waiting)
			time.Sleep(25 * time.Millisecond)
		}
		if !waiting {
			t.Fatal("c's activation never reached the database")
		}
		if err := proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		// The dead replica's transaction goes with its connection.
		var active int
		for i := 0; i < 100; i++ {
			var waitingStill bool
			conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%generations%' AND state LIKE 'idle in transaction%')`).Scan(&waitingStill)
			if !waitingStill {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := conn.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&active); err != nil {
			t.Fatalf("after the kill there is not one active generation: %v", err)
		}
		for _, base := range []string{a, b} {
			l, s := servedGeneration(t, base, lon, lat)
			if l != active || s != active {
				t.Fatalf("%s serves %d / %d, the database says %d is active", base, l, s, active)
			}
		}
		if active != 2 {
			t.Fatalf("the killed replica's activation of 3 was committed (active %d)", active)
		}
		// And the survivors carry on: b activates 3.
		call(t, "POST", b+"/api/v1/generations/3/activate", nil, nil, http.StatusOK, nil)
		start := time.Now()
		for {
			l, s := servedGeneration(t, a, lon, lat)
			if l == 3 && s == 3 {
				break
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("a serves %d / %d after b activated 3", l, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
