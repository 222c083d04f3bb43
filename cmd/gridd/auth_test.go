package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// principalClient makes requests as one principal: a bearer token, or a
// session cookie after POST /api/v1/login. It does not use devAuth.
type principalClient struct {
	name   string
	base   string
	bearer string
	c      *http.Client
}

func newClient(base, name string) *principalClient {
	jar, _ := cookiejar.New(nil)
	return &principalClient{name: name, base: base, c: &http.Client{Jar: jar, Transport: http.DefaultTransport}}
}

// do sends a request (JSON body unless body is url.Values) and checks the
// status; it returns the body.
func (p *principalClient) do(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	} else if method != "GET" && method != "HEAD" {
		req.Header.Set("Origin", p.base) // as the console's browser does: its cookie changes nothing without it
	}
	resp, err := p.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s: %s %s: status %d, want %d: %s", p.name, method, path, resp.StatusCode, want, out)
	}
	if want >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !strings.HasPrefix(path, "/open311/") {
		var e apiError
		if json.Unmarshal(out, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s: %s %s: error body %s", p.name, method, path, out)
		}
	}
	return out
}

func (p *principalClient) json(t *testing.T, method, path string, body any, want int, v any) {
	t.Helper()
	b := p.do(t, method, path, body, want)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %s %s: %v: %s", p.name, method, path, err, b)
	}
}

var shownOnce = regexp.MustCompile(`password \(shown once\): (\S+)`)

// addUser creates an account with the CLI and logs it in.
func addUser(t *testing.T, dbURL, base, login, role, scope string, extra ...string) *principalClient {
	t.Helper()
	out := mustGridd(t, append([]string{"user", "add", "--db", dbURL, "--login", login, "--role", role, "--scope", scope}, extra...)...)
	m := shownOnce.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("user add printed %q", out)
	}
	c := newClient(base, login)
	c.do(t, "POST", "/api/v1/login", map[string]string{"login": login, "password": m[1]}, http.StatusOK)
	return c
}

// addToken creates an API token with the CLI.
func addToken(t *testing.T, dbURL, base, name, role, scope string) (*principalClient, int64) {
	t.Helper()
	out := mustGridd(t, "token", "create", "--db", dbURL, "--name", name, "--role", role, "--scope", scope)
	var id int64
	var secret string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "gridd_") {
			secret = l
		}
	}
	if _, err := fmt.Sscanf(out, "token %d", &id); err != nil || secret == "" {
		t.Fatalf("token create printed %q", out)
	}
	c := newClient(base, name)
	c.bearer = secret
	return c, id
}

