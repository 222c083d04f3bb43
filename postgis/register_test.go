package postgis_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/paulmach/orb"
)

// rowsSource is a register file already read: rows, and the errors its
// reader found.
type rowsSource struct {
	rows []geo.RegisterRow
	errs []geo.RowError
	i    int
}

func (s *rowsSource) Next() (geo.RegisterRow, error) {
	if s.i == len(s.rows) {
		return geo.RegisterRow{}, io.EOF
	}
	s.i++
	return s.rows[s.i-1], nil
}
func (s *rowsSource) Errors() ([]geo.RowError, int) { return s.errs, len(s.errs) }
func (s *rowsSource) Column(f string) string        { return "column " + f }

// testID makes a valid ID number in a district born on a day.
func testID(district, born string, n int) string {
	s := fmt.Sprintf("%s%s%03d", district, born, n)
	return s + string(geo.IDCheckChar(s))
}

// registerCity is a district with one street, one community and two grids
// side by side, and three buildings: R1 and R2 in the west grid, R3 in
// the east one.
func registerCity(t *testing.T, db *postgis.DB, district string) (gen int, west, east string) {
	t.Helper()
	ctx := context.Background()
	rect := func(x0, x1 float64) string {
		return fmt.Sprintf("MULTIPOLYGON(((%[1]g 29.80,%[2]g 29.80,%[2]g 29.81,%[1]g 29.81,%[1]g 29.80)))", x0, x1)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO generations (state, note) VALUES ('active', 'register test') RETURNING id`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	street, comm := district+"001", district+"001001"
	west, east = comm+"001", comm+"002"
	for _, a := range []struct{ level, code, parent, wkt string }{
		{"district", district, "", rect(121.50, 121.52)}, {"street", street, district, rect(121.50, 121.52)},
		{"community", comm, street, rect(121.50, 121.52)},
		{"grid", west, comm, rect(121.50, 121.51)}, {"grid", east, comm, rect(121.51, 121.52)},
	} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, geom) VALUES ($1, $2, $3, $3, $4, ST_GeomFromText($5, 4326))`,
			gen, a.level, a.code, a.parent, a.wkt); err != nil {
			t.Fatal(err)
		}
	}
	importBuildings(t, db, "rb1", []geo.Building{
		{ID: "R1", Address: "幸福路1号", Households: intp(2), Geometry: orb.Point{121.503, 29.805}},
		{ID: "R2", Address: "幸福路3号", Households: intp(1), Geometry: orb.Point{121.507, 29.805}},
		{ID: "R3", Address: "和平路2号", Households: intp(1), Geometry: orb.Point{121.515, 29.805}},
	})
	return gen, west, east
}

// registerRows: four households, six residents; the first is an elderly
// person living alone.
func registerRows(district string) []geo.RegisterRow {
	return []geo.RegisterRow{
		{Line: 2, HouseholdID: "H1", BuildingID: "R1", Unit: "1", Room: "101", Name: "王小明", IDNumber: testID(district, "19400307", 1), Phone: "13900000001", BirthDate: "1940-03-07", Tags: []string{"独居老人"}},
		{Line: 3, HouseholdID: "H2", BuildingID: "R1", Unit: "1", Room: "102", Name: "李大华", IDNumber: testID(district, "19800101", 2), Phone: "13900000002", BirthDate: "1980-01-01"},
		{Line: 4, HouseholdID: "H2", BuildingID: "R1", Unit: "1", Room: "102", Name: "李小华", IDNumber: testID(district, "20150601", 3), BirthDate: "2015-06-01", Tags: []string{"留守儿童"}},
		{Line: 5, HouseholdID: "H3", BuildingID: "R2", Name: "赵钱孙", IDNumber: testID(district, "19700101", 4), Phone: "13900000004", BirthDate: "1970-01-01", Tags: []string{"低保户"}},
		{Line: 6, HouseholdID: "H4", BuildingID: "R3", Name: "周吴郑", IDNumber: testID(district, "19900101", 5), Phone: "13900000005", BirthDate: "1990-01-01"},
		{Line: 7, HouseholdID: "H4", BuildingID: "R3", Name: "周小郑", IDNumber: testID(district, "19920101", 6), BirthDate: "1992-01-01"},
	}
}

