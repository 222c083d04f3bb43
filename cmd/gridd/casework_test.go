package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
)

// call makes an HTTP request with the actor seam's headers and decodes
// the JSON answer into v (when not nil), checking the status.
func call(t *testing.T, method, url string, headers map[string]string, body any, want int, v any) http.Header {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	return resp.Header
}

func as(actor string, role geo.Role) map[string]string {
	return map[string]string{"X-Gridd-Actor": actor, "X-Gridd-Role": string(role)}
}

// TestCasework runs the incident workflow end to end on the demo city:
// locating (single, batch, CLI), people, cases with their transitions over
// HTTP, SSE, webhooks, Open311 in JSON and XML, metrics, the category
// CLI, and a replica following an activation made elsewhere.
func TestCasework(t *testing.T) {
	ctx := context.Background()
	dbURL := demoDatabaseURL(t)
	conn := connect(t, dbURL)
	// A grid to report in, a point inside it, and one just outside the city.
	var grid, community, street string
	var lon, lat, outLon, outLat, farLon, farLat float64
	if err := conn.QueryRow(ctx, `
		WITH g AS (SELECT code, parent_code, ST_PointOnSurface(geom) p FROM areas WHERE generation = 1 AND level = 'grid' ORDER BY code LIMIT 1),
		d AS (SELECT ST_Union(geom) g FROM areas WHERE generation = 1 AND level = 'district'),
		near AS (SELECT (ST_DumpPoints(ST_Boundary(ST_Buffer(d.g::geography, 50)::geometry))).geom p FROM d LIMIT 1),
		far AS (SELECT (ST_DumpPoints(ST_Boundary(ST_Buffer(d.g::geography, 2500)::geometry))).geom p FROM d LIMIT 1)
		SELECT g.code, g.parent_code, left(g.parent_code, 9), ST_X(g.p), ST_Y(g.p), ST_X(near.p), ST_Y(near.p), ST_X(far.p), ST_Y(far.p)
		FROM g, near, far`).
		Scan(&grid, &community, &street, &lon, &lat, &outLon, &outLat, &farLon, &farLat); err != nil {
		t.Fatal(err)
	}
	base := serve(t, dbURL, "--webhook-allow", "127.0.0.0/8") // the receivers below are on loopback
	op := as("值班员小王", geo.RoleOperator)

	// People: a 城管 at the grid (always on duty), a community supervisor.
	var cg, sup geo.Person
	call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: "城管甲", Phone: "13800000001", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: grid, Role: geo.RoleChengguan}}}, http.StatusCreated, &cg)
	call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: "社区督办", Dept: "zongzhi", Active: true,
		Responsibilities: []geo.Responsibility{{Code: community, Role: geo.RoleCommunitySupervisor}}}, http.StatusCreated, &sup)
	call(t, "POST", base+"/api/v1/people", as("x", geo.RoleChengguan), geo.Person{Name: "x"}, http.StatusForbidden, nil)
	call(t, "POST", base+"/api/v1/people", noAuth, geo.Person{Name: "x"}, http.StatusUnauthorized, nil)

	t.Run("locate", func(t *testing.T) {
		var loc geo.Location
		gx, gy := geo.WGS84ToGCJ02(lon, lat)
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f&srs=gcj02", base, gx, gy), http.StatusOK, &loc)
		if loc.Grid == nil || loc.Grid.Code != grid || loc.Match != geo.MatchInside || loc.Community.Code != community || loc.Street.Code != street {
			t.Fatalf("locate in GCJ-02: %+v", loc)
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, outLon, outLat), http.StatusOK, &loc)
		if loc.Match != geo.MatchNearest || loc.Grid == nil || loc.DistanceM < 35 || loc.DistanceM > 65 {
			t.Fatalf("50 m outside: %+v", loc)
		}
		var e apiError
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f&tolerance_m=10", base, outLon, outLat), http.StatusNotFound, &e)
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, farLon, farLat), http.StatusNotFound, &e)
		if !strings.Contains(e.Error.Message, "unassigned queue") || !strings.Contains(e.Error.Message, "330212") {
			t.Fatalf("2–3 km outside: %+v", e)
		}
		getJSON(t, base+"/api/v1/locate?lon=121.5&lat=29.8&srs=mars", http.StatusBadRequest, &e)

		var batch struct {
			Generation int
			Results    []struct {
				ID    any
				Lon   float64
				Match string
				Grid  *geo.AreaRef
			}
		}
		pts := []map[string]any{{"id": "a", "lon": lon, "lat": lat}, {"id": 2, "lon": outLon, "lat": outLat}, {"lon": farLon, "lat": farLat}, {"lon": 116.39, "lat": 39.9}}
		call(t, "POST", base+"/api/v1/locate:batch", nil, pts, http.StatusOK, &batch)
		if batch.Generation != 1 || len(batch.Results) != 4 || batch.Results[0].ID != "a" || batch.Results[0].Grid.Code != grid ||
			batch.Results[1].ID != 2.0 || batch.Results[1].Match != "nearest" || batch.Results[2].Match != "district" || batch.Results[3].Match != "none" {
			t.Fatalf("batch: %+v", batch)
		}
		big := make([]map[string]float64, 10001)
		for i := range big {
			big[i] = map[string]float64{"lon": lon, "lat": lat}
		}
		call(t, "POST", base+"/api/v1/locate:batch", nil, big, http.StatusRequestEntityTooLarge, nil)
		call(t, "POST", base+"/api/v1/locate:batch", nil, []map[string]float64{{"lon": 500, "lat": 1}}, http.StatusBadRequest, nil)
	})

	// The SSE stream: opened before the cases are made, read at the end.
	sseCtx, sseCancel := context.WithCancel(ctx)
	defer sseCancel()
	req, _ := http.NewRequestWithContext(sseCtx, "GET", base+"/api/v1/events", nil)
	sse, err := http.DefaultClient.Do(req)
	if err != nil || sse.StatusCode != http.StatusOK || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("SSE: %v %v", err, sse)
	}
	defer sse.Body.Close()
	events := readSSE(sse.Body)

	// A webhook receiver.
	hooks := make(chan *http.Request, 16)
	bodies := make(chan []byte, 16)
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		bodies <- b
	}))
	defer hookSrv.Close()
	call(t, "POST", base+"/api/v1/webhooks", op, geo.Webhook{URL: hookSrv.URL, Secret: "k", Actions: []string{"report", "close"}}, http.StatusCreated, nil)
	call(t, "POST", base+"/api/v1/webhooks", op, geo.Webhook{URL: "http://10.0.0.1/"}, http.StatusBadRequest, nil) // private, not allowed

	var inc geo.Incident
	t.Run("incident over HTTP", func(t *testing.T) {
		body := map[string]any{"category": "E0102", "lon": lon, "lat": lat, "description": "暴露垃圾一堆",
			"reporter": map[string]string{"name": "李女士", "phone": "13900000000"}, "source": "app",
			"attachments": []string{"https://img.example/a.jpg"}}
		h := map[string]string{"Idempotency-Key": "app-req-42"}
		hdr := call(t, "POST", base+"/api/v1/incidents", h, body, http.StatusCreated, &inc)
		if inc.ID == 0 || inc.State != geo.StateReported || inc.Assignee == nil || inc.Assignee.ID != cg.ID || inc.Location.Grid.Code != grid ||
			inc.DeadlineAt.IsZero() || inc.DeptName != "城管" || hdr.Get("Location") != fmt.Sprintf("/api/v1/incidents/%d", inc.ID) {
			t.Fatalf("created %+v", inc)
		}
		var again geo.Incident
		hdr = call(t, "POST", base+"/api/v1/incidents", h, body, http.StatusCreated, &again)
		if again.ID != inc.ID || hdr.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry made %d (first %d), replayed %q", again.ID, inc.ID, hdr.Get("Idempotent-Replayed"))
		}
		body["description"] = "别的"
		call(t, "POST", base+"/api/v1/incidents", h, body, http.StatusConflict, nil)
		var n int
		conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE idempotency_key = 'app-req-42'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d incidents for one key", n)
		}
		call(t, "POST", base+"/api/v1/incidents", nil, map[string]any{"category": "E0102", "lon": lon}, http.StatusBadRequest, nil)
		call(t, "POST", base+"/api/v1/incidents", nil, map[string]any{"category": "NOPE", "lon": lon, "lat": lat}, http.StatusBadRequest, nil)

		tr := func(id int64, who map[string]string, action geo.Action, version int, want int, extra map[string]any) {
			t.Helper()
			b := map[string]any{"action": action, "note": "经办"}
			for k, v := range extra {
				b[k] = v
			}
			hh := map[string]string{"If-Match": strconv.Quote(strconv.Itoa(version))}
			for k, v := range who {
				hh[k] = v
			}
			var out geo.Incident
			if want == http.StatusOK {
				call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, id), hh, b, want, &out)
				inc = out
			} else {
				call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, id), hh, b, want, nil)
			}
		}
		cgw := as("城管甲", geo.RoleChengguan)
		tr(inc.ID, noAuth, geo.ActRegister, 1, http.StatusUnauthorized, nil)
		tr(inc.ID, cgw, geo.ActRegister, 1, http.StatusForbidden, nil)
		tr(inc.ID, op, geo.ActClose, 1, http.StatusConflict, nil)
		tr(inc.ID, op, geo.ActRegister, 1, http.StatusOK, nil)
		tr(inc.ID, op, geo.ActDispatch, 1, http.StatusConflict, nil) // stale version
		tr(inc.ID, op, geo.ActDispatch, 2, http.StatusOK, nil)
		tr(inc.ID, cgw, geo.ActAccept, 3, http.StatusOK, nil)
		tr(inc.ID, cgw, geo.ActHandle, 4, http.StatusOK, nil)
		tr(inc.ID, as("社区督办", geo.RoleCommunitySupervisor), geo.ActRework, 5, http.StatusOK, nil)
		tr(inc.ID, cgw, geo.ActAccept, 6, http.StatusOK, nil)
		tr(inc.ID, cgw, geo.ActHandle, 7, http.StatusOK, nil)
		tr(inc.ID, op, geo.ActVerify, 8, http.StatusOK, nil)
		tr(inc.ID, op, geo.ActClose, 9, http.StatusOK, nil)
		if inc.State != geo.StateClosed || inc.Version != 10 || inc.ReworkCount != 1 || len(inc.NextActions) != 0 {
			t.Fatalf("closed case %+v", inc)
		}
		var evs struct{ Events []geo.IncidentEvent }
		getJSON(t, fmt.Sprintf("%s/api/v1/incidents/%d/events", base, inc.ID), http.StatusOK, &evs)
		if len(evs.Events) != 10 || evs.Events[9].Action != geo.ActClose || evs.Events[9].Actor != "值班员小王" || evs.Events[9].Note != "经办" {
			t.Fatalf("history: %+v", evs.Events)
		}
		var list struct{ Incidents []geo.Incident }
		getJSON(t, base+"/api/v1/incidents?state=closed&area="+street, http.StatusOK, &list)
		if len(list.Incidents) != 1 || list.Incidents[0].ID != inc.ID {
			t.Fatalf("list: %+v", list)
		}
		var m struct{ Metrics []geo.Metrics }
		getJSON(t, base+"/api/v1/metrics?area=330212&by=street", http.StatusOK, &m)
		if len(m.Metrics) != 1 || m.Metrics[0].Area != street || m.Metrics[0].Closed != 1 || m.Metrics[0].ReworkRate != 1 {
			t.Fatalf("metrics: %+v", m)
		}
		var e apiError
		getJSON(t, base+"/api/v1/metrics?area=33", http.StatusBadRequest, &e)
	})

	t.Run("webhook", func(t *testing.T) {
		for _, want := range []string{"report", "close"} {
			select {
			case r := <-hooks:
				b := <-bodies
				mac := hmac.New(sha256.New, []byte("k"))
				mac.Write(b)
				var p struct{ Event geo.IncidentEvent }
				json.Unmarshal(b, &p)
				if r.Header.Get("X-Gridd-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || p.Event.IncidentID != inc.ID || string(p.Event.Action) != want {
					t.Fatalf("webhook %s: %+v %s", want, r.Header, b)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("no webhook for %s", want)
			}
		}
	})

	t.Run("open311", func(t *testing.T) {
		var services []map[string]any
		getJSON(t, base+"/open311/v2/services.json", http.StatusOK, &services)
		if len(services) < 50 || services[0]["service_code"] == "" || services[0]["type"] != "realtime" || services[0]["metadata"] != false {
			t.Fatalf("services: %v", services[:1])
		}
		var sx struct {
			Services []struct {
				Code string `xml:"service_code"`
				Name string `xml:"service_name"`
			} `xml:"service"`
		}
		getXML(t, base+"/open311/v2/services.xml", http.StatusOK, "services", &sx)
		if len(sx.Services) != len(services) || sx.Services[0].Code != services[0]["service_code"] {
			t.Fatalf("services.xml: %+v", sx.Services[:1])
		}
		var def map[string]any
		getJSON(t, base+"/open311/v2/services/E0101.json", http.StatusOK, &def)
		if def["service_code"] != "E0101" {
			t.Fatalf("definition %v", def)
		}
		form := url.Values{"service_code": {"E0102"}, "lat": {fmt.Sprint(lat)}, "long": {fmt.Sprint(lon)}, "description": {"垃圾"},
			"first_name": {"张"}, "last_name": {"三"}, "media_url": {"https://img.example/b.jpg"}, "api_key": {"anything"}}
		resp, err := http.PostForm(base+"/open311/v2/requests.json", form)
		if err != nil {
			t.Fatal(err)
		}
		var created []struct {
			ServiceRequestID string `json:"service_request_id"`
			Token            string `json:"token"`
			ServiceNotice    string `json:"service_notice"`
		}
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || len(created) != 1 || created[0].ServiceRequestID == "" || created[0].Token == "" {
			t.Fatalf("POST requests.json: %d %+v", resp.StatusCode, created)
		}
		id := created[0].ServiceRequestID
		var reqs []map[string]any
		getJSON(t, base+"/open311/v2/requests/"+id+".json", http.StatusOK, &reqs)
		if len(reqs) != 1 || reqs[0]["status"] != "open" || reqs[0]["agency_responsible"] != "城管" || reqs[0]["service_code"] != "E0102" ||
			reqs[0]["media_url"] != "https://img.example/b.jpg" || reqs[0]["expected_datetime"] == "" || !strings.HasSuffix(reqs[0]["requested_datetime"].(string), "+08:00") {
			t.Fatalf("request %s: %v", id, reqs)
		}
		var tokens []map[string]string
		getJSON(t, base+"/open311/v2/tokens/"+created[0].Token+".json", http.StatusOK, &tokens)
		if len(tokens) != 1 || tokens[0]["service_request_id"] != id {
			t.Fatalf("token: %v", tokens)
		}
		// XML: a POST, the list with the closed case, one request.
		resp, err = http.PostForm(base+"/open311/v2/requests.xml", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`) ||
			!strings.Contains(string(b), "<service_requests><request><service_request_id>") {
			t.Fatalf("POST requests.xml: %d %s", resp.StatusCode, b)
		}
		var rx struct {
			Requests []struct {
				ID     string  `xml:"service_request_id"`
				Status string  `xml:"status"`
				Agency string  `xml:"agency_responsible"`
				Lat    float64 `xml:"lat"`
				Long   float64 `xml:"long"`
			} `xml:"request"`
		}
		getXML(t, base+"/open311/v2/requests.xml?status=closed", http.StatusOK, "service_requests", &rx)
		if len(rx.Requests) != 1 || rx.Requests[0].ID != strconv.FormatInt(inc.ID, 10) || rx.Requests[0].Status != "closed" || rx.Requests[0].Agency != "城管" {
			t.Fatalf("requests.xml?status=closed: %+v", rx)
		}
		rx.Requests = nil
		getXML(t, base+"/open311/v2/requests.xml?service_code=E0102&status=open", http.StatusOK, "service_requests", &rx)
		if len(rx.Requests) != 2 || rx.Requests[0].Long < 121 || rx.Requests[0].Lat < 29 {
			t.Fatalf("open E0102 requests: %+v", rx)
		}
		// Errors: a list of {code, description}, in both formats.
		resp, err = http.PostForm(base+"/open311/v2/requests.json", url.Values{"lat": {"29.8"}, "long": {"121.5"}})
		if err != nil {
			t.Fatal(err)
		}
		var errs []struct {
			Code        int
			Description string
		}
		json.NewDecoder(resp.Body).Decode(&errs)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || len(errs) != 1 || errs[0].Code != 400 || !strings.Contains(errs[0].Description, "service_code") {
			t.Fatalf("missing service_code: %d %+v", resp.StatusCode, errs)
		}
		var ex struct {
			Errors []struct {
				Code        int    `xml:"code"`
				Description string `xml:"description"`
			} `xml:"error"`
		}
		getXML(t, base+"/open311/v2/requests/999999.xml", http.StatusNotFound, "errors", &ex)
		if len(ex.Errors) != 1 || ex.Errors[0].Code != 404 {
			t.Fatalf("unknown request: %+v", ex)
		}
		getXML(t, base+"/open311/v2/services/NOPE.xml", http.StatusNotFound, "errors", &ex)
		getXML(t, base+"/open311/v2/bogus.xml", http.StatusNotFound, "errors", &ex)
	})

	t.Run("server-sent events", func(t *testing.T) {
		// Live: the events of the cases above, in order, from the stream
		// opened before them.
		var got []string
		deadline := time.After(30 * time.Second) // generous: the events come in ms, but CI machines may be loaded
		for len(got) < 12 {
			select {
			case e := <-events:
				got = append(got, fmt.Sprintf("%d:%s", e.IncidentID, e.Action))
			case <-deadline:
				t.Fatalf("SSE: only %v", got)
			}
		}
		want := fmt.Sprintf("%d:report", inc.ID)
		if got[0] != want || got[9] != fmt.Sprintf("%d:close", inc.ID) {
			t.Fatalf("SSE events %v, want %s first and close tenth", got, want)
		}
		// Catching up: a new stream with Last-Event-ID replays from the table.
		req, _ := http.NewRequestWithContext(sseCtx, "GET", base+"/api/v1/events?incident="+strconv.FormatInt(inc.ID, 10), nil)
		req.Header.Set("Last-Event-ID", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		replay := readSSE(resp.Body)
		for i := 0; i < 10; i++ {
			select {
			case e := <-replay:
				if e.IncidentID != inc.ID || e.Version != i+1 {
					t.Fatalf("replayed event %d: %+v", i, e)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("replay stopped after %d events", i)
			}
		}
	})

	t.Run("assign CLI", func(t *testing.T) {
		dir := t.TempDir()
		in := filepath.Join(dir, "points.csv")
		os.WriteFile(in, []byte(fmt.Sprintf("id,经度,纬度,note\np1,%.10f,%.10f,inside\np2,%.10f,%.10f,near\np3,%.10f,%.10f,far\n",
			lon, lat, outLon, outLat, farLon, farLat)), 0o644)
		out := filepath.Join(dir, "out.csv")
		said := mustGridd(t, "assign", "--db", dbURL, "--in", in, "--out", out)
		if !strings.Contains(said, "assigned 3 points in generation 1: 1 inside, 1 nearest grid within 100 m, 1 to a district's queue, 0 outside") {
			t.Fatalf("assign said %q", said)
		}
		b, _ := os.ReadFile(out)
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][4] != "generation" || rows[1][0] != "p1" || rows[1][5] != "inside" || rows[1][13] != grid ||
			rows[2][5] != "nearest" || rows[3][5] != "district" || rows[3][7] != "330212" || rows[3][13] != "" {
			t.Fatalf("assign wrote %v %v", rows, err)
		}
		os.WriteFile(in, []byte("id,lon,lat\nx,abc,29.8\n"), 0o644)
		os.Remove(out)
		if _, err := gridd(t, "assign", "--db", dbURL, "--in", in, "--out", out); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("a bad row: %v", err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("a failed assign left its output behind")
		}
	})

	t.Run("categories CLI", func(t *testing.T) {
		listed := mustGridd(t, "categories", "list", "--csv", "--db", dbURL)
		rows, err := csv.NewReader(strings.NewReader(listed)).ReadAll()
		if err != nil || len(rows) < 50 || strings.Join(rows[0], ",") != "code,name,kind,class,dept,role,limit,unit,verify,active" {
			t.Fatalf("list --csv: %v %d", err, len(rows))
		}
		file := filepath.Join(t.TempDir(), "cats.csv")
		os.WriteFile(file, []byte("code,name,kind,class,dept,role,limit,unit,verify\nE0102,暴露垃圾,事件,市容环境,chengguan,chengguan,3,工作时,是\nX9001,共享单车乱停,事件,街面秩序,chengguan,chengguan,1,工作日,否\n"), 0o644)
		if said := mustGridd(t, "categories", "load", "--db", dbURL, file); !strings.Contains(said, "loaded 2 categories") || !strings.Contains(said, "1 new, 1 replaced") {
			t.Fatalf("load said %q", said)
		}
		var c geo.Category
		getJSON(t, base+"/api/v1/categories/E0102", http.StatusOK, &c)
		if c.Limit.Value != 3 || c.Limit.Unit != geo.UnitWorkHours {
			t.Fatalf("E0102 after load: %+v", c)
		}
		os.WriteFile(file, []byte("code,name,kind,class,dept,role,limit,unit,verify\nX9002,x,事件,其他,nobody,chengguan,1,工作日,否\n"), 0o644)
		if _, err := gridd(t, "categories", "load", "--db", dbURL, file); err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("a bad department: %v", err)
		}
		call(t, "GET", base+"/api/v1/categories/X9002", nil, nil, http.StatusNotFound, nil)
		call(t, "PUT", base+"/api/v1/categories/X9003", op, geo.Category{Name: "测试", Kind: "event", Class: "其他", Dept: "zongzhi", Role: geo.RoleFullTime,
			Limit: geo.TimeLimit{Value: 2, Unit: geo.UnitWorkDays}}, http.StatusCreated, &c)
		if c.Code != "X9003" || c.DeptName != "综治" {
			t.Fatalf("PUT category: %+v", c)
		}
	})

	t.Run("a replica follows an activation made elsewhere", func(t *testing.T) {
		if _, err := conn.Exec(ctx, `INSERT INTO generations (id, note) VALUES (2, 'copy');
			INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
			SELECT 2, level, code, name, parent_code, households, population, geom FROM areas WHERE generation = 1`); err != nil {
			t.Fatal(err)
		}
		mustGridd(t, "activate", "--db", dbURL, "2")
		for i := 0; ; i++ {
			var loc geo.Location
			getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f", base, lon, lat), http.StatusOK, &loc)
			if loc.Generation == 2 {
				break
			}
			if i > 100 {
				t.Fatalf("the server still locates in generation %d", loc.Generation)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var loc geo.Location
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.10f&lat=%.10f&gen=1", base, lon, lat), http.StatusOK, &loc)
		if loc.Generation != 1 || loc.Grid.Code != grid {
			t.Fatalf("the retired generation: %+v", loc)
		}
		var review struct{ Review []geo.ResponsibilityReview }
		getJSON(t, base+"/api/v1/responsibilities/review", http.StatusOK, &review)
	})
}

// getXML GETs url, checks the status, the XML declaration and the root
// element, and decodes into v.
func getXML(t *testing.T, url string, want int, root string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("GET %s: %d %s: %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if !strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`) || !strings.Contains(string(b), "<"+root+">") {
		t.Fatalf("GET %s: not a <%s> document: %.200s", url, root, b)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// readSSE parses an event stream into incident events.
func readSSE(r io.Reader) <-chan geo.IncidentEvent {
	out := make(chan geo.IncidentEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		var data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && data != "":
				var e geo.IncidentEvent
				if json.Unmarshal([]byte(data), &e) == nil {
					out <- e
				}
				data = ""
			}
		}
	}()
	return out
}