// TestAccessControl shows each role and scope allowed and refused across
// the API, Open311, SSE and tiles, reporters' data masked, and the audit
// log recording each change, on the demo city.
func TestAccessControl(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	s1, s2 := twoStreets(t, conn) // a grid and a point in each
	tl := maptile.At(orb.Point{s1.lon, s1.lat}, 10)
	tilePath := fmt.Sprintf("/tiles/grids/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
	base := serve(t, dbURL)
	dev := newClient(base, "dev")
	devAuth.mu.Lock()
	dev.bearer = devAuth.tokens[strings.TrimPrefix(base, "http://")]
	devAuth.mu.Unlock()

	// A 城管 responsible for both grids: cases there are assigned to them.
	var cg geo.Person
	dev.json(t, "POST", "/api/v1/people", geo.Person{Name: "城管乙", Phone: "13800000002", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.grid, Role: geo.RoleChengguan}, {Code: s2.grid, Role: geo.RoleChengguan}}}, http.StatusCreated, &cg)
	report := func(p streetPlace, name string) map[string]any {
		return map[string]any{"category": "E0102", "lon": p.lon, "lat": p.lat, "description": "占道经营",
			"reporter": map[string]string{"name": name, "phone": "13812341234"}}
	}

	anon := newClient(base, "anonymous")
	admin := addUser(t, dbURL, base, "root", "admin", "")
	gisU := addUser(t, dbURL, base, "gis1", "gis", "")
	disp1 := addUser(t, dbURL, base, "disp1", "dispatcher", s1.street, "--name", "街道值班员")
	view2 := addUser(t, dbURL, base, "view2", "viewer", s2.street)
	work := addUser(t, dbURL, base, "cg2", "worker", "", "--person", fmt.Sprint(cg.ID))
	rep1, rep1ID := addToken(t, dbURL, base, "12345 hotline", "reporter", s1.street)

	var inc1, inc2, inc3 geo.Incident
	t.Run("no credentials", func(t *testing.T) {
		anon.do(t, "GET", "/healthz", nil, http.StatusOK)
		anon.do(t, "GET", "/", nil, http.StatusOK)
		anon.do(t, "GET", "/open311/v2/services.json", nil, http.StatusOK)
		for _, path := range []string{"/api/v1/me", "/api/v1/incidents", "/api/v1/locate?lon=121.5&lat=29.8", "/api/v1/generations",
			tilePath, "/tiles/style.json", "/ogc/collections", "/api/v1/events", "/api/v1/audit"} {
			anon.do(t, "GET", path, nil, http.StatusUnauthorized)
		}
		anon.do(t, "POST", "/api/v1/incidents", report(s1, "x"), http.StatusUnauthorized)
		anon.do(t, "POST", "/api/v1/merges", "{}", http.StatusUnauthorized)
		bad := newClient(base, "bad token")
		bad.bearer = "gridd_notatoken"
		bad.do(t, "GET", "/api/v1/me", nil, http.StatusUnauthorized)
		anon.do(t, "POST", "/api/v1/login", map[string]string{"login": "root", "password": "wrong-password"}, http.StatusUnauthorized)
		anon.do(t, "POST", "/api/v1/login", map[string]string{"login": "nobody", "password": "wrong-password"}, http.StatusUnauthorized)
	})

	t.Run("me", func(t *testing.T) {
		var p geo.Principal
		disp1.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &p)
		if p.Kind != "user" || p.Name != "disp1" || p.Role != geo.AccessDispatcher || p.Scope != s1.street || p.Display != "街道值班员" {
			t.Fatalf("me: %+v", p)
		}
		rep1.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &p)
		if p.Kind != "token" || p.Name != "12345 hotline" || p.Role != geo.AccessReporter || p.Scope != s1.street {
			t.Fatalf("me (token): %+v", p)
		}
	})

	t.Run("reporter", func(t *testing.T) {
		rep1.json(t, "POST", "/api/v1/incidents", report(s1, "张三"), http.StatusCreated, &inc1)
		if inc1.Reporter.Name != "张*" || inc1.Reporter.Phone != "138****1234" || inc1.Assignee == nil || inc1.Assignee.ID != cg.ID {
			t.Fatalf("reporter's incident: reporter %+v, assignee %+v", inc1.Reporter, inc1.Assignee)
		}
		rep1.do(t, "POST", "/api/v1/incidents", report(s2, "李四"), http.StatusForbidden) // outside its street
		rep1.do(t, "GET", "/api/v1/incidents", nil, http.StatusForbidden)
		rep1.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc1.ID), nil, http.StatusForbidden)
		rep1.do(t, "POST", "/api/v1/merges", "{}", http.StatusForbidden)
		rep1.do(t, "GET", tilePath, nil, http.StatusForbidden)
		// Open311's api_key is a token.
		form := url.Values{"service_code": {"E0102"}, "lat": {fmt.Sprint(s1.lat)}, "long": {fmt.Sprint(s1.lon)}, "api_key": {rep1.bearer}}
		anon.do(t, "POST", "/open311/v2/requests.json", form, http.StatusCreated)
		form.Set("api_key", "gridd_forged")
		anon.do(t, "POST", "/open311/v2/requests.json", form, http.StatusUnauthorized)
		dev.json(t, "POST", "/api/v1/incidents", report(s2, "王五"), http.StatusCreated, &inc2)
		dev.json(t, "POST", "/api/v1/incidents", report(s1, "赵六"), http.StatusCreated, &inc3)
	})

	t.Run("dispatcher scoped to a street", func(t *testing.T) {
		var list struct{ Incidents []geo.Incident }
		disp1.json(t, "GET", "/api/v1/incidents", nil, http.StatusOK, &list)
		if len(list.Incidents) != 3 { // inc1, the Open311 one, inc3
			t.Fatalf("dispatcher of %s sees %d incidents", s1.street, len(list.Incidents))
		}
		for _, inc := range list.Incidents {
			if !strings.HasPrefix(inc.Location.Grid.Code, s1.street) || inc.Reporter.Phone == "138****1234" {
				t.Fatalf("dispatcher sees %d at %s, reporter %+v", inc.ID, inc.Location.Grid.Code, inc.Reporter)
			}
		}
		disp1.do(t, "GET", "/api/v1/incidents?area="+s2.street, nil, http.StatusForbidden) // a forged area
		disp1.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc2.ID), nil, http.StatusForbidden)
		disp1.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d/events", inc2.ID), nil, http.StatusForbidden)
		disp1.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc2.ID), map[string]any{"action": "register", "version": 1}, http.StatusForbidden)
		disp1.json(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc1.ID), map[string]any{"action": "register", "version": 1}, http.StatusOK, &inc1)
		disp1.json(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc1.ID), map[string]any{"action": "dispatch", "version": 2}, http.StatusOK, &inc1)
		if inc1.State != geo.StateDispatched || inc1.Reporter.Name != "张三" {
			t.Fatalf("after dispatch: %s, reporter %+v", inc1.State, inc1.Reporter)
		}
		var m struct{ Area string }
		disp1.json(t, "GET", "/api/v1/metrics?area=330212", nil, http.StatusOK, &m)
		if m.Area != s1.street {
			t.Fatalf("metrics of the district for a street dispatcher: area %s", m.Area)
		}
		disp1.do(t, "GET", "/api/v1/metrics?area="+s2.street, nil, http.StatusForbidden)
		disp1.do(t, "POST", "/api/v1/merges", "{}", http.StatusForbidden)
		disp1.do(t, "POST", "/api/v1/generations/1/activate", nil, http.StatusForbidden)
		disp1.do(t, "GET", "/api/v1/generations/1/export?level=street", nil, http.StatusForbidden)
		disp1.do(t, "POST", "/api/v1/people", geo.Person{Name: "x"}, http.StatusForbidden) // unscoped only
		disp1.do(t, "GET", "/api/v1/audit", nil, http.StatusForbidden)
	})

	t.Run("viewer scoped to another street", func(t *testing.T) {
		var list struct{ Incidents []geo.Incident }
		view2.json(t, "GET", "/api/v1/incidents", nil, http.StatusOK, &list)
		if len(list.Incidents) != 1 || list.Incidents[0].ID != inc2.ID || list.Incidents[0].Reporter.Name != "王*" || list.Incidents[0].Reporter.Phone != "138****1234" {
			t.Fatalf("viewer of %s sees %+v", s2.street, list.Incidents)
		}
		view2.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc1.ID), nil, http.StatusForbidden)
		view2.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc2.ID), map[string]any{"action": "register", "version": 1}, http.StatusForbidden)
		view2.do(t, "POST", "/api/v1/incidents", report(s2, "x"), http.StatusForbidden)
		view2.do(t, "GET", tilePath, nil, http.StatusOK)
		view2.do(t, "GET", "/api/v1/locate?lon=121.55&lat=29.85", nil, http.StatusOK) // geography is not scoped
		view2.do(t, "GET", "/api/v1/generations/1/export?level=street", nil, http.StatusForbidden)
	})

	t.Run("gis", func(t *testing.T) {
		gisU.do(t, "POST", "/api/v1/merges", `{"sliver_area_m2": -5}`, http.StatusBadRequest) // past the gate, refused by validation
		gisU.do(t, "POST", "/api/v1/layers", nil, http.StatusBadRequest)
		gisU.do(t, "POST", "/api/v1/generations/99/activate", nil, http.StatusNotFound)
		gisU.do(t, "POST", "/api/v1/generations/1/activate", nil, http.StatusOK)
		if b := gisU.do(t, "GET", "/api/v1/generations/1/export?level=street&format=csv", nil, http.StatusOK); !bytes.Contains(b, []byte(s2.street)) {
			t.Fatalf("export: %.200s", b)
		}
		gisU.do(t, "GET", "/api/v1/incidents", nil, http.StatusForbidden)
		gisU.do(t, "POST", "/api/v1/incidents", report(s1, "x"), http.StatusForbidden)
		view2.do(t, "POST", "/api/v1/layers", nil, http.StatusForbidden)
	})

	t.Run("worker", func(t *testing.T) {
		var list struct{ Incidents []geo.Incident }
		work.json(t, "GET", "/api/v1/incidents", nil, http.StatusOK, &list)
		if len(list.Incidents) != 4 {
			t.Fatalf("the worker sees %d incidents, want the 4 assigned", len(list.Incidents))
		}
		var other geo.Person
		dev.json(t, "POST", "/api/v1/people", geo.Person{Name: "网格员", Active: true}, http.StatusCreated, &other)
		lone := addUser(t, dbURL, base, "lone", "worker", "", "--person", fmt.Sprint(other.ID))
		lone.json(t, "GET", "/api/v1/incidents", nil, http.StatusOK, &list)
		if len(list.Incidents) != 0 {
			t.Fatalf("a worker with no cases sees %d", len(list.Incidents))
		}
		lone.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc1.ID), nil, http.StatusForbidden)
		lone.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc1.ID), map[string]any{"action": "accept", "version": inc1.Version}, http.StatusForbidden)
		work.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc2.ID), map[string]any{"action": "register", "version": 1}, http.StatusForbidden)
		work.json(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc1.ID), map[string]any{"action": "accept", "version": inc1.Version}, http.StatusOK, &inc1)
		work.json(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc1.ID), map[string]any{"action": "handle", "version": inc1.Version}, http.StatusOK, &inc1)
		if inc1.State != geo.StateHandled || inc1.Reporter.Name != "张*" {
			t.Fatalf("after handle: %s %+v", inc1.State, inc1.Reporter)
		}
		// A forged role header is ignored for real accounts.
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, inc1.ID), strings.NewReader(fmt.Sprintf(`{"action":"verify","version":%d}`, inc1.Version)))
		req.Header.Set("X-Gridd-Role", "operator")
		req.Header.Set("X-Gridd-Actor", "someone else")
		resp, err := work.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a worker claiming the operator's role: %d", resp.StatusCode)
		}
	})

	t.Run("events per scope", func(t *testing.T) {
		sseCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		stream := func(c *principalClient) <-chan geo.IncidentEvent {
			req, _ := http.NewRequestWithContext(sseCtx, "GET", base+"/api/v1/events", nil)
			resp, err := c.c.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: events: %v %v", c.name, err, resp)
			}
			ch := make(chan geo.IncidentEvent, 16)
			go func() {
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
						var e geo.IncidentEvent
						json.Unmarshal([]byte(d), &e)
						ch <- e
					}
				}
			}()
			return ch
		}
		ev1, ev2 := stream(disp1), stream(view2)
		// Both are subscribed: the stream answers only once it is.
		var a, b geo.Incident
		dev.json(t, "POST", "/api/v1/incidents", report(s1, "甲"), http.StatusCreated, &a)
		dev.json(t, "POST", "/api/v1/incidents", report(s2, "乙"), http.StatusCreated, &b)
		// inStreet fails the test if e is about a case outside street: a
		// stream shows its subscriber's scope only.
		inStreet := func(e geo.IncidentEvent, street string) {
			var got string
			if err := conn.QueryRow(ctx, `SELECT street_code FROM incidents WHERE id = $1`, e.IncidentID).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != street {
				t.Fatalf("a stream scoped to %s got an event of incident %d of %s", street, e.IncidentID, got)
			}
		}
		// next is a stream's next event about one of the cases ids; events
		// of earlier subtests' cases may still be arriving, but in scope.
		next := func(ch <-chan geo.IncidentEvent, street string, ids ...int64) geo.IncidentEvent {
			for {
				select {
				case e := <-ch:
					inStreet(e, street)
					if slices.Contains(ids, e.IncidentID) {
						return e
					}
				case <-sseCtx.Done():
					t.Fatal("no event")
					return geo.IncidentEvent{}
				}
			}
		}
		// Each stream's first event of the two is its own street's case:
		// the other street's came in between (a before b) and was not sent.
		if e := next(ev1, s1.street, a.ID, b.ID); e.IncidentID != a.ID {
			t.Fatalf("the dispatcher of %s got an event of incident %d, want %d", s1.street, e.IncidentID, a.ID)
		}
		if e := next(ev2, s2.street, a.ID, b.ID); e.IncidentID != b.ID {
			t.Fatalf("the viewer of %s got an event of incident %d, want %d", s2.street, e.IncidentID, b.ID)
		}
		dev.json(t, "POST", "/api/v1/incidents", report(s1, "丙"), http.StatusCreated, &a)
		if e := next(ev1, s1.street, a.ID); e.IncidentID != a.ID {
			t.Fatalf("dispatcher: event of %d, want %d", e.IncidentID, a.ID)
		}
		wait := time.After(300 * time.Millisecond)
		for done := false; !done; {
			select {
			case e := <-ev2:
				inStreet(e, s2.street)
			case <-wait:
				done = true
			}
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		mustGridd(t, "token", "revoke", "--db", dbURL, fmt.Sprint(rep1ID))
		rep1.do(t, "GET", "/api/v1/me", nil, http.StatusUnauthorized)
		if out := mustGridd(t, "token", "list", "--db", dbURL); !strings.Contains(out, "12345 hotline") {
			t.Fatalf("token list: %s", out)
		}
	})

	t.Run("logout", func(t *testing.T) {
		c := addUser(t, dbURL, base, "leaver", "viewer", "")
		c.do(t, "GET", "/api/v1/me", nil, http.StatusOK)
		c.do(t, "POST", "/api/v1/logout", nil, http.StatusNoContent)
		c.do(t, "GET", "/api/v1/me", nil, http.StatusUnauthorized)
	})

	t.Run("audit", func(t *testing.T) {
		var got struct{ Entries []geo.AuditEntry }
		admin.json(t, "GET", "/api/v1/audit?limit=1000", nil, http.StatusOK, &got)
		seen := map[string]geo.AuditEntry{}
		for _, e := range got.Entries {
			if _, ok := seen[e.Action+" "+e.ActorName]; !ok {
				seen[e.Action+" "+e.ActorName] = e
			}
		}
		for _, want := range []string{"user.create cli:", "token.create cli:", "token.revoke cli:", "session.login disp1", "session.login_failed root",
			"incident.create token:12345 hotline", "incident.transition disp1", "incident.transition cg2", "generation.activate gis1", "person.create dev"} {
			found := false
			for k := range seen {
				if strings.HasPrefix(k, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no audit entry %q", want)
			}
		}
		// A case's creation is one entry, written with the case (its
		// transaction), naming who, from where, and the case.
		creates := map[string]int{}
		for _, e := range got.Entries {
			if e.Action == "incident.create" {
				creates[e.Target]++
				if !strings.HasPrefix(e.Target, "incident:") || e.Remote == "" || e.Status != http.StatusCreated ||
					!bytes.Contains(e.After, []byte(`"category"`)) {
					t.Errorf("incident.create entry %+v", e)
				}
			}
		}
		for target, n := range creates {
			if n != 1 {
				t.Errorf("%d incident.create entries for %s", n, target)
			}
		}
		var handle *geo.AuditEntry
		for i, e := range got.Entries {
			if e.Action == "incident.transition" && e.ActorName == "cg2" && e.Target == fmt.Sprintf("incident:%d", inc1.ID) {
				handle = &got.Entries[i]
				break // newest first: the handle
			}
		}
		if handle == nil || handle.Remote == "" || !strings.HasPrefix(handle.Credential, "session:") ||
			!bytes.Contains(handle.Before, []byte(`"state":"accepted"`)) || !bytes.Contains(handle.After, []byte(`"state":"handled"`)) {
			t.Fatalf("the handle's audit entry: %+v", handle)
		}
		admin.json(t, "GET", "/api/v1/audit?action=generation.&actor=gis1", nil, http.StatusOK, &got)
		if len(got.Entries) != 1 || got.Entries[0].Action != "generation.activate" {
			t.Fatalf("filtered audit: %+v", got.Entries)
		}
		admin.do(t, "GET", "/api/v1/audit?limit=0", nil, http.StatusBadRequest)
		// Append-only, whoever asks.
		for _, sql := range []string{`UPDATE audit_log SET actor_name = 'nobody'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
			if _, err := conn.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v", sql, err)
			}
		}
	})

	t.Run("login lockout", func(t *testing.T) {
		c := newClient(base, "guesser")
		for i := 0; i < 5; i++ {
			c.do(t, "POST", "/api/v1/login", map[string]string{"login": "view2", "password": fmt.Sprint("guess", i)}, http.StatusUnauthorized)
		}
		c.do(t, "POST", "/api/v1/login", map[string]string{"login": "view2", "password": "whatever"}, http.StatusTooManyRequests)
	})

	t.Run("hostile requests", func(t *testing.T) {
		count := func() string {
			var s string
			if err := conn.QueryRow(ctx, `SELECT concat_ws(',', (SELECT count(*) FROM incidents), (SELECT max(version) FROM incidents),
				(SELECT count(*) FROM users), (SELECT count(*) FROM api_tokens), (SELECT count(*) FROM people), (SELECT count(*) FROM sessions),
				(SELECT count(*) FROM generations WHERE state = 'active'))`).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		before := count()
		sqlish := []string{`' OR '1'='1`, `1; DROP TABLE incidents; --`, `330212001%`, `\x00`, `"}`}
		for _, x := range sqlish {
			q := url.QueryEscape(x)
			for _, c := range []*principalClient{disp1, dev} {
				req, _ := http.NewRequest("GET", base+"/api/v1/incidents?area="+q, nil)
				if c.bearer != "" {
					req.Header.Set("Authorization", "Bearer "+c.bearer)
				}
				resp, err := c.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode < 400 || resp.StatusCode >= 500 {
					t.Errorf("%s: GET incidents?area=%s: %d", c.name, q, resp.StatusCode)
				}
			}
			anon.do(t, "POST", "/api/v1/login", map[string]string{"login": x, "password": x + "xxxxxxxx"}, http.StatusUnauthorized)
			dev.do(t, "POST", "/api/v1/incidents", map[string]any{"category": x, "lon": s1.lon, "lat": s1.lat}, http.StatusBadRequest)
			dev.do(t, "POST", "/api/v1/incidents", map[string]any{"category": "E0102", "lon": s1.lon, "lat": s1.lat, "srs": x}, http.StatusBadRequest)
			disp1.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", inc3.ID), map[string]any{"action": x, "version": 1}, http.StatusBadRequest)
		}
		for _, body := range []string{`{"category":"E0102","lon":1e400,"lat":29.8}`, `{"category":"E0102","lon":"NaN","lat":29.8}`,
			`{"category":"E0102","lon":121.5,"lat":29.8,"reporter":"x"}`, `{"category":["E0102"]}`, `[]`, `{"category":"E0102","lon":121.5,"lat":29.8,"scope":""}`,
			`{"category":"E0102","lon":999999999999999999999,"lat":29.8}`, `{` + strings.Repeat(`"a":1,`, 200_000) + `"b":1}`} {
			req, _ := http.NewRequest("POST", base+"/api/v1/incidents", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+dev.bearer)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("POST incidents %.60s: %d", body, resp.StatusCode)
			}
		}
		for _, path := range []string{"/api/v1/incidents/99999999999999999999999", "/api/v1/incidents?limit=1000000", "/api/v1/incidents?after=-1e9",
			"/api/v1/generations/..%2F..%2Fetc/export", "/api/v1/generations/1/export?level=../../etc/passwd", "/api/v1/metrics?area=330212&from=NaN"} {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Authorization", "Bearer "+dev.bearer)
			resp, err := dev.c.Do(req) // following mux's redirect to the cleaned path
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("GET %s: %d", path, resp.StatusCode)
			}
		}
		if resp, err := http.Get(base + "/../../../../etc/passwd"); err != nil || resp.StatusCode == http.StatusOK && resp.ContentLength > 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("path traversal: %v %v", err, resp)
		}
		if after := count(); after != before {
			t.Fatalf("hostile requests changed the database: %s → %s", before, after)
		}
	})

	t.Run("public tiles", func(t *testing.T) {
		pub := newClient(serve(t, dbURL, "--public-tiles"), "anonymous")
		pub.do(t, "GET", tilePath, nil, http.StatusOK)
		pub.do(t, "GET", "/ogc/collections", nil, http.StatusOK)
		pub.do(t, "GET", "/api/v1/incidents", nil, http.StatusUnauthorized)
	})
}

