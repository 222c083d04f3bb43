package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// TestAreas covers the console's area search and panel (GET
// /api/v1/areas, /api/v1/areas/{code}), the incident tiles and the
// actions each caller is offered, against the demo city: scope, masking
// of phone numbers, counts and drill-down.
func TestAreas(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	// Grids in two streets, with their names, points and the expected
	// chain, read from the database independently of the API.
	type place struct {
		grid, gridName, community, street, streetName string
		lon, lat                                      float64
		grids                                         int // grids in the community
	}
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT ON (left(g.code, 9)) g.code, g.name, g.parent_code, s.code, s.name,
		       ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)),
		       (SELECT count(*) FROM areas x WHERE x.generation = 1 AND x.parent_code = g.parent_code)::int
		FROM areas g JOIN areas s ON s.generation = 1 AND s.code = left(g.code, 9)
		WHERE g.generation = 1 AND g.level = 'grid' ORDER BY left(g.code, 9), g.code LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	places, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (place, error) {
		var p place
		return p, r.Scan(&p.grid, &p.gridName, &p.community, &p.street, &p.streetName, &p.lon, &p.lat, &p.grids)
	})
	if err != nil || len(places) != 2 {
		t.Fatalf("places: %v %v", err, places)
	}
	s1, s2 := places[0], places[1]
	base := serve(t, dbURL)
	dev := newClient(base, "dev")
	devAuth.mu.Lock()
	dev.bearer = devAuth.tokens[strings.TrimPrefix(base, "http://")]
	devAuth.mu.Unlock()

	// A 城管 (A岗, always on duty) and a backup grid worker (B岗, on duty
	// never: a window on a day that is not today would make the test
	// depend on the day, so a 1-minute window at 00:00 Monday).
	var cg, bk geo.Person
	dev.json(t, "POST", "/api/v1/people", geo.Person{Name: "城管丙", Phone: "13800000003", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.grid, Role: geo.RoleChengguan, Post: "A"}}}, http.StatusCreated, &cg)
	dev.json(t, "POST", "/api/v1/people", geo.Person{Name: "网格员丁", Phone: "13900000004", Dept: "zongzhi", Active: true,
		Responsibilities: []geo.Responsibility{{Code: s1.grid, Role: geo.RoleFullTime, Post: "B"}}}, http.StatusCreated, &bk)
	report := func(p place) map[string]any {
		return map[string]any{"category": "E0102", "lon": p.lon, "lat": p.lat, "description": "暴露垃圾"}
	}
	var inc1, inc2 geo.Incident
	dev.json(t, "POST", "/api/v1/incidents", report(s1), http.StatusCreated, &inc1)
	dev.json(t, "POST", "/api/v1/incidents", report(s2), http.StatusCreated, &inc2)
	// One of s1's is overdue already.
	var late geo.Incident
	dev.json(t, "POST", "/api/v1/incidents", report(s1), http.StatusCreated, &late)
	if _, err := conn.Exec(ctx, `UPDATE incidents SET warn_at = now() - interval '2 hours', deadline_at = now() - interval '1 hour' WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}

	disp := addUser(t, dbURL, base, "disp-s1", "dispatcher", s1.street)
	view := addUser(t, dbURL, base, "view-s1", "viewer", s1.street)
	anon := newClient(base, "anonymous")

	type areas struct{ Areas []geo.AreaHit }
	t.Run("search", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			who  *principalClient
			q    string
			want func([]geo.AreaHit) bool
		}{
			{"a grid code", dev, s1.grid, func(h []geo.AreaHit) bool {
				return len(h) == 1 && h[0].Code == s1.grid && h[0].Level == geo.Grid && h[0].ParentCode == s1.community && h[0].BBox[0] < s1.lon && s1.lon < h[0].BBox[2]
			}},
			{"a code prefix, higher levels first", dev, s1.street, func(h []geo.AreaHit) bool {
				return len(h) == 20 && h[0].Code == s1.street && h[1].Level == geo.Community
			}},
			{"a street's name", dev, s1.streetName, func(h []geo.AreaHit) bool {
				return len(h) >= 1 && h[0].Code == s1.street && h[0].Name == s1.streetName
			}},
			{"the district for an unlimited scope", dev, "330212", func(h []geo.AreaHit) bool { return len(h) > 0 && h[0].Code == "330212" }},
			{"the street's dispatcher does not see the district", disp, "330212", func(h []geo.AreaHit) bool {
				return len(h) > 0 && h[0].Code == s1.street && !slices.ContainsFunc(h, func(a geo.AreaHit) bool { return !strings.HasPrefix(a.Code, s1.street) })
			}},
			{"nor another street", disp, s2.grid, func(h []geo.AreaHit) bool { return len(h) == 0 }},
			{"nor by name", disp, s2.streetName, func(h []geo.AreaHit) bool { return len(h) == 0 }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var got areas
				tt.who.json(t, "GET", "/api/v1/areas?q="+url.QueryEscape(tt.q), nil, http.StatusOK, &got)
				if !tt.want(got.Areas) {
					t.Fatalf("q=%s: %+v", tt.q, got.Areas)
				}
			})
		}
		var got areas
		dev.json(t, "GET", "/api/v1/areas?q=3302&limit=3", nil, http.StatusOK, &got)
		if len(got.Areas) != 3 {
			t.Fatalf("limit 3: %d hits", len(got.Areas))
		}
		dev.do(t, "GET", "/api/v1/areas?q=", nil, http.StatusBadRequest)
		dev.do(t, "GET", "/api/v1/areas?q=3302&limit=0", nil, http.StatusBadRequest)
		dev.do(t, "GET", "/api/v1/areas?q=3302&limit=x", nil, http.StatusBadRequest)
		anon.do(t, "GET", "/api/v1/areas?q=3302", nil, http.StatusUnauthorized)
	})

	t.Run("panel", func(t *testing.T) {
		var d geo.AreaDetail
		disp.json(t, "GET", "/api/v1/areas/"+s1.grid, nil, http.StatusOK, &d)
		chain := []string{}
		for _, c := range d.Chain {
			chain = append(chain, c.Code)
		}
		if d.Code != s1.grid || d.Name != s1.gridName || d.Level != geo.Grid || !slices.Equal(chain, []string{"330212", s1.street, s1.community, s1.grid}) ||
			d.Chain[1].Name != s1.streetName || d.AreaM2 <= 0 || len(d.Children) != 0 {
			t.Fatalf("grid panel: %+v", d)
		}
		if d.OpenCases != 2 || d.OverdueCases != 1 {
			t.Fatalf("grid %s: %d open, %d overdue; want 2, 1", s1.grid, d.OpenCases, d.OverdueCases)
		}
		if len(d.People) != 2 || d.People[0].Name != "城管丙" || d.People[0].Role != geo.RoleChengguan || d.People[0].Post != "A" ||
			d.People[0].RoleLabel != "城管队员" || !d.People[0].OnDuty || d.People[0].Phone != "13800000003" ||
			d.People[1].PersonID != bk.ID || d.People[1].Post != "B" {
			t.Fatalf("grid people (dispatcher): %+v", d.People)
		}
		view.json(t, "GET", "/api/v1/areas/"+s1.grid, nil, http.StatusOK, &d)
		if d.People[0].Phone != "138****0003" || d.People[1].Phone != "139****0004" {
			t.Fatalf("a viewer sees phones %q, %q", d.People[0].Phone, d.People[1].Phone)
		}
		// Drill-down: the community lists its grids with their open cases.
		disp.json(t, "GET", "/api/v1/areas/"+s1.community, nil, http.StatusOK, &d)
		if d.Level != geo.Community || len(d.Children) != s1.grids || d.OpenCases != 2 {
			t.Fatalf("community panel: %d children (want %d), %d open", len(d.Children), s1.grids, d.OpenCases)
		}
		i := slices.IndexFunc(d.Children, func(c geo.AreaChild) bool { return c.Code == s1.grid })
		if i < 0 || d.Children[i].OpenCases != 2 || d.Children[i].Level != geo.Grid {
			t.Fatalf("community children: %+v", d.Children)
		}
		dev.json(t, "GET", "/api/v1/areas/330212", nil, http.StatusOK, &d)
		if d.OpenCases != 3 || d.OverdueCases != 1 || len(d.Children) == 0 || d.Children[0].Level != geo.Street {
			t.Fatalf("district panel: %d open, %d overdue, %d children", d.OpenCases, d.OverdueCases, len(d.Children))
		}
		disp.do(t, "GET", "/api/v1/areas/"+s2.grid, nil, http.StatusForbidden)
		disp.do(t, "GET", "/api/v1/areas/330212", nil, http.StatusForbidden)
		dev.do(t, "GET", "/api/v1/areas/330212999", nil, http.StatusNotFound)
		dev.do(t, "GET", "/api/v1/areas/12345", nil, http.StatusBadRequest)
	})

	t.Run("incident tiles", func(t *testing.T) {
		ids := func(who *principalClient, p place, query string, want int) map[int64]string {
			t.Helper()
			tl := maptile.At(orb.Point{p.lon, p.lat}, 15)
			b := who.do(t, "GET", fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt%s", tl.Z, tl.X, tl.Y, query), nil, want)
			out := map[int64]string{}
			if want != http.StatusOK {
				return out
			}
			layers, err := mvt.Unmarshal(b)
			if err != nil || len(layers) != 1 || layers[0].Name != "incidents" {
				t.Fatalf("incident tile: %v %v", err, layers)
			}
			for _, f := range layers[0].Features {
				out[int64(f.ID.(float64))] = f.Properties.MustString("due")
			}
			return out
		}
		got := ids(disp, s1, "", http.StatusOK)
		if len(got) != 2 || got[inc1.ID] != "ok" || got[late.ID] != "overdue" {
			t.Fatalf("dispatcher's tile at s1: %v", got)
		}
		ids(disp, s2, "", http.StatusNoContent) // s2's case is outside the dispatcher's street
		if got := ids(dev, s2, "", http.StatusOK); len(got) != 1 || got[inc2.ID] != "ok" {
			t.Fatalf("dev's tile at s2: %v", got)
		}
		ids(dev, s1, "?state=closed", http.StatusNoContent)
		ids(dev, s1, "?area=12", http.StatusBadRequest)
		ids(dev, s1, "?state=closed,bogus", http.StatusBadRequest) // the list's rule: known states only
		anon.do(t, "GET", "/tiles/incidents/15/0/0.mvt", nil, http.StatusUnauthorized)
	})

	t.Run("allowed actions", func(t *testing.T) {
		var inc geo.Incident
		disp.json(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc1.ID), nil, http.StatusOK, &inc)
		if !slices.Equal(inc.AllowedActions, []geo.Action{geo.ActRegister, geo.ActCancel}) {
			t.Fatalf("dispatcher may %v", inc.AllowedActions)
		}
		var seen geo.Incident
		view.json(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc1.ID), nil, http.StatusOK, &seen)
		if len(seen.AllowedActions) != 0 || len(seen.NextActions) != 2 {
			t.Fatalf("viewer may %v (next %v)", seen.AllowedActions, seen.NextActions)
		}
	})
}
