package postgis_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
)

// dupChain is a district of its own: nothing here depends on the demo's.
var dupChain = geo.Chain{
	District:  &geo.AreaRef{Code: "330206", Name: "北仑区"},
	Street:    &geo.AreaRef{Code: "330206004", Name: "测试街道"},
	Community: &geo.AreaRef{Code: "330206004002", Name: "测试社区"},
	Grid:      &geo.AreaRef{Code: "330206004002003", Name: "测试网格"},
}

// metresEast is how many degrees of longitude make m metres at lat.
func metresEast(m, lat float64) float64 { return m / (111320 * math.Cos(lat*math.Pi/180)) }

func dupReport(category string, lon, lat float64) geo.NewIncident {
	return geo.NewIncident{Category: category, Lon: lon, Lat: lat, SRS: geo.DatumWGS84,
		Location:    geo.Location{Chain: dupChain, Match: geo.MatchInside},
		Description: "路边垃圾", Reporter: geo.Reporter{Name: "市民", Phone: "12345"}, Source: "open311",
		Actor: "open311", Role: geo.RoleOperator}
}

// TestDuplicateFlags: a report near an open case of the same category,
// within the period, is flagged; farther, of another category, later or
// near a closed case, it is not.
func TestDuplicateFlags(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	if p, err := db.DuplicatePolicy(ctx); err != nil || p != (geo.DuplicatePolicy{WithinM: 50, Days: 7}) {
		t.Fatalf("default rule %+v %v", p, err)
	}
	for i, tt := range []struct {
		name      string
		metres    float64
		category  string
		daysAgo   int  // the existing case was reported this long ago
		closed    bool // and has been cancelled since
		wantFlag  bool
		wantNearM float64
	}{
		{"40 m, same category, now", 40, "E0102", 0, false, true, 40},
		{"60 m away", 60, "E0102", 0, false, false, 0},
		{"another category", 5, "E0104", 0, false, false, 0},
		{"6 days later", 10, "E0102", 6, false, true, 10},
		{"8 days later", 10, "E0102", 8, false, false, 0},
		{"the case is closed", 10, "E0102", 0, true, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Each row far from the others (≈ 1 km apart).
			lon, lat := 121.80+0.01*float64(i), 29.90
			old := mustCreate(t, db, dupReport("E0102", lon, lat))
			if tt.daysAgo > 0 {
				if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET created_at = now() - make_interval(days => $2) WHERE id = $1`, old.ID, tt.daysAgo); err != nil {
					t.Fatal(err)
				}
			}
			if tt.closed {
				act(t, db, &old, geo.ActCancel, geo.RoleOperator)
			}
			inc := mustCreate(t, db, dupReport(tt.category, lon+metresEast(tt.metres, lat), lat))
			d, err := db.Duplicates(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantFlag {
				if len(d.Candidates) != 0 {
					t.Fatalf("flagged: %+v", d.Candidates)
				}
				return
			}
			if len(d.Candidates) != 1 || d.Candidates[0].ID != old.ID || d.Candidates[0].DistanceM < tt.wantNearM-1 || d.Candidates[0].DistanceM > tt.wantNearM+1 {
				t.Fatalf("candidates %+v, want case %d at %g m", d.Candidates, old.ID, tt.wantNearM)
			}
			back, err := db.Duplicates(ctx, old.ID)
			if err != nil || len(back.FlaggedBy) != 1 || back.FlaggedBy[0].ID != inc.ID || len(back.Candidates) != 0 {
				t.Fatalf("the older case's view: %+v %v", back, err)
			}
		})
	}

	// The rule is configurable: at 100 m the 60 m report is flagged.
	if err := db.SetDuplicatePolicy(ctx, geo.DuplicatePolicy{WithinM: 100, Days: 7}); err != nil {
		t.Fatal(err)
	}
	old := mustCreate(t, db, dupReport("E0102", 121.90, 29.90))
	inc := mustCreate(t, db, dupReport("E0102", 121.90+metresEast(60, 29.90), 29.90))
	if d, err := db.Duplicates(ctx, inc.ID); err != nil || len(d.Candidates) != 1 || d.Candidates[0].ID != old.ID {
		t.Fatalf("within 100 m: %+v %v", d, err)
	}
	if err := db.SetDuplicatePolicy(ctx, geo.DuplicatePolicy{WithinM: 0, Days: 7}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("0 m: %v", err)
	}
}

// TestMergeDuplicate: the duplicate is merged into the open case: closed,
// linked, its history kept; the survivor records it; metrics count once;
// a merge into a closed case, of a stale version or by a handler is
// refused and changes nothing.
func TestMergeDuplicate(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	start := time.Now().Add(-time.Minute)
	lon, lat := 121.85, 29.91
	old := mustCreate(t, db, dupReport("E0102", lon, lat))
	act(t, db, &old, geo.ActRegister, geo.RoleOperator)
	dup := mustCreate(t, db, dupReport("E0102", lon+metresEast(20, lat), lat))
	act(t, db, &dup, geo.ActRegister, geo.RoleOperator) // some history of its own

	metrics := func() geo.Metrics {
		t.Helper()
		ms, err := db.Metrics(ctx, geo.MetricsQuery{Area: dupChain.District.Code, From: start})
		if err != nil || len(ms) != 1 {
			t.Fatalf("metrics %+v %v", ms, err)
		}
		return ms[0]
	}
	if m := metrics(); m.Received != 2 {
		t.Fatalf("before the merge: %+v", m)
	}

	merge := func(id, into int64, version int, role geo.Role) (geo.Incident, error) {
		return db.MergeIncident(ctx, geo.MergeRequest{ID: id, Into: into, Version: version, Note: "同一处垃圾", Actor: "调度员", Role: role})
	}
	if _, err := merge(dup.ID, old.ID, dup.Version-1, geo.RoleOperator); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("stale version: %v", err)
	}
	if _, err := merge(dup.ID, old.ID, dup.Version, geo.RoleChengguan); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("a handler merging: %v", err)
	}
	if _, err := merge(dup.ID, dup.ID, dup.Version, geo.RoleOperator); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("into itself: %v", err)
	}
	if _, err := merge(dup.ID, 999999, dup.Version, geo.RoleOperator); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("into nothing: %v", err)
	}

	merged, err := merge(dup.ID, old.ID, dup.Version, geo.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if merged.State != geo.StateClosed || merged.ClosedAt == nil || merged.Version != dup.Version+1 {
		t.Fatalf("merged case %+v", merged)
	}
	evs, err := db.IncidentEvents(ctx, dup.ID)
	if err != nil || len(evs) != 3 || evs[0].Action != geo.ActReport || evs[1].Action != geo.ActRegister || evs[2].Action != geo.ActMerge ||
		!strings.Contains(evs[2].Note, "#"+itoa(old.ID)) || evs[2].ToState != geo.StateClosed {
		t.Fatalf("the merged case's history %+v %v", evs, err)
	}
	oevs, err := db.IncidentEvents(ctx, old.ID)
	if err != nil || oevs[len(oevs)-1].Action != geo.ActAbsorb || !strings.Contains(oevs[len(oevs)-1].Note, "#"+itoa(dup.ID)) {
		t.Fatalf("the survivor's history %+v %v", oevs, err)
	}
	if s, err := db.Survivor(ctx, dup.ID); err != nil || s != old.ID {
		t.Fatalf("survivor %d %v", s, err)
	}
	if s, err := db.Survivor(ctx, old.ID); err != nil || s != old.ID {
		t.Fatalf("the survivor's survivor %d %v", s, err)
	}
	d, err := db.Duplicates(ctx, old.ID)
	if err != nil || len(d.Merged) != 1 || d.Merged[0] != dup.ID || len(d.FlaggedBy) != 0 {
		t.Fatalf("the survivor's duplicates %+v %v", d, err)
	}
	if d, err := db.Duplicates(ctx, dup.ID); err != nil || d.MergedInto != old.ID || len(d.Candidates) != 1 {
		t.Fatalf("the merged case's duplicates %+v %v", d, err)
	}
	if m := metrics(); m.Received != 1 || m.Closed != 0 {
		t.Fatalf("after the merge, counted once and not closed: %+v", m)
	}

	// Merging again, or into a closed case, is refused.
	if _, err := merge(dup.ID, old.ID, merged.Version, geo.RoleOperator); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("merging a merged case: %v", err)
	}
	third := mustCreate(t, db, dupReport("E0102", lon, lat+0.0001))
	if old, err = db.Incident(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	act(t, db, &old, geo.ActCancel, geo.RoleOperator)
	_, err = merge(third.ID, old.ID, third.Version, geo.RoleOperator)
	if geo.ErrorCode(err) != geo.ECONFLICT || !strings.Contains(geo.ErrorMessage(err), "open case") {
		t.Fatalf("into a cancelled case: %v", err)
	}
	if now, _ := db.Incident(ctx, third.ID); now.Version != third.Version || now.State != third.State {
		t.Fatalf("a refused merge changed the case: %+v", now)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