// TestFirstAdmin: the first serve of an empty database creates admin and
// prints its one-time password, once.
func TestFirstAdmin(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	start := func() (string, string) {
		addr := freeAddr(t)
		var out syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"serve", "--db", dbURL, "--addr", addr}, &out, io.Discard) }()
		t.Cleanup(func() { cancel(); <-done })
		for i := 0; i < 100 && !strings.Contains(out.String(), "serving on"); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		return "http://" + addr, out.String()
	}
	base, out := start()
	m := regexp.MustCompile(`one-time password (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("first serve printed %q", out)
	}
	c := newClient(base, "admin")
	c.do(t, "POST", "/api/v1/login", map[string]string{"login": "admin", "password": m[1]}, http.StatusOK)
	var p geo.Principal
	c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &p)
	if p.Role != geo.AccessAdmin || p.Scope != "" {
		t.Fatalf("first admin: %+v", p)
	}
	if _, out := start(); strings.Contains(out, "password") {
		t.Fatalf("second serve printed %q", out)
	}
	if out := mustGridd(t, "user", "list", "--db", dbURL); strings.Count(out, "admin") != 2 { // login and role
		t.Fatalf("user list: %s", out)
	}
}

// streetPlace is a grid of the demo city, its street and community, and a
// point inside it.
type streetPlace struct {
	street, community, grid string
	lon, lat                float64
}

// twoStreets returns the first grid of each of the demo city's first two
// streets, read from the database.
func twoStreets(t *testing.T, conn *pgx.Conn) (streetPlace, streetPlace) {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT DISTINCT ON (left(code, 9)) left(code, 9), parent_code, code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM areas WHERE generation = 1 AND level = 'grid' ORDER BY left(code, 9), code LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	places, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (streetPlace, error) {
		var p streetPlace
		return p, r.Scan(&p.street, &p.community, &p.grid, &p.lon, &p.lat)
	})
	if err != nil || len(places) != 2 {
		t.Fatalf("two streets: %v %v", err, places)
	}
	return places[0], places[1]
}
