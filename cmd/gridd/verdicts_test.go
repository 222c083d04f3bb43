package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
)

// TestVerdictsOverHTTP is 群众签单 as a citizen meets it, on the demo city
// and the second one: a case reported through Open311 is closed; the
// centre makes a signed link, the citizen opens its page (no account),
// answers not satisfied and the case goes back for rework; the page
// refuses a second answer. Another citizen judges with the Open311 token
// through the API. A link past the verdict window answers 410, and the
// metrics count the verdicts.
func TestVerdictsOverHTTP(t *testing.T) {
	for _, city := range []struct {
		name string
		url  func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(city.name, func(t *testing.T) {
			ctx := context.Background()
			dbURL := city.url(t)
			conn := connect(t, dbURL)
			var lon, lat float64
			if err := conn.QueryRow(ctx, `
				SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas a JOIN generations n ON n.id = a.generation AND n.state = 'active'
				WHERE a.level = 'grid' ORDER BY md5(a.code) LIMIT 1) g`).Scan(&lon, &lat); err != nil {
				t.Fatal(err)
			}
			base := serve(t, dbURL)
			op := as("值班员", geo.RoleOperator)
			var loc geo.Location
			getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, lon, lat), http.StatusOK, &loc)
			call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: "城管甲", Dept: "chengguan", Active: true,
				Responsibilities: []geo.Responsibility{{Code: loc.Grid.Code, Role: geo.RoleChengguan}}}, http.StatusCreated, nil)
			call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: "社区督办", Dept: "zongzhi", Active: true,
				Responsibilities: []geo.Responsibility{{Code: loc.Community.Code, Role: geo.RoleCommunitySupervisor}}}, http.StatusCreated, nil)

			// closed reports a case through Open311 and carries it to 结案.
			closed := func() (int64, string) {
				t.Helper()
				form := url.Values{"service_code": {"E0102"}, "lat": {fmt.Sprint(lat)}, "long": {fmt.Sprint(lon)}, "description": {"垃圾"}}
				var created []struct {
					ServiceRequestID string `json:"service_request_id"`
					Token            string `json:"token"`
				}
				resp, err := http.PostForm(base+"/open311/v2/requests.json", form)
				if err != nil {
					t.Fatal(err)
				}
				err = json.NewDecoder(resp.Body).Decode(&created)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusCreated || len(created) != 1 {
					t.Fatalf("POST requests.json: %d %+v %v", resp.StatusCode, created, err)
				}
				id, _ := strconv.ParseInt(created[0].ServiceRequestID, 10, 64)
				version := 1
				for _, st := range []struct {
					a   geo.Action
					who map[string]string
				}{{geo.ActRegister, op}, {geo.ActDispatch, op}, {geo.ActAccept, as("城管甲", geo.RoleChengguan)},
					{geo.ActHandle, as("城管甲", geo.RoleChengguan)}, {geo.ActVerify, as("社区督办", geo.RoleCommunitySupervisor)}, {geo.ActClose, op}} {
					var out geo.Incident
					call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, id), st.who,
						map[string]any{"action": st.a, "version": version}, http.StatusOK, &out)
					version = out.Version
				}
				return id, created[0].Token
			}

			// A signed link and the citizen's page: not satisfied.
			first, _ := closed()
			var link geo.VerdictLink
			call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/verdict-link", base, first), op, nil, http.StatusCreated, &link)
			if !strings.HasPrefix(link.URL, base+"/verdict/") {
				t.Fatalf("link %+v", link)
			}
			page := func(resp *http.Response, err error) func(want int, contains string) {
				return func(want int, contains string) {
					t.Helper()
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != want || !strings.Contains(string(b), contains) {
						t.Fatalf("verdict page: %d, want %d with %q: %s", resp.StatusCode, want, contains, b)
					}
				}
			}
			page(http.Get(link.URL))(http.StatusOK, strconv.FormatInt(first, 10))
			page(http.Get(base+"/verdict/1.2.3"))(http.StatusBadRequest, "not valid")
			page(http.PostForm(link.URL, url.Values{"satisfied": {"no"}, "comment": {"垃圾还在"}}))(http.StatusOK, "重新办理")
			page(http.PostForm(link.URL, url.Values{"satisfied": {"yes"}}))(http.StatusConflict, "一次")
			var inc geo.Incident
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d", base, first), op, nil, http.StatusOK, &inc)
			if inc.State != geo.StateDispatched || inc.ReworkCount != 1 {
				t.Fatalf("after a dissatisfied verdict the case is %s (rework %d)", inc.State, inc.ReworkCount)
			}
			var v geo.Verdict
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/verdict", base, first), op, nil, http.StatusOK, &v)
			if v.Satisfied || !v.Reopened || v.Channel != "link" || v.Comment != "垃圾还在" {
				t.Fatalf("verdict %+v", v)
			}

			// The Open311 token, through the API, no account.
			second, token := closed()
			call(t, "POST", base+"/api/v1/verdicts", noAuth, map[string]any{"token": token}, http.StatusBadRequest, nil)
			call(t, "POST", base+"/api/v1/verdicts", noAuth, map[string]any{"token": token, "satisfied": true, "comment": "好"}, http.StatusCreated, &struct{}{})
			call(t, "POST", base+"/api/v1/verdicts", noAuth, map[string]any{"token": token, "satisfied": false, "comment": "再评"}, http.StatusConflict, nil)
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d", base, second), op, nil, http.StatusOK, &inc)
			if inc.State != geo.StateClosed {
				t.Fatalf("a satisfied verdict left the case %s", inc.State)
			}

			// Past the window: 410 from the API and the page.
			third, _ := closed()
			call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/verdict-link", base, third), op, nil, http.StatusCreated, &link)
			if _, err := conn.Exec(ctx, `UPDATE incidents SET closed_at = now() - interval '8 days' WHERE id = $1`, third); err != nil {
				t.Fatal(err)
			}
			call(t, "POST", base+"/api/v1/verdicts", noAuth, map[string]any{"link": link.Link, "satisfied": true}, http.StatusGone, nil)
			page(http.PostForm(link.URL, url.Values{"satisfied": {"yes"}}))(http.StatusGone, "7")

			var m struct {
				Metrics []geo.Metrics `json:"metrics"`
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/metrics?area=%s", base, loc.Grid.Code), op, nil, http.StatusOK, &m)
			if len(m.Metrics) != 1 || m.Metrics[0].Verdicts != 2 || m.Metrics[0].SatisfactionRate != 0.5 || m.Metrics[0].ReopenedByCitizen != 1 {
				t.Fatalf("grid %s metrics: %+v", loc.Grid.Code, m.Metrics)
			}
		})
	}
}
