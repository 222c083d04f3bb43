package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// TestDemoPeople is the first start of a new user: `gridd serve --demo` on
// an empty database (what `make run` does), and the second city given its
// people the same way. A case reported through Open311 in a grid is routed
// to a named person of that grid, the dashboard's figures have the months
// of synthetic history in them, and the history is consistent with the
// state machine: each case's events end in its state, its version counts
// them, the open cases are on their assignees' loads.
func TestDemoPeople(t *testing.T) {
	for _, city := range []struct {
		name string
		prep func(t *testing.T) (dbURL string, serveArgs []string)
	}{
		{"demo from make run", func(t *testing.T) (string, []string) {
			return pgtest.NewDatabaseURL(t), []string{"--demo"}
		}},
		{"second city", func(t *testing.T) (string, []string) {
			dbURL := secondCityDatabaseURL(t)
			ctx := context.Background()
			db, err := postgis.Open(ctx, postgis.Config{URL: dbURL})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			gen, err := db.ActiveGeneration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.DemoPeople(ctx, gen, 7, 60); err != nil {
				t.Fatal(err)
			}
			// Only once: the demo's people never mix with others.
			if _, err := db.DemoPeople(ctx, gen, 7, 60); geo.ErrorCode(err) != geo.ECONFLICT {
				t.Fatalf("demo people twice: %v, want a conflict", err)
			}
			return dbURL, nil
		}},
	} {
		t.Run(city.name, func(t *testing.T) {
			ctx := context.Background()
			dbURL, args := city.prep(t)
			base := serve(t, dbURL, args...)
			conn := connect(t, dbURL)

			// Every grid has its 网格长 and both posts of its 专职网格员;
			// every street its 城管 and 市场监管; the district its supervisor.
			var grids, unstaffed, streetsWithout, districtSup int
			if err := conn.QueryRow(ctx, `
				WITH a AS (SELECT a.* FROM areas a JOIN generations g ON g.id = a.generation AND g.state = 'active')
				SELECT (SELECT count(*) FROM a WHERE level = 'grid'),
				       (SELECT count(*) FROM a WHERE level = 'grid' AND (
				           SELECT count(DISTINCT (s.role, s.post)) FROM assignments s
				           WHERE s.area_code = a.code AND (s.role, s.post) IN (('grid_chief', 'A'), ('full_time', 'A'), ('full_time', 'B'))) < 3),
				       (SELECT count(*) FROM a WHERE level = 'street' AND (
				           SELECT count(DISTINCT s.role) FROM assignments s WHERE s.area_code = a.code AND s.role IN ('chengguan', 'market')) < 2),
				       (SELECT count(*) FROM assignments s JOIN a ON a.code = s.area_code AND a.level = 'district' WHERE s.role = 'district_supervisor')`).
				Scan(&grids, &unstaffed, &streetsWithout, &districtSup); err != nil {
				t.Fatal(err)
			}
			if grids == 0 || unstaffed != 0 || streetsWithout != 0 || districtSup != 1 {
				t.Fatalf("%d grids, %d without their three posts, %d streets without 城管 and 市场监管, %d district supervisors", grids, unstaffed, streetsWithout, districtSup)
			}

			// A citizen reports a dispute (矛盾纠纷: 专职网格员) in a grid.
			var gridCode string
			var lon, lat float64
			if err := conn.QueryRow(ctx, `
				SELECT a.code, ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom))
				FROM areas a JOIN generations g ON g.id = a.generation AND g.state = 'active'
				WHERE a.level = 'grid' ORDER BY md5(a.code) LIMIT 1`).Scan(&gridCode, &lon, &lat); err != nil {
				t.Fatal(err)
			}
			var loc geo.Location
			getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, lon, lat), http.StatusOK, &loc)
			gridCode = loc.Grid.Code // the border rule decides, not the point's source grid
			form := url.Values{"service_code": {"E0601"}, "lat": {fmt.Sprint(lat)}, "long": {fmt.Sprint(lon)}, "description": {"邻里纠纷"}}
			resp, err := http.PostForm(base+"/open311/v2/requests.json", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST requests.json: %d", resp.StatusCode)
			}
			var id int64
			if err := conn.QueryRow(ctx, `SELECT max(id) FROM incidents WHERE source = 'open311'`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			op := as("值班员", geo.RoleOperator)
			var inc geo.Incident
			call(t, "GET", base+"/api/v1/incidents/"+strconv.FormatInt(id, 10), op, nil, http.StatusOK, &inc)
			if inc.Assignee == nil || inc.Assignee.Level != geo.Grid || inc.Assignee.Code != gridCode || inc.Assignee.Name == "" || inc.Assignee.Role != geo.RoleFullTime {
				t.Fatalf("the report in grid %s went to %+v (%s)", gridCode, inc.Assignee, inc.AssignReason)
			}
			var holds bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM assignments a JOIN people p ON p.id = a.person_id
				WHERE a.person_id = $1 AND a.area_code = $2 AND a.role = 'full_time' AND p.name = $3)`,
				inc.Assignee.ID, gridCode, inc.Assignee.Name).Scan(&holds); err != nil || !holds {
				t.Fatalf("assignee %+v does not hold the grid's post: %v", inc.Assignee, err)
			}

			// The dashboard's figures for the district over the history.
			district := loc.District.Code
			from := time.Now().AddDate(0, 0, -120).Format(time.RFC3339)
			var m struct {
				Metrics []geo.Metrics `json:"metrics"`
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/metrics?area=%s&from=%s", base, district, url.QueryEscape(from)), op, nil, http.StatusOK, &m)
			if len(m.Metrics) != 1 {
				t.Fatalf("metrics: %+v", m)
			}
			f := m.Metrics[0]
			if f.Received < grids || f.Closed < f.Received/2 || f.ClosedOnTime >= f.Closed || f.ClosedOnTime < f.Closed/2 ||
				f.Reworked == 0 || f.Overdue == 0 || f.MeanHandlingH <= 0 ||
				f.Verdicts == 0 || f.Verdicts > f.CitizenReported || f.SatisfactionRate < 0.7 || f.SatisfactionRate == 1 ||
				f.ReopenedByCitizen == 0 || f.StaffReported == 0 {
				t.Fatalf("district %s figures over the history: %+v", district, f)
			}
			var streets struct {
				Metrics []geo.Metrics `json:"metrics"`
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/metrics?area=%s&from=%s&by=street", base, district, url.QueryEscape(from)), op, nil, http.StatusOK, &streets)
			if len(streets.Metrics) < 2 {
				t.Fatalf("street figures: %+v", streets)
			}

			// The history obeys the state machine's bookkeeping.
			var bad, badLoad, openCases int
			if err := conn.QueryRow(ctx, `
				WITH e AS (SELECT * FROM incident_events WHERE action NOT IN ('approaching', 'overdue', 'escalate', 'verdict') AND summons_id IS NULL), -- the scheduler's, the verdicts and the summons leave the version
				     last AS (SELECT DISTINCT ON (incident_id) incident_id, to_state, version FROM e ORDER BY incident_id, version DESC, id DESC),
				     n AS (SELECT incident_id, count(*) AS events FROM e GROUP BY incident_id)
				SELECT count(*) FROM incidents i JOIN last l ON l.incident_id = i.id JOIN n ON n.incident_id = i.id
				WHERE l.to_state <> i.state OR l.version <> i.version OR n.events <> i.version
				   OR (i.state = 'closed') <> (i.closed_at IS NOT NULL) OR i.handled_at > i.closed_at
				   OR i.created_at > now() OR i.deadline_at <= i.created_at`).Scan(&bad); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRow(ctx, `
				SELECT count(*) FROM people p LEFT JOIN person_load l ON l.person_id = p.id
				WHERE coalesce(l.open_cases, 0) <> (SELECT count(*) FROM incidents i WHERE i.assignee_id = p.id AND i.state NOT IN ('closed', 'cancelled'))`).Scan(&badLoad); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE state NOT IN ('closed', 'cancelled')`).Scan(&openCases); err != nil {
				t.Fatal(err)
			}
			// Every verdict is on a citizen's case, one per case, and a
			// dissatisfied one came with its reopening.
			var badVerdicts int
			if err := conn.QueryRow(ctx, `
				SELECT count(*) FROM verdicts v JOIN incidents i ON i.id = v.incident_id
				WHERE i.source NOT IN ('hotline', 'app', 'open311') OR v.satisfied = v.reopened
				   OR (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'reopen') <> v.reopened::int
				   OR (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'verdict') <> 1`).Scan(&badVerdicts); err != nil {
				t.Fatal(err)
			}
			if bad != 0 || badLoad != 0 || openCases < 2 || badVerdicts != 0 {
				t.Fatalf("%d cases whose record disagrees with its events, %d people with a wrong load, %d open cases, %d bad verdicts", bad, badLoad, openCases, badVerdicts)
			}
			// Some cases summoned a department (吹哨报到): each summons routed to
			// a person of its department, a closed case's summons handled
			// before the case was, an open summons only on an open case.
			var summons, badSummons int
			if err := conn.QueryRow(ctx, `
				SELECT count(*), count(*) FILTER (WHERE (s.assignee_id IS NOT NULL AND p.dept_code IS DISTINCT FROM s.dept_code)
				    OR (i.state = 'closed' AND (s.state <> 'handled' OR s.handled_at > i.closed_at OR s.handled_at < s.accepted_at))
				    OR (s.state NOT IN ('handled', 'cancelled') AND i.state IN ('closed', 'cancelled'))
				    OR (SELECT count(*) FROM incident_events e WHERE e.summons_id = s.id
				        AND e.action NOT IN ('summons_approaching', 'summons_overdue', 'summons_escalate')) <> s.version)
				FROM summons s JOIN incidents i ON i.id = s.incident_id LEFT JOIN people p ON p.id = s.assignee_id`).Scan(&summons, &badSummons); err != nil {
				t.Fatal(err)
			}
			if summons == 0 || badSummons != 0 {
				t.Fatalf("%d demo summons, %d of them inconsistent", summons, badSummons)
			}
		})
	}
}