func newKey(t *testing.T) *geo.RegisterKey {
	t.Helper()
	text, err := geo.NewRegisterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := geo.ParseRegisterKey(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// registerDump is everything the register tables hold, as text.
func registerDump(t *testing.T, db *postgis.DB) string {
	t.Helper()
	var s string
	if err := db.Pool.QueryRow(context.Background(), `SELECT concat((SELECT string_agg(r::text, '|') FROM residents r), (SELECT string_agg(h::text, '|') FROM households h),
		(SELECT string_agg(s::text, '|') FROM register_sets s), (SELECT string_agg(a::text, '|') FROM audit_log a))`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegisterLoadRevealDelete(t *testing.T) {
	for _, district := range []string{"330212", "330205"} {
		t.Run(district, func(t *testing.T) { testRegister(t, district) })
	}
}

func testRegister(t *testing.T, district string) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	_, west, east := registerCity(t, db, district)
	key := newKey(t)
	meta := geo.RegisterMeta{FileName: "r.csv", FileHash: "f1", Tags: geo.DefaultResidentTags(), By: "test"}
	rows := registerRows(district)

	// Bad rows: the reader's and an unknown building, all reported by
	// line; nothing loaded.
	bad := append(append([]geo.RegisterRow(nil), rows...), geo.RegisterRow{Line: 8, HouseholdID: "H9", BuildingID: "NOPE", Name: "某某", IDNumber: testID(district, "19900101", 9)})
	rep, err := db.LoadRegister(ctx, key, meta, &rowsSource{rows: bad, errs: []geo.RowError{{Line: 3, Column: "column id_number", Message: "bad"}}}, nil)
	if err == nil || rep.ErrorCount != 2 || rep.Errors[0].Line != 3 || rep.Errors[1].Line != 8 || !strings.Contains(rep.Errors[1].Message, `"NOPE"`) {
		t.Fatalf("bad rows: %v %+v", err, rep.Errors)
	}
	if !strings.HasPrefix(geo.ErrorMessage(err), "r.csv: line 3, column id_number: bad (and 1 more") {
		t.Fatalf("message %q", geo.ErrorMessage(err))
	}
	if st, _ := db.RegisterStatus(ctx); st.Loaded || st.Residents != 0 {
		t.Fatalf("a bad file loaded something: %+v", st)
	}

	audit := &geo.AuditEntry{ActorKind: "cli", ActorName: "test"}
	rep, err = db.LoadRegister(ctx, key, meta, &rowsSource{rows: rows}, audit)
	if err != nil || rep.Households != 4 || rep.Residents != 6 || rep.Added != 4 || rep.Tags["独居老人"] != 1 {
		t.Fatalf("load: %v %+v", err, rep)
	}
	// Nothing personal is stored in the clear, nor in the audit log.
	dump := registerDump(t, db)
	for _, r := range rows {
		for _, v := range []string{r.Name, r.IDNumber, r.Phone, r.BirthDate} {
			if v != "" && strings.Contains(dump, v) {
				t.Fatalf("%q is stored in the clear", v)
			}
		}
	}
	if rep2, err := db.LoadRegister(ctx, key, meta, &rowsSource{rows: rows}, nil); err != nil || !rep2.Unchanged {
		t.Fatalf("identical file: %v %+v", err, rep2)
	}

	// Masked listing by area and tag.
	page, err := db.Households(ctx, geo.HouseholdQuery{Area: west, Limit: 10})
	if err != nil || page.Matched != 3 || len(page.Households) != 3 {
		t.Fatalf("west: %v %+v", err, page)
	}
	h1 := page.Households[0]
	if h1.ID != "H1" || h1.Address != "幸福路1号" || h1.Grid != west || len(h1.Members) != 1 {
		t.Fatalf("H1 %+v", h1)
	}
	m := h1.Members[0]
	if m.Name != "王*明" || m.IDNumber != district+"********"+rows[0].IDNumber[14:] || m.Phone != "139****0001" || m.BirthDate != "1940" || m.Revealed {
		t.Fatalf("masked %+v", m)
	}
	if p, _ := db.Households(ctx, geo.HouseholdQuery{Area: district, Tag: "留守儿童", Limit: 10}); p.Matched != 1 || p.Households[0].ID != "H2" || len(p.Households[0].Members) != 2 {
		t.Fatalf("tag: %+v", p)
	}

	// Reveal: role, scope and reason, audited without the data.
	eastWorker := geo.Principal{Kind: "user", Name: "east", Role: geo.AccessWorker, Scope: east}
	westDisp := geo.Principal{Kind: "user", Name: "westdisp", Role: geo.AccessDispatcher, Scope: west}
	for _, c := range []struct {
		p      geo.Principal
		reason string
		code   string
	}{
		{geo.Principal{Name: "v", Role: geo.AccessViewer}, "走访", geo.EFORBIDDEN},
		{geo.Principal{Name: "g", Role: geo.AccessGIS}, "走访", geo.EFORBIDDEN},
		{eastWorker, "走访", geo.EFORBIDDEN},
		{westDisp, " ", geo.EINVALID},
	} {
		if _, err := db.RevealResident(ctx, key, m.ID, c.p, c.reason, nil); geo.ErrorCode(err) != c.code {
			t.Errorf("reveal by %s/%q: %v, want %s", c.p.Name, c.reason, err, c.code)
		}
	}
	got, err := db.RevealResident(ctx, key, m.ID, westDisp, "独居老人周访", nil)
	if err != nil || got.Name != "王小明" || got.IDNumber != rows[0].IDNumber || got.Phone != "13900000001" || !got.Revealed {
		t.Fatalf("reveal: %v %+v", err, got)
	}
	es, err := db.Audit(ctx, geo.AuditQuery{Action: "resident.reveal", Limit: 10})
	if err != nil || len(es) != 1 || es[0].ActorName != "westdisp" || !bytes.Contains(es[0].After, []byte("独居老人周访")) || bytes.Contains(es[0].After, []byte(rows[0].IDNumber)) {
		t.Fatalf("reveal audit: %v %+v", err, es)
	}
	if _, err := db.RevealResident(ctx, newKey(t), m.ID, westDisp, "走访", nil); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("reveal with another key: %v", err)
	}
	if f, err := db.FindResident(ctx, key, strings.ToLower(rows[0].IDNumber), west); err != nil || f.ID != m.ID || f.Name != "王*明" {
		t.Fatalf("find: %v %+v", err, f)
	}
	if _, err := db.FindResident(ctx, key, rows[0].IDNumber, east); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("find outside scope: %v", err)
	}

	// A re-load: H3 gone, H1's phone changed, a new household; residents
	// keep their ids. Another key is refused before anything is read.
	next := append([]geo.RegisterRow(nil), rows[:3]...)
	next[0].Phone = "13911111111"
	next = append(next, rows[4:]...)
	next = append(next, geo.RegisterRow{Line: 9, HouseholdID: "H5", BuildingID: "R2", Name: "新住户", IDNumber: testID(district, "19950101", 7)})
	if _, err := db.LoadRegister(ctx, newKey(t), geo.RegisterMeta{FileName: "r2.csv", FileHash: "f2"}, &rowsSource{rows: next}, nil); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("load with another key: %v", err)
	}
	rep, err = db.LoadRegister(ctx, key, geo.RegisterMeta{FileName: "r2.csv", FileHash: "f2", Tags: geo.DefaultResidentTags()}, &rowsSource{rows: next}, nil)
	if err != nil || rep.Added != 1 || rep.Removed != 1 || rep.Changed != 1 || rep.Same != 2 || rep.Version != 2 {
		t.Fatalf("re-load: %v %+v", err, rep)
	}
	if again, err := db.RevealResident(ctx, key, m.ID, westDisp, "核对电话", nil); err != nil || again.Phone != "13911111111" {
		t.Fatalf("the same resident after a re-load: %v %+v", err, again)
	}

	// Deleting a resident deletes the data, keeps the audit trail.
	admin := &geo.AuditEntry{ActorKind: "user", ActorName: "admin"}
	if err := db.DeleteResident(ctx, m.ID, "", admin); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevealResident(ctx, key, m.ID, westDisp, "走访", nil); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("reveal after deletion: %v", err)
	}
	if es, _ := db.Audit(ctx, geo.AuditQuery{Action: "resident.", Limit: 10}); len(es) != 3 || es[0].Action != "resident.delete" {
		t.Fatalf("audit after deletion: %+v", es)
	}
	if st, _ := db.RegisterStatus(ctx); st.Households != 3 || st.Residents != 5 {
		t.Fatalf("after deletion: %+v", st)
	}
}

