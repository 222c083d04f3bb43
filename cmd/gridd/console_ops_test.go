package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// TestConsoleOps drives the operator side of the console in headless
// Chromium (web/console/test/ops.mjs) on one demo city and one server:
// log in through the form, search a grid and read its chain in the area
// panel, see a case posted through the API arrive in the queue and on the
// map, take it through register, dispatch (to the suggested person),
// verify and close in the case drawer (the handler's steps go through the
// API), and log in as a street's dispatcher who must not see another
// street's case. The database then shows what the clicks did.
func TestConsoleOps(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	// A grid in each of two streets, a point inside each, and the chain
	// of the first as the database has it.
	s1, s2 := twoStreets(t, conn)
	base := serve(t, dbURL)
	devAuth.mu.Lock()
	devToken := devAuth.tokens[strings.TrimPrefix(base, "http://")]
	devAuth.mu.Unlock()

	// A 城管 at each grid: cases there are routed to them.
	var cg1, cg2 geo.Person
	call(t, "POST", base+"/api/v1/people", nil, geo.Person{Name: "城管一", Phone: "13800000011", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.grid, Role: geo.RoleChengguan}}}, http.StatusCreated, &cg1)
	call(t, "POST", base+"/api/v1/people", nil, geo.Person{Name: "城管二", Phone: "13800000012", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s2.grid, Role: geo.RoleChengguan}}}, http.StatusCreated, &cg2)
	// A case in each street before anyone logs in.
	var own, other geo.Incident
	call(t, "POST", base+"/api/v1/incidents", nil, map[string]any{"category": "E0503", "lon": s1.lon, "lat": s1.lat, "description": "占道经营"}, http.StatusCreated, &own)
	call(t, "POST", base+"/api/v1/incidents", nil, map[string]any{"category": "E0503", "lon": s2.lon, "lat": s2.lat, "description": "占道经营"}, http.StatusCreated, &other)

	password := func(login, role, scope string) string {
		t.Helper()
		m := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", login, "--role", role, "--scope", scope, "--name", login))
		if m == nil {
			t.Fatalf("gridd user add %s printed no password", login)
		}
		return m[1]
	}
	// The departments' people for 吹哨报到: 公安 at the community, 市场监管
	// at the street, and the 公安 officer's account.
	var police, market geo.Person
	call(t, "POST", base+"/api/v1/people", nil, geo.Person{Name: "民警三", Phone: "13800000013", Dept: "gongan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.community, Role: geo.RolePolice}}}, http.StatusCreated, &police)
	call(t, "POST", base+"/api/v1/people", nil, geo.Person{Name: "市场四", Phone: "13800000014", Dept: "shichang", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.street, Role: geo.RoleMarket}}}, http.StatusCreated, &market)
	deptPW := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", "gongan1", "--role", "worker",
		"--scope", s1.street, "--name", "gongan1", "--person", strconv.FormatInt(police.ID, 10)))
	if deptPW == nil {
		t.Fatal("gridd user add gongan1 printed no password")
	}
	opsPW := password("ops", "dispatcher", "")
	streetPW := password("street1", "dispatcher", s1.street)

	chain := []string{s1.grid[:6], s1.street, s1.community, s1.grid}
	shot := screenshotPath(t, "console-ops")
	out := runConsoleScript(t, "ops.mjs", base, shot,
		"GRIDD_LOGIN=ops", "GRIDD_PASSWORD="+opsPW,
		"GRIDD_STREET_LOGIN=street1", "GRIDD_STREET_PASSWORD="+streetPW,
		"GRIDD_DEPT_LOGIN=gongan1", "GRIDD_DEPT_PASSWORD="+deptPW[1],
		"GRIDD_DEV_TOKEN="+devToken,
		"GRIDD_GRID="+s1.grid, "GRIDD_CHAIN="+strings.Join(chain, ","),
		fmt.Sprintf("GRIDD_LON=%.8f", s1.lon), fmt.Sprintf("GRIDD_LAT=%.8f", s1.lat),
		fmt.Sprintf("GRIDD_ASSIGNEE=%d", cg1.ID),
		fmt.Sprintf("GRIDD_OWN=%d", own.ID), fmt.Sprintf("GRIDD_OTHER=%d", other.ID))
	var res struct {
		Incident int64    `json:"incident"`
		Chain    []string `json:"chain"`
		QueueMs  int      `json:"queueMs"`
		MapMs    int      `json:"mapMs"`
		States   []string `json:"states"`
		Street   []int64  `json:"streetQueue"`
		Ms       any      `json:"ms"`
		Summons  []struct {
			ID    int64
			Dept  string
			State string
		} `json:"summons"`
		DeptQueue []int64 `json:"deptQueue"`
		Dup       struct {
			Into, Merged int64
			State        string
		} `json:"duplicate"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ops.mjs output %q: %v", out, err)
	}
	if !slices.Equal(res.Chain, chain) {
		t.Fatalf("panel chain %v, want %v", res.Chain, chain)
	}
	if !slices.Contains(res.Street, own.ID) || slices.Contains(res.Street, other.ID) {
		t.Fatalf("street dispatcher's queue %v: want %d, not %d", res.Street, own.ID, other.ID)
	}

	// The summons clicked in the drawer: two children of the case, routed to
	// the departments' people; the officer's queue held 公安's only, and
	// their click made it accepted.
	if len(res.Summons) != 2 || len(res.DeptQueue) != 1 {
		t.Fatalf("summons in the drawer %+v, the officer's queue %v", res.Summons, res.DeptQueue)
	}
	for _, sm := range res.Summons {
		var inc, assignee int64
		var state string
		if err := conn.QueryRow(ctx, `SELECT incident_id, coalesce(assignee_id, 0), state FROM summons WHERE id = $1`, sm.ID).Scan(&inc, &assignee, &state); err != nil {
			t.Fatal(err)
		}
		want, wantState := market.ID, "dispatched"
		if sm.Dept == "gongan" {
			want, wantState = police.ID, "accepted"
			if res.DeptQueue[0] != sm.ID {
				t.Errorf("the officer's queue %v, want summons %d", res.DeptQueue, sm.ID)
			}
		}
		if inc != res.Incident || assignee != want || state != wantState {
			t.Errorf("summons %+v: case %d, assignee %d, %s; want case %d, %d, %s", sm, inc, assignee, state, res.Incident, want, wantState)
		}
	}

	// The merge clicked in the drawer: the repeat is closed, linked to
	// the case it repeats.
	var mergedInto int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(merged_into, 0) FROM incidents WHERE id = $1`, res.Dup.Merged).Scan(&mergedInto); err != nil ||
		mergedInto != res.Dup.Into || res.Dup.State != string(geo.StateClosed) || res.Dup.Into == 0 {
		t.Errorf("the merge in the drawer: %+v, merged_into %d, %v", res.Dup, mergedInto, err)
	}

	// What the clicks did, from the database: the case went through the
	// workflow, the centre's steps by the account that clicked, and the
	// citizen's dissatisfied verdict (through the drawer's link) sent it
	// back to its handler.
	var state string
	var assignee int64
	if err := conn.QueryRow(ctx, `SELECT state, assignee_id FROM incidents WHERE id = $1`, res.Incident).Scan(&state, &assignee); err != nil {
		t.Fatal(err)
	}
	if state != "dispatched" || assignee != cg1.ID {
		t.Fatalf("incident %d: %s, assignee %d (want dispatched again, %d)", res.Incident, state, assignee, cg1.ID)
	}
	evRows, err := conn.Query(ctx, `SELECT action || ':' || actor FROM incident_events WHERE incident_id = $1 ORDER BY id`, res.Incident)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := pgx.CollectRows(evRows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"report:hotline-agent", "register:ops", "dispatch:ops", "accept:cg-1", "handle:cg-1", "verify:ops", "close:ops", "verdict:reporter", "reopen:reporter",
		"summon:ops", "summon:ops", "summons_accept:gongan1"}
	if !slices.Equal(steps, want) {
		t.Fatalf("history %v, want %v", steps, want)
	}
	t.Logf("case %d in the queue after %d ms, on the map after %d ms; browser phases (ms since start) %v; screenshots %s-*.png",
		res.Incident, res.QueueMs, res.MapMs, res.Ms, shot)
}
