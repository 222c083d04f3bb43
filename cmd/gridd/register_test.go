package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/xuri/excelize/v2"
)

// registerFixture is a small register for the buildings of two grids of
// a city's active generation: rows (as CSV lines, without the header) and
// the people in them.
type registerFixture struct {
	gridA, gridB string
	street       string // gridA's street
	lines        []string
	ids, names   []string
}

const registerHeader = "户号,楼栋编号,单元,房号,姓名,身份证号,联系电话,标签"

func makeRegisterFixture(t *testing.T, dbURL string) registerFixture {
	t.Helper()
	ctx := context.Background()
	conn := connect(t, dbURL)
	var f registerFixture
	var loaded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM buildings)`).Scan(&loaded); err != nil {
		t.Fatal(err)
	}
	if !loaded { // a city imported from files has no buildings: three points in each of two grids
		var csv string
		if err := conn.QueryRow(ctx, `
			SELECT 'id,lon,lat,households,address' || E'\n' || string_agg(format('%s-%s,%s,%s,2,长江路%s号%s幢', code, i, ST_X(p), ST_Y(p), right(code, 3), i), E'\n' ORDER BY code, i)
			FROM (SELECT code, geom FROM areas WHERE level = 'grid' AND generation = (SELECT id FROM generations WHERE state = 'active') ORDER BY code LIMIT 2) g,
			     LATERAL (SELECT row_number() OVER () AS i, (d).geom AS p FROM ST_Dump(ST_GeneratePoints(ST_Buffer(g.geom::geography, -20)::geometry, 3, 1)) d) pts`).Scan(&csv); err != nil {
			t.Fatal(err)
		}
		mustGridd(t, "import", "--db", dbURL, "--kind", "buildings", writeFile(t, "buildings.csv", csv))
	}
	rows, err := conn.Query(ctx, `
		SELECT bg.grid_code, bg.building_id FROM building_grid bg
		WHERE bg.generation = (SELECT id FROM generations WHERE state = 'active') AND bg.grid_code IS NOT NULL
		  AND bg.grid_code IN (SELECT grid_code FROM building_grid WHERE grid_code IS NOT NULL GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 2)
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var grids, buildings []string
	for rows.Next() {
		var g, b string
		rows.Scan(&g, &b)
		grids, buildings = append(grids, g), append(buildings, b)
	}
	if rows.Err() != nil || len(grids) < 6 {
		t.Fatalf("buildings: %v %v", rows.Err(), grids)
	}
	f.gridA, f.gridB, f.street = grids[0], grids[len(grids)-1], grids[0][:9]
	district := f.gridA[:6]
	n := 0
	for i, b := range buildings {
		if i > 0 && grids[i] == grids[i-1] && i > 2 && grids[i] == grids[0] {
			continue // three buildings of grid A are enough
		}
		for h := 1; h <= 2; h++ {
			n++
			id := fmt.Sprintf("%s19%02d0101%03d", district, 40+n, n)
			id += string(geo.IDCheckChar(id))
			name := fmt.Sprintf("测试%c%c", '甲'+rune(n%10), '子'+rune(n%12))
			tag := ""
			if h == 1 && i == 0 {
				tag = "独居老人"
			}
			f.lines = append(f.lines, fmt.Sprintf("H-%s-%d,%s,1,%d01,%s,%s,1390000%04d,%s", b, h, b, h, name, id, n, tag))
			f.ids, f.names = append(f.ids, id), append(f.names, name)
		}
	}
	return f
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func countRegister(t *testing.T, dbURL string) (int, int) {
	t.Helper()
	var h, r int
	if err := connect(t, dbURL).QueryRow(context.Background(), `SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM residents)`).Scan(&h, &r); err != nil {
		t.Fatal(err)
	}
	return h, r
}

