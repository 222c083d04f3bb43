package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/gridd/gridd/geo"
)

// TestSummonsOverHTTP is 吹哨报到 over the API on the demo city and the
// second one: the centre summons 公安 and 市场监管 on a case; each
// department's account sees its own summons in its queue and not the
// other's; the case closes only once both have reported back.
func TestSummonsOverHTTP(t *testing.T) {
	for _, city := range []struct {
		name string
		url  func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(city.name, func(t *testing.T) {
			dbURL := city.url(t)
			conn := connect(t, dbURL)
			var lon, lat float64
			if err := conn.QueryRow(context.Background(), `
				SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas a JOIN generations n ON n.id = a.generation AND n.state = 'active'
				WHERE a.level = 'grid' ORDER BY md5(a.code) LIMIT 1) g`).Scan(&lon, &lat); err != nil {
				t.Fatal(err)
			}
			base := serve(t, dbURL)
			op := as("值班员", geo.RoleOperator)
			var loc geo.Location
			getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, lon, lat), http.StatusOK, &loc)
			person := func(name, dept, code string, role geo.Role) geo.Person {
				var p geo.Person
				call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: name, Dept: dept, Active: true,
					Responsibilities: []geo.Responsibility{{Code: code, Role: role}}}, http.StatusCreated, &p)
				return p
			}
			person("城管甲", "chengguan", loc.Grid.Code, geo.RoleChengguan)
			police := person("民警乙", "gongan", loc.Community.Code, geo.RolePolice)
			market := person("市场丙", "shichang", loc.Street.Code, geo.RoleMarket)
			var depts struct{ Departments []geo.Department }
			call(t, "GET", base+"/api/v1/departments", op, nil, http.StatusOK, &depts)
			if len(depts.Departments) < 6 {
				t.Fatalf("departments: %+v", depts)
			}

			var inc geo.Incident
			call(t, "POST", base+"/api/v1/incidents", op, map[string]any{"category": "E0102", "lon": lon, "lat": lat, "description": "占道堆物"},
				http.StatusCreated, &inc)
			step := func(a geo.Action, role geo.Role, want int) {
				t.Helper()
				var out geo.Incident
				call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, inc.ID), as("x", role),
					map[string]any{"action": a, "version": inc.Version}, want, &out)
				if want == http.StatusOK {
					inc = out
				}
			}
			step(geo.ActRegister, geo.RoleOperator, http.StatusOK)
			step(geo.ActDispatch, geo.RoleOperator, http.StatusOK)
			step(geo.ActAccept, geo.RoleChengguan, http.StatusOK)

			var made struct{ Summons []geo.Summons }
			call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/summons", base, inc.ID), op,
				map[string]any{"depts": []string{"gongan", "shichang"}, "task": "联合清理", "version": inc.Version}, http.StatusCreated, &made)
			if len(made.Summons) != 2 || made.Summons[0].Assignee == nil || made.Summons[0].Assignee.ID != police.ID ||
				made.Summons[1].Assignee == nil || made.Summons[1].Assignee.ID != market.ID {
				t.Fatalf("summons: %+v", made.Summons)
			}
			call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/summons", base, inc.ID), op,
				map[string]any{"depts": []string{"gongan"}, "task": "again"}, http.StatusConflict, nil)
			call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/summons", base, inc.ID), op,
				map[string]any{"depts": []string{"nosuch"}, "task": "x"}, http.StatusBadRequest, nil)

			// Each department's account sees its summons, not the other's.
			ga := addUser(t, dbURL, base, "gongan-"+strconv.FormatInt(police.ID, 10), "worker", loc.District.Code, "--person", strconv.FormatInt(police.ID, 10))
			sc := addUser(t, dbURL, base, "shichang-"+strconv.FormatInt(market.ID, 10), "worker", loc.District.Code, "--person", strconv.FormatInt(market.ID, 10))
			for _, tt := range []struct {
				c    *principalClient
				dept string
				sum  geo.Summons
			}{{ga, "gongan", made.Summons[0]}, {sc, "shichang", made.Summons[1]}} {
				var q struct{ Summons []geo.Summons }
				tt.c.json(t, "GET", "/api/v1/summons", nil, http.StatusOK, &q)
				if len(q.Summons) != 1 || q.Summons[0].ID != tt.sum.ID || q.Summons[0].Dept != tt.dept || len(q.Summons[0].AllowedActions) == 0 {
					t.Fatalf("%s's queue: %+v", tt.dept, q.Summons)
				}
				other := made.Summons[0].ID + made.Summons[1].ID - tt.sum.ID
				tt.c.do(t, "GET", fmt.Sprintf("/api/v1/summons/%d", other), nil, http.StatusForbidden)
			}
			// 公安 reports back; closing still waits for 市场监管.
			s := made.Summons[0]
			for _, a := range []geo.SummonsAction{geo.SumAccept, geo.SumHandle} {
				ga.json(t, "POST", fmt.Sprintf("/api/v1/summons/%d/transitions", s.ID), map[string]any{"action": a, "version": s.Version, "note": "已处理"}, http.StatusOK, &s)
			}
			sc.do(t, "POST", fmt.Sprintf("/api/v1/summons/%d/transitions", s.ID), map[string]any{"action": "rework", "version": s.Version, "note": "x"}, http.StatusForbidden)
			step(geo.ActHandle, geo.RoleChengguan, http.StatusOK)
			step(geo.ActVerify, geo.RoleOperator, http.StatusConflict)
			m := made.Summons[1]
			for _, a := range []geo.SummonsAction{geo.SumAccept, geo.SumHandle} {
				sc.json(t, "POST", fmt.Sprintf("/api/v1/summons/%d/transitions", m.ID), map[string]any{"action": a, "version": m.Version, "note": "已检查"}, http.StatusOK, &m)
			}
			step(geo.ActVerify, geo.RoleOperator, http.StatusOK)
			step(geo.ActClose, geo.RoleOperator, http.StatusOK)

			var listed struct{ Summons []geo.Summons }
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/summons", base, inc.ID), op, nil, http.StatusOK, &listed)
			if len(listed.Summons) != 2 || listed.Summons[0].State != geo.SummonsHandled || listed.Summons[1].State != geo.SummonsHandled {
				t.Fatalf("the case's summons: %+v", listed.Summons)
			}
			var fig struct{ Departments []geo.DeptMetrics }
			call(t, "GET", base+"/api/v1/summons/metrics?area="+loc.District.Code, op, nil, http.StatusOK, &fig)
			for _, d := range fig.Departments {
				if (d.Dept == "gongan" || d.Dept == "shichang") && (d.Summoned != 1 || d.Handled != 1 || d.OnTime != 1) {
					t.Errorf("%s's figures: %+v", d.Dept, d)
				}
			}
		})
	}
}
