package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// rawDo sends body as it is (no JSON encoding: hostile bodies are often
// not JSON) and returns the answer without judging it.
func (p *principalClient) rawDo(t *testing.T, method, path string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	} else if method != "GET" && method != "HEAD" {
		req.Header.Set("Origin", p.base) // a browser's console request
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// dbSnapshot is each table's row count and a checksum of its rows.
func dbSnapshot(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	ctx := context.Background()
	// Every table a request may write to. Left out: tile caches (built in
	// the background after start), sessions and api_tokens (last-used
	// times move with every request).
	tables := []string{"departments", "source_layers", "generations", "areas", "import_jobs", "people", "assignments",
		"duty_windows", "categories", "work_hours", "holidays", "calendar_settings", "incidents", "incident_events",
		"escalations", "webhooks", "webhook_deliveries", "users", "audit_log", "person_load"}
	snap := map[string]string{}
	for _, tb := range tables {
		var n int64
		var sum *string
		q := fmt.Sprintf(`SELECT count(*), md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))) FROM %s t`, pgx.Identifier{tb}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatalf("snapshot %s: %v", tb, err)
		}
		snap[tb] = fmt.Sprintf("%d rows, %v", n, deref(sum))
	}
	return snap
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// TestHostileRequests sends requests an attacker or a broken client
// would: SQL metacharacters in every string field and parameter, huge
// numbers, NaN and infinities, wrong JSON types, path traversal,
// oversized bodies and scope codes forged to reach another street. Each
// is answered 4xx with a JSON error body, and the database is unchanged
// afterwards, row for row.
func TestHostileRequests(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	s1, s2 := twoStreets(t, conn)
	base := serve(t, dbURL)
	admin := addUser(t, dbURL, base, "root", "admin", "")
	disp2 := addUser(t, dbURL, base, "disp2", "dispatcher", s2.street)
	rep2, _ := addToken(t, dbURL, base, "hotline of street 2", "reporter", s2.street)
	// One case in street 1, for the other street's principals to reach for.
	var inc geo.Incident
	admin.json(t, "POST", "/api/v1/incidents", map[string]any{"category": "E0102", "lon": s1.lon, "lat": s1.lat,
		"reporter": map[string]string{"name": "张三"}}, http.StatusCreated, &inc)
	id := fmt.Sprint(inc.ID)

	const sqli = `x'); DROP TABLE incidents; --`
	incident := func(field string, v any) []byte {
		m := map[string]any{"category": "E0102", "lon": s1.lon, "lat": s1.lat, "reporter": map[string]any{"name": "张三"}}
		m[field] = v
		b, _ := json.Marshal(m)
		return b
	}
	big := func(n int, prefix, fill, suffix string) []byte {
		return []byte(prefix + strings.Repeat(fill, n) + suffix)
	}
	type hostile struct {
		name   string
		who    *principalClient
		method string
		path   string
		body   []byte
		header map[string]string
		want   int // 0: any 4xx
	}
	cases := []hostile{
		// SQL metacharacters where the value must be a code, a name from
		// a list, a time or a number.
		{"category sqli", admin, "POST", "/api/v1/incidents", incident("category", sqli), nil, 400},
		{"srs sqli", admin, "POST", "/api/v1/incidents", incident("srs", sqli), nil, 400},
		{"source sqli", admin, "POST", "/api/v1/incidents", incident("source", sqli), nil, 400},
		{"reporter phone sqli", admin, "POST", "/api/v1/incidents", incident("reporter", map[string]string{"name": "x", "phone": sqli}), nil, 400},
		{"attachment sqli", admin, "POST", "/api/v1/incidents", incident("attachments", []string{sqli}), nil, 400},
		{"transition action sqli", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"` + sqli + `","version":1}`), nil, 400},
		{"person dept sqli", admin, "POST", "/api/v1/people", []byte(`{"name":"x","dept":"` + sqli + `"}`), nil, 400},
		{"person responsibility code sqli", admin, "POST", "/api/v1/people", []byte(`{"name":"x","dept":"chengguan","responsibilities":[{"code":"` + sqli + `","role":"chengguan"}]}`), nil, 400},
		{"person responsibility role sqli", admin, "POST", "/api/v1/people", []byte(`{"name":"x","dept":"chengguan","responsibilities":[{"code":"` + s1.grid + `","role":"` + sqli + `"}]}`), nil, 400},
		{"category dept sqli", admin, "PUT", "/api/v1/categories/Z9999", []byte(`{"name":"x","dept":"` + sqli + `","role":"chengguan","limit":{"value":1,"unit":"hours"}}`), nil, 400},
		{"category code path sqli", admin, "PUT", "/api/v1/categories/x'%3B%20DROP%20TABLE%20categories", []byte(`{"name":"x","dept":"chengguan","role":"chengguan","limit":{"value":1,"unit":"hours"}}`), nil, 400},
		{"webhook url sqli", admin, "POST", "/api/v1/webhooks", []byte(`{"url":"` + sqli + `"}`), nil, 400},
		{"incidents state sqli", admin, "GET", "/api/v1/incidents?state=" + urlq(sqli), nil, nil, 400},
		{"incidents area sqli", admin, "GET", "/api/v1/incidents?area=" + urlq(sqli), nil, nil, 400},
		{"incidents from sqli", admin, "GET", "/api/v1/incidents?from=" + urlq(sqli), nil, nil, 400},
		{"incidents after sqli", admin, "GET", "/api/v1/incidents?after=" + urlq(sqli), nil, nil, 400},
		{"metrics area sqli", admin, "GET", "/api/v1/metrics?area=" + urlq(sqli), nil, nil, 400},
		{"people area sqli", admin, "GET", "/api/v1/people?area=" + urlq(sqli), nil, nil, 400},
		{"locate srs sqli", admin, "GET", fmt.Sprintf("/api/v1/locate?lon=%f&lat=%f&srs=%s", s1.lon, s1.lat, urlq(sqli)), nil, nil, 400},
		{"ogc collection sqli", admin, "GET", "/ogc/collections/" + urlq(sqli) + "/items", nil, nil, 404},
		{"tiles layer sqli", admin, "GET", "/tiles/" + urlq(sqli) + "/1/1/1.mvt", nil, nil, 0},
		{"export level sqli", admin, "GET", "/api/v1/generations/1/export?level=" + urlq(sqli), nil, nil, 400},
		{"open311 service_code sqli", admin, "GET", "/api/v1/categories/" + urlq(sqli), nil, nil, 404},

		// Huge numbers, NaN, infinities, wrong types.
		{"lon 1e308", admin, "POST", "/api/v1/incidents", incident("lon", 1e308), nil, 400},
		{"lon 1e400", admin, "POST", "/api/v1/incidents", []byte(`{"category":"E0102","lon":1e400,"lat":29.8,"reporter":{"name":"x"}}`), nil, 400},
		{"lat NaN", admin, "POST", "/api/v1/incidents", []byte(`{"category":"E0102","lon":121.5,"lat":NaN,"reporter":{"name":"x"}}`), nil, 400},
		{"lat Infinity", admin, "POST", "/api/v1/incidents", []byte(`{"category":"E0102","lon":121.5,"lat":Infinity,"reporter":{"name":"x"}}`), nil, 400},
		{"lon a string", admin, "POST", "/api/v1/incidents", incident("lon", "121.5"), nil, 400},
		{"category a number", admin, "POST", "/api/v1/incidents", incident("category", 102), nil, 400},
		{"reporter a string", admin, "POST", "/api/v1/incidents", incident("reporter", "张三"), nil, 400},
		{"attachments an object", admin, "POST", "/api/v1/incidents", incident("attachments", map[string]int{"a": 1}), nil, 400},
		{"tolerance -1e308", admin, "POST", "/api/v1/incidents", incident("tolerance_m", -1e308), nil, 400},
		{"body an array", admin, "POST", "/api/v1/incidents", []byte(`[1,2,3]`), nil, 400},
		{"body null", admin, "POST", "/api/v1/incidents", []byte(`null`), nil, 400},
		{"unknown field", admin, "POST", "/api/v1/incidents", incident("is_admin", true), nil, 400},
		{"version 1e20", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"accept","version":1e20}`), nil, 400},
		{"version negative", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"accept","version":-5}`), nil, 0},
		{"extend_hours 1e308", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"extend","version":1,"extend_hours":1e308}`), nil, 0},
		{"assignee_id a string", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"assign","version":1,"assignee_id":"1"}`), nil, 400},
		{"If-Match junk", admin, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"accept"}`), map[string]string{"If-Match": `"1; DROP"`}, 400},
		{"incident id huge", admin, "GET", "/api/v1/incidents/99999999999999999999999", nil, nil, 400},
		{"incident id zero", admin, "GET", "/api/v1/incidents/0", nil, nil, 400},
		{"limit huge", admin, "GET", "/api/v1/incidents?limit=99999999999999999999", nil, nil, 400},
		{"limit negative", admin, "GET", "/api/v1/incidents?limit=-1", nil, nil, 400},
		{"limit over the cap", admin, "GET", "/api/v1/incidents?limit=1001", nil, nil, 400},
		{"audit limit over the cap", admin, "GET", "/api/v1/audit?limit=100000", nil, nil, 400},
		{"ogc limit negative", admin, "GET", "/ogc/collections/grids/items?limit=-1", nil, nil, 400},
		{"ogc offset negative", admin, "GET", "/ogc/collections/grids/items?offset=-1", nil, nil, 400},
		{"locate lon NaN", admin, "GET", "/api/v1/locate?lon=NaN&lat=29.8", nil, nil, 400},
		{"locate lon Inf", admin, "GET", "/api/v1/locate?lon=Inf&lat=29.8", nil, nil, 400},
		{"locate lat 1e400", admin, "GET", "/api/v1/locate?lon=121.5&lat=1e400", nil, nil, 400},
		{"tile zoom huge", admin, "GET", "/tiles/grids/99999999999999999999/1/1.mvt", nil, nil, 400},
		{"tile zoom 40", admin, "GET", "/tiles/grids/40/1/1.mvt", nil, nil, 400},
		{"person id huge", admin, "PUT", "/api/v1/people/99999999999999999999", []byte(`{"name":"x","dept":"chengguan"}`), nil, 400},
		{"calendar wrong types", admin, "PUT", "/api/v1/calendar", []byte(`{"work_hours":"always"}`), nil, 400},

		// Path traversal.
		{"static traversal", admin, "GET", "/..%2f..%2f..%2fetc%2fpasswd", nil, nil, 404},
		{"static file written to", admin, "PUT", "/index.html", []byte(`x`), nil, 405},
		{"static dotdot encoded", admin, "GET", "/%2e%2e/%2e%2e/etc/passwd", nil, nil, 404},
		{"tile layer traversal", admin, "GET", "/tiles/..%2f..%2fetc%2fpasswd/1/1/1.mvt", nil, nil, 0},
		{"dept tiles traversal", admin, "GET", "/tiles/dept/..%2f..%2fetc/1/1/1.mvt", nil, nil, 0},
		{"tilejson traversal", admin, "GET", "/tiles/..%2f..%2fetc%2fpasswd.json", nil, nil, 0},
		{"generation traversal", admin, "GET", "/api/v1/generations/..%2f..%2fetc/export", nil, nil, 0},
		{"category traversal", admin, "PUT", "/api/v1/categories/..%2f..%2fetc", []byte(`{"name":"x","dept":"chengguan","role":"chengguan","limit":{"value":1,"unit":"hours"}}`), nil, 0},
		{"ogc item traversal", admin, "GET", "/ogc/collections/grids/items/..%2f..%2fetc%2fpasswd", nil, nil, 0},

		// Oversized bodies.
		{"incident 2 MiB", admin, "POST", "/api/v1/incidents", big(2<<20, `{"category":"E0102","lon":121.5,"lat":29.8,"description":"`, "x", `"}`), nil, 413},
		{"incident 2 MiB of whitespace", admin, "POST", "/api/v1/incidents", big(2<<20, "", " ", `{}`), nil, 413},
		{"person 2 MiB", admin, "POST", "/api/v1/people", big(2<<20, `{"name":"`, "x", `"}`), nil, 413},
		{"calendar 2 MiB", admin, "PUT", "/api/v1/calendar", big(2<<20, `{"holidays":[`, `"2026-01-01",`, `"2026-01-01"]}`), nil, 413},
		{"transition 2 MiB", admin, "POST", "/api/v1/incidents/" + id + "/transitions", big(2<<20, `{"action":"accept","version":1,"note":"`, "x", `"}`), nil, 413},
		{"locate batch 2 MiB", admin, "POST", "/api/v1/locate:batch", big(200000, `{"points":[`, `{"lon":121.5,"lat":29.8},`, `{"lon":121.5,"lat":29.8}]}`), nil, 413},
		{"description over its limit", admin, "POST", "/api/v1/incidents", incident("description", strings.Repeat("长", 100000)), nil, 400},

		// Forged scope codes: principals of street 2 reaching for street 1.
		{"report in another street", rep2, "POST", "/api/v1/incidents", incident("lon", s1.lon), nil, 403},
		{"read another street's case", disp2, "GET", "/api/v1/incidents/" + id, nil, nil, 0},
		{"events of another street's case", disp2, "GET", "/api/v1/incidents/" + id + "/events", nil, nil, 0},
		{"transition another street's case", disp2, "POST", "/api/v1/incidents/" + id + "/transitions", []byte(`{"action":"accept","version":1}`), nil, 0},
		{"list another street", disp2, "GET", "/api/v1/incidents?area=" + s1.street, nil, nil, 403},
		{"list a grid of another street", disp2, "GET", "/api/v1/incidents?area=" + s1.grid, nil, nil, 403},
		{"list a parent district", disp2, "GET", "/api/v1/incidents?area=" + s2.street[:6] + "000", nil, nil, 403},
		{"metrics of another street", disp2, "GET", "/api/v1/metrics?area=" + s1.street, nil, nil, 403},
		{"people of another street", disp2, "GET", "/api/v1/people?area=" + s1.street, nil, nil, 403},
		{"scoped dispatcher creates a person", disp2, "POST", "/api/v1/people", []byte(`{"name":"x","dept":"chengguan"}`), nil, 403},
		{"scoped dispatcher saves a category", disp2, "PUT", "/api/v1/categories/Z9999", []byte(`{"name":"x"}`), nil, 403},
		{"cookie change from another site", admin, "POST", "/api/v1/people", []byte(`{"name":"x","dept":"chengguan"}`), map[string]string{"Origin": "https://evil.example"}, 403},
		{"cookie change with neither Origin nor Referer", admin, "PUT", "/api/v1/categories/Z9999", []byte(`{"name":"x"}`), map[string]string{"Origin": ""}, 403},
		{"cookie change with another site's Referer", admin, "DELETE", "/api/v1/webhooks/1", nil, map[string]string{"Origin": "", "Referer": "https://evil.example/page"}, 403},
		{"webhook to a private address", admin, "POST", "/api/v1/webhooks", []byte(`{"url":"http://10.0.0.1/"}`), nil, 400},
		{"webhook to the metadata service", admin, "POST", "/api/v1/webhooks", []byte(`{"url":"http://169.254.169.254/latest/meta-data/"}`), nil, 400},
		{"reporter reads cases", rep2, "GET", "/api/v1/incidents", nil, nil, 403},
		{"scoped token forges the dev headers", rep2, "POST", "/api/v1/incidents", incident("lon", s1.lon), map[string]string{"X-Gridd-Role": "operator", "X-Gridd-Actor": "admin"}, 403},
		{"forged bearer", &principalClient{name: "forger", base: base, bearer: "gridd_" + strings.Repeat("A", 43), c: http.DefaultClient}, "GET", "/api/v1/incidents", nil, map[string]string{"Authorization": "Bearer gridd_" + strings.Repeat("A", 43)}, 401},
	}

	before := dbSnapshot(t, conn)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.who.rawDo(t, c.method, c.path, c.body, c.header)
			if resp.StatusCode < 400 || resp.StatusCode > 499 || (c.want != 0 && resp.StatusCode != c.want) {
				t.Fatalf("%s %s: HTTP %d, want %s: %.300s", c.method, c.path, resp.StatusCode, wantText(c.want), body)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s: HTTP %d with %s: %.300s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			var e apiError
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || strings.Contains(e.Error.Message, "\n") {
				t.Fatalf("%s %s: error body %.300s", c.method, c.path, body)
			}
		})
	}
	after := dbSnapshot(t, conn)
	for tb, b := range before {
		if after[tb] != b {
			t.Errorf("table %s changed: %s → %s", tb, b, after[tb])
		}
	}

	// A failed login is refused and, by design, leaves one audit entry
	// (session.login_failed) with the login as sent; nothing else changes.
	anon := newClient(base, "anonymous")
	body, _ := json.Marshal(map[string]string{"login": sqli, "password": "' OR '1'='1"})
	if resp, b := anon.rawDo(t, "POST", "/api/v1/login", body, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with SQL in it: HTTP %d: %s", resp.StatusCode, b)
	}
	var failedLogins int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'session.login_failed' AND target = $1`, "user:"+sqli).Scan(&failedLogins); err != nil || failedLogins != 1 {
		t.Fatalf("audit entries of the failed login: %d, %v", failedLogins, err)
	}
	afterLogin := dbSnapshot(t, conn)
	for tb, b := range after {
		if afterLogin[tb] != b && tb != "audit_log" {
			t.Errorf("a failed login changed table %s: %s → %s", tb, b, afterLogin[tb])
		}
	}

	// Free text is data, not code: metacharacters are stored as sent.
	var got geo.Incident
	text := sqli + ` \x00' "; SELECT pg_sleep(10); --` + "\u202e"
	admin.json(t, "POST", "/api/v1/incidents", map[string]any{"category": "E0102", "lon": s1.lon, "lat": s1.lat,
		"description": text, "address": text, "reporter": map[string]string{"name": text}}, http.StatusCreated, &got)
	var desc, addr, name string
	if err := conn.QueryRow(ctx, `SELECT description, address, reporter_name FROM incidents WHERE id = $1`, got.ID).Scan(&desc, &addr, &name); err != nil {
		t.Fatal(err)
	}
	if desc != text || addr != text || name != text {
		t.Fatalf("stored %q %q %q, sent %q", desc, addr, name, text)
	}
}

func wantText(want int) string {
	if want == 0 {
		return "4xx"
	}
	return fmt.Sprint(want)
}

func urlq(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "'", "%27", ";", "%3B", "&", "%26", "#", "%23", "?", "%3F", "/", "%2F").Replace(s)
}