// TestRegisterExportApproval: 分级审批 of an unmasked export.
func TestRegisterExportApproval(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	district := "330206"
	registerCity(t, db, district)
	key := newKey(t)
	rows := registerRows(district)
	if _, err := db.LoadRegister(ctx, key, geo.RegisterMeta{FileName: "r.csv", Tags: geo.DefaultResidentTags()}, &rowsSource{rows: rows}, nil); err != nil {
		t.Fatal(err)
	}
	street := district + "001"
	disp := geo.Principal{Kind: "user", Name: "streetdisp", Role: geo.AccessDispatcher, Scope: street}
	peer := geo.Principal{Kind: "user", Name: "streetadmin", Role: geo.AccessAdmin, Scope: street}
	boss := geo.Principal{Kind: "user", Name: "districtadmin", Role: geo.AccessAdmin, Scope: district}
	if _, err := db.RequestExport(ctx, geo.Principal{Name: "v", Role: geo.AccessViewer}, street, "台账", nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("viewer's request: %v", err)
	}
	if _, err := db.RequestExport(ctx, disp, district, "台账", nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("request beyond scope: %v", err)
	}
	e, err := db.RequestExport(ctx, disp, street, "年度台账核对", &geo.AuditEntry{ActorName: disp.Name})
	if err != nil || e.State != geo.ExportPending {
		t.Fatalf("request: %v %+v", err, e)
	}
	var out bytes.Buffer
	if _, err := db.ExportRegister(ctx, key, e.ID, disp, &out, nil); geo.ErrorCode(err) != geo.EFORBIDDEN || out.Len() != 0 {
		t.Fatalf("unapproved download: %v, %d bytes", err, out.Len())
	}
	for _, p := range []geo.Principal{disp, peer} {
		if _, err := db.DecideExport(ctx, e.ID, p, true, "", time.Hour, nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
			t.Fatalf("approval by %s: %v", p.Name, err)
		}
	}
	if l, _ := db.RegisterExports(ctx, boss); len(l) != 1 {
		t.Fatalf("the approver's list: %+v", l)
	}
	if l, _ := db.RegisterExports(ctx, peer); len(l) != 0 {
		t.Fatalf("a peer's list: %+v", l)
	}
	e, err = db.DecideExport(ctx, e.ID, boss, true, "同意", time.Hour, &geo.AuditEntry{ActorName: boss.Name})
	if err != nil || e.State != geo.ExportApproved || e.DecidedBy != "districtadmin" {
		t.Fatalf("approve: %v %+v", err, e)
	}
	if _, err := db.ExportRegister(ctx, key, e.ID, boss, &out, nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("download by someone else: %v", err)
	}
	n, err := db.ExportRegister(ctx, key, e.ID, disp, &out, &geo.AuditEntry{ActorName: disp.Name})
	if err != nil || n != 6 || !strings.Contains(out.String(), rows[0].IDNumber) || !strings.Contains(out.String(), "王小明") {
		t.Fatalf("download: %v %d\n%s", err, n, out.String())
	}
	if _, err := db.ExportRegister(ctx, key, e.ID, disp, io.Discard, nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("second download: %v", err)
	}
	// An approval not used in time expires; a refusal is final.
	e2, _ := db.RequestExport(ctx, disp, street, "再次核对", nil)
	if _, err := db.DecideExport(ctx, e2.ID, boss, true, "", -time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExportRegister(ctx, key, e2.ID, disp, io.Discard, nil); geo.ErrorCode(err) != geo.EEXPIRED {
		t.Fatalf("expired approval: %v", err)
	}
	e3, _ := db.RequestExport(ctx, disp, street, "第三次", nil)
	if e3, err = db.DecideExport(ctx, e3.ID, boss, false, "不必要", time.Hour, nil); err != nil || e3.State != geo.ExportRefused {
		t.Fatalf("refuse: %v %+v", err, e3)
	}
	if _, err := db.ExportRegister(ctx, key, e3.ID, disp, io.Discard, nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("refused download: %v", err)
	}
	es, _ := db.Audit(ctx, geo.AuditQuery{Action: "register.export", Limit: 10})
	if len(es) != 3 || es[0].Action != "register.export_download" || bytes.Contains(es[0].After, []byte(rows[0].IDNumber)) {
		t.Fatalf("export audit: %+v", es)
	}
}