// TestRegisterOverCLIAndHTTP: a register loaded with the CLI from CSV and
// .xlsx (bad files refused by line and column, changing nothing), then
// listed masked, revealed with a reason, exported only with approval from
// above — and no unmasked datum in any listing, tile, OGC page, event or
// log line a viewer or the server's log could see.
func TestRegisterOverCLIAndHTTP(t *testing.T) {
	for _, c := range []struct {
		name  string
		dbURL func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(c.name, func(t *testing.T) { testRegisterOverCLIAndHTTP(t, c.dbURL(t)) })
	}
}

func testRegisterOverCLIAndHTTP(t *testing.T, dbURL string) {
	f := makeRegisterFixture(t, dbURL)
	csvText := registerHeader + "\n" + strings.Join(f.lines, "\n") + "\n"

	// Bad files: every bad row by line and column, nothing loaded.
	bad := strings.Split(csvText, "\n")
	bad[2] = strings.Replace(bad[2], strings.Split(bad[2], ",")[1], "NO-SUCH-BUILDING", 2)
	bad[3] = strings.Replace(bad[3], f.ids[2], f.ids[2][:17]+string("0123456789X"[(strings.IndexByte("0123456789X", f.ids[2][17])+1)%11]), 1)
	out, err := gridd(t, "register", "load", "--db", dbURL, writeFile(t, "bad.csv", strings.Join(bad, "\n")))
	if err == nil || !strings.Contains(err.Error(), "bad.csv: line 3, column 2 (楼栋编号): building \"NO-SUCH-BUILDING\" is not in the building set") ||
		!strings.Contains(out, "line 4, column 6 (身份证号): the check character") {
		t.Fatalf("bad file: %v\n%s", err, out)
	}
	if strings.Contains(out+err.Error(), f.ids[2][:14]) {
		t.Fatalf("an error message repeats an ID number: %s", out)
	}
	if h, r := countRegister(t, dbURL); h+r != 0 {
		t.Fatalf("a bad file loaded %d households, %d residents", h, r)
	}
	out = mustGridd(t, "register", "load", "--db", dbURL, writeFile(t, "register.csv", csvText))
	if !strings.Contains(out, fmt.Sprintf("%d residents", len(f.lines))) || !strings.Contains(out, "独居老人 1") {
		t.Fatalf("load: %s", out)
	}
	// The same rows from a workbook, one phone changed: one household changed.
	wb := excelize.NewFile()
	sh := wb.GetSheetList()[0]
	wb.SetSheetRow(sh, "A1", &[]any{"户号", "楼栋编号", "单元", "房号", "姓名", "身份证号", "联系电话", "标签"})
	for i, l := range f.lines {
		cells := strings.Split(l, ",")
		if i == 0 {
			cells[6] = "13812345678"
		}
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		wb.SetSheetRow(sh, fmt.Sprintf("A%d", i+2), &row)
	}
	xlsx := filepath.Join(t.TempDir(), "register.xlsx")
	if err := wb.SaveAs(xlsx); err != nil {
		t.Fatal(err)
	}
	if out := mustGridd(t, "register", "load", "--db", dbURL, xlsx); !strings.Contains(out, "version 2") || !strings.Contains(out, "1 changed") {
		t.Fatalf("xlsx load: %s", out)
	}
	if out := mustGridd(t, "register", "status", "--db", dbURL); !strings.Contains(out, "register version 2 (register.xlsx") {
		t.Fatalf("status: %s", out)
	}

	// The server's log (slog's default: nothing in cmd/gridd's tests runs
	// in parallel) is kept, to look for personal data in it.
	logs := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.MultiWriter(os.Stderr, logs), &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	base := serve(t, dbURL)
	district := f.gridA[:6]
	viewer := addUser(t, dbURL, base, "rviewer", "viewer", "")
	disp := addUser(t, dbURL, base, "rdisp", "dispatcher", f.street)
	peer := addUser(t, dbURL, base, "rpeer", "admin", f.street)
	boss := addUser(t, dbURL, base, "rboss", "admin", district)
	other := addUser(t, dbURL, base, "rother", "dispatcher", f.gridB)

	// Masked listings, narrowed to scope.
	var page struct {
		Area       string          `json:"area"`
		Matched    int             `json:"matched"`
		Households []geo.Household `json:"households"`
	}
	viewer.json(t, "GET", "/api/v1/households?area="+f.gridA, nil, http.StatusOK, &page)
	if page.Matched == 0 || page.Households[0].Members[0].Name == "" || !strings.Contains(page.Households[0].Members[0].Name, "*") {
		t.Fatalf("masked listing: %+v", page)
	}
	first := page.Households[0].Members[0]
	disp.json(t, "GET", "/api/v1/households?tag=独居老人", nil, http.StatusOK, &page)
	if page.Area != f.street || page.Matched != 1 {
		t.Fatalf("tag listing in scope: %+v", page)
	}
	other.do(t, "GET", "/api/v1/households?area="+f.gridA, nil, http.StatusForbidden)

	// Reveal: a viewer never; no reason, refused; out of scope, refused.
	viewer.do(t, "POST", fmt.Sprintf("/api/v1/residents/%d/reveal", first.ID), map[string]string{"reason": "好奇"}, http.StatusForbidden)
	disp.do(t, "POST", fmt.Sprintf("/api/v1/residents/%d/reveal", first.ID), map[string]string{}, http.StatusBadRequest)
	other.do(t, "POST", fmt.Sprintf("/api/v1/residents/%d/reveal", first.ID), map[string]string{"reason": "走访"}, http.StatusForbidden)
	var rev geo.Resident
	disp.json(t, "POST", fmt.Sprintf("/api/v1/residents/%d/reveal", first.ID), map[string]string{"reason": "独居老人周访核对"}, http.StatusOK, &rev)
	if !rev.Revealed || !strings.HasPrefix(rev.Name, "测试") || len(rev.IDNumber) != 18 || strings.Contains(rev.IDNumber, "*") {
		t.Fatalf("reveal: %+v", rev)
	}
	var found geo.Resident
	disp.json(t, "POST", "/api/v1/residents/search", map[string]string{"id_number": rev.IDNumber}, http.StatusOK, &found)
	if found.ID != first.ID || found.Revealed {
		t.Fatalf("search: %+v", found)
	}
	var audit struct {
		Entries []geo.AuditEntry `json:"entries"`
	}
	boss.json(t, "GET", "/api/v1/audit?action=resident.reveal", nil, http.StatusOK, &audit)
	if a := audit.Entries; len(a) != 1 || a[0].ActorName != "rdisp" || !strings.Contains(string(a[0].After), "独居老人周访核对") || strings.Contains(string(a[0].After), rev.IDNumber) {
		t.Fatalf("reveal audit: %+v", audit)
	}

	// 分级审批: request, refused download, approval from above, one download.
	var e geo.RegisterExport
	viewer.do(t, "POST", "/api/v1/register/exports", map[string]string{"area": f.street, "reason": "台账"}, http.StatusForbidden)
	disp.json(t, "POST", "/api/v1/register/exports", map[string]string{"area": f.street, "reason": "年度台账"}, http.StatusCreated, &e)
	disp.do(t, "POST", fmt.Sprintf("/api/v1/register/exports/%d/file", e.ID), nil, http.StatusForbidden)
	peer.do(t, "POST", fmt.Sprintf("/api/v1/register/exports/%d/decision", e.ID), map[string]any{"approve": true}, http.StatusForbidden)
	boss.json(t, "POST", fmt.Sprintf("/api/v1/register/exports/%d/decision", e.ID), map[string]any{"approve": true, "note": "同意"}, http.StatusOK, &e)
	if e.State != geo.ExportApproved || e.ExpiresAt == nil || time.Until(*e.ExpiresAt) < 23*time.Hour {
		t.Fatalf("approval: %+v", e)
	}
	csvOut := string(disp.do(t, "POST", fmt.Sprintf("/api/v1/register/exports/%d/file", e.ID), nil, http.StatusOK))
	if !strings.Contains(csvOut, rev.IDNumber) || !strings.HasPrefix(csvOut, "household_id,") {
		t.Fatalf("export: %s", csvOut)
	}
	disp.do(t, "POST", fmt.Sprintf("/api/v1/register/exports/%d/file", e.ID), nil, http.StatusForbidden)

	// Buildings byAddress by address (门牌) within the caller's scope; an
	// over-long search is refused.
	var addr, bid string
	c := connect(t, dbURL)
	if err := c.QueryRow(context.Background(), `SELECT b.address, b.id FROM buildings b
		JOIN building_grid bg ON bg.building_id = b.id AND bg.generation = (SELECT id FROM generations WHERE state = 'active')
		WHERE bg.grid_code = $1 AND b.address <> '' ORDER BY b.id LIMIT 1`, f.gridA).Scan(&addr, &bid); err != nil {
		t.Fatal(err)
	}
	var byAddress struct {
		NumberMatched int
		Features      []struct {
			ID         string
			Properties struct{ Address, Grid string }
		}
	}
	disp.json(t, "GET", "/api/v1/buildings?q="+url.QueryEscape(addr), nil, http.StatusOK, &byAddress)
	hit := false
	for _, b := range byAddress.Features {
		hit = hit || b.ID == bid
		if !strings.Contains(b.Properties.Address, addr) || !geo.InScope(f.street, b.Properties.Grid) {
			t.Errorf("search %q in scope %s byAddress %+v", addr, f.street, b)
		}
	}
	if !hit || byAddress.NumberMatched != len(byAddress.Features) {
		t.Errorf("search %q: %+v, want building %s among them", addr, byAddress, bid)
	}
	disp.do(t, "GET", "/api/v1/buildings?q="+url.QueryEscape(strings.Repeat("路", 101)), nil, http.StatusBadRequest)

	// Nowhere else: the viewer's other paths, and the server's log.
	var seen strings.Builder
	for _, p := range []string{"/api/v1/households?area=" + district + "&limit=500", "/api/v1/areas/" + f.gridA, "/api/v1/buildings?area=" + f.gridA,
		"/ogc/collections", "/ogc/collections/grids/items?limit=5", "/api/v1/register", "/tiles/grids/14/13717/6750.mvt"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		resp, err := viewer.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.Write(b)
	}
	seen.WriteString(logs.String())
	for i, id := range f.ids {
		if strings.Contains(seen.String(), id) || strings.Contains(seen.String(), f.names[i]) {
			t.Fatalf("resident %d's ID number or name was seen unmasked by a viewer or in the log", i)
		}
	}
}

// TestRegisterKeyFile: a key is made only when asked (first loads), kept
// private, read back the same, and refused when others may read it.
func TestRegisterKeyFile(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	kf := registerKeyFlags{}
	if k, err := kf.load(dir, false, &out); k != nil || err != nil {
		t.Fatalf("no key file, not asked to make one: %v %v", k, err)
	}
	k1, err := kf.load(dir, true, &out)
	if err != nil || !strings.Contains(out.String(), "back it up") {
		t.Fatalf("make: %v %q", err, out.String())
	}
	p := filepath.Join(dir, "register.key")
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	k2, err := kf.load(dir, true, io.Discard)
	if err != nil || k2.Check() != k1.Check() {
		t.Fatalf("read back: %v", err)
	}
	os.Chmod(p, 0o644)
	if _, err := kf.load(dir, false, io.Discard); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a readable key: %v", err)
	}
	if _, err := (&registerKeyFlags{key: "nonsense"}).load(dir, false, io.Discard); err == nil || !strings.Contains(err.Error(), "GRIDD_REGISTER_KEY") {
		t.Fatalf("a bad key in the environment: %v", err)
	}
}
