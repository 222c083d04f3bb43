package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/gridd/gridd/geo"
)

// TestDuplicatesOverHTTP reports the same problem twice through Open311,
// 20 m apart, on the demo city and the second one: the second report is
// flagged against the first, a dispatcher merges it, and the citizen's
// request (by id and by token) now follows the surviving case. A worker
// may not merge, and a merge into a missing case or a second merge is
// refused with nothing changed.
func TestDuplicatesOverHTTP(t *testing.T) {
	for _, city := range []struct {
		name string
		url  func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(city.name, func(t *testing.T) {
			ctx := context.Background()
			dbURL := city.url(t)
			conn := connect(t, dbURL)
			var lon, lat, lon2, lat2 float64
			if err := conn.QueryRow(ctx, `
				WITH g AS (SELECT ST_PointOnSurface(geom) p FROM areas a JOIN generations n ON n.id = a.generation AND n.state = 'active'
				           WHERE a.level = 'grid' ORDER BY a.code LIMIT 1)
				SELECT ST_X(p), ST_Y(p), ST_X(q), ST_Y(q) FROM g, LATERAL (SELECT ST_Project(g.p::geography, 20, 0)::geometry AS q) x`).Scan(&lon, &lat, &lon2, &lat2); err != nil {
				t.Fatal(err)
			}
			base := serve(t, dbURL)
			report := func(lon, lat float64, what string) (int64, string) {
				t.Helper()
				form := url.Values{"service_code": {"E0102"}, "lat": {fmt.Sprint(lat)}, "long": {fmt.Sprint(lon)}, "description": {what}}
				resp, err := http.PostForm(base+"/open311/v2/requests.json", form)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var created []struct {
					ServiceRequestID string `json:"service_request_id"`
					Token            string `json:"token"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated || len(created) != 1 {
					t.Fatalf("POST requests.json: %d %+v %v", resp.StatusCode, created, err)
				}
				id, _ := strconv.ParseInt(created[0].ServiceRequestID, 10, 64)
				return id, created[0].Token
			}
			first, _ := report(lon, lat, "垃圾堆放")
			second, token := report(lon2, lat2, "这里又有垃圾")
			op := as("值班员小王", geo.RoleOperator)

			var d struct {
				geo.Duplicates
				CanMerge bool `json:"can_merge"`
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/duplicates", base, second), op, nil, http.StatusOK, &d)
			if len(d.Candidates) != 1 || d.Candidates[0].ID != first || d.Candidates[0].DistanceM < 15 || d.Candidates[0].DistanceM > 25 || !d.CanMerge {
				t.Fatalf("the second report's duplicates: %+v", d)
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/duplicates", base, first), op, nil, http.StatusOK, &d)
			if len(d.FlaggedBy) != 1 || d.FlaggedBy[0].ID != second || len(d.Candidates) != 0 {
				t.Fatalf("the first report's duplicates: %+v", d)
			}

			var inc geo.Incident
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d", base, second), op, nil, http.StatusOK, &inc)
			mergeURL := fmt.Sprintf("%s/api/v1/incidents/%d/merge-into", base, second)
			call(t, "POST", mergeURL, as("网格员", geo.RoleFullTime), map[string]any{"into": first, "version": inc.Version}, http.StatusForbidden, nil)
			call(t, "POST", mergeURL, op, map[string]any{"into": 999999999, "version": inc.Version}, http.StatusBadRequest, nil)
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d", base, second), op, nil, http.StatusOK, &inc)
			if inc.State == geo.StateClosed {
				t.Fatalf("a refused merge closed the case: %+v", inc)
			}
			var merged struct{ Merged, Into geo.Incident }
			call(t, "POST", mergeURL, op, map[string]any{"into": first, "version": inc.Version, "note": "同一处垃圾"}, http.StatusOK, &merged)
			if merged.Merged.ID != second || merged.Merged.State != geo.StateClosed || merged.Into.ID != first || !merged.Into.State.Open() {
				t.Fatalf("merge: %+v", merged)
			}
			call(t, "POST", mergeURL, op, map[string]any{"into": first, "version": merged.Merged.Version}, http.StatusConflict, nil)

			// The citizen who made the second report follows the first case.
			var reqs []map[string]any
			getJSON(t, fmt.Sprintf("%s/open311/v2/requests/%d.json", base, second), http.StatusOK, &reqs)
			if len(reqs) != 1 || reqs[0]["merged_into"] != strconv.FormatInt(first, 10) || reqs[0]["status"] != "open" ||
				reqs[0]["service_request_id"] != strconv.FormatInt(second, 10) {
				t.Fatalf("the merged request in Open311: %v", reqs)
			}
			var tok []map[string]any
			getJSON(t, base+"/open311/v2/tokens/"+token+".json", http.StatusOK, &tok)
			if len(tok) != 1 || tok[0]["service_request_id"] != strconv.FormatInt(first, 10) {
				t.Fatalf("the token of the merged request: %v", tok)
			}
			call(t, "GET", fmt.Sprintf("%s/api/v1/incidents/%d/duplicates", base, first), op, nil, http.StatusOK, &d)
			if len(d.Merged) != 1 || d.Merged[0] != second || len(d.FlaggedBy) != 0 {
				t.Fatalf("the survivor's duplicates after the merge: %+v", d)
			}
		})
	}
}
