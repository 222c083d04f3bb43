package postgis_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// closeCase carries a new case of source through the loop to 结案.
func closeCase(t *testing.T, db *postgis.DB, source string) geo.Incident {
	t.Helper()
	n := report("E0102", "")
	n.Source = source
	inc := mustCreate(t, db, n)
	for _, st := range []struct {
		a geo.Action
		r geo.Role
	}{{geo.ActRegister, geo.RoleOperator}, {geo.ActDispatch, geo.RoleOperator}, {geo.ActAccept, geo.RoleChengguan},
		{geo.ActHandle, geo.RoleChengguan}, {geo.ActVerify, geo.RoleCommunitySupervisor}, {geo.ActClose, geo.RoleOperator}} {
		act(t, db, &inc, st.a, st.r)
	}
	return inc
}

func districtMetrics(t *testing.T, db *postgis.DB) geo.Metrics {
	t.Helper()
	ms, err := db.Metrics(context.Background(), geo.MetricsQuery{Area: testChain.District.Code, From: time.Now().Add(-time.Hour)})
	if err != nil || len(ms) != 1 {
		t.Fatalf("metrics: %+v %v", ms, err)
	}
	return ms[0]
}

// TestVerdicts: the reporter of a closed case judges it once, by the
// Open311 token or a signed link; not satisfied reopens it once for
// rework with a new deadline; the rates follow; staff reports, open
// cases, second verdicts, forged and expired links are refused and
// change nothing.
func TestVerdicts(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	s := seedStaff(t, db)

	happy := closeCase(t, db, "hotline")
	unhappy := closeCase(t, db, "open311")
	staffCase := closeCase(t, db, "grid_worker")
	open := mustCreate(t, db, report("E0102", ""))

	// Refusals first: none may leave a trace.
	for _, tt := range []struct {
		name string
		req  geo.VerdictRequest
		code string
	}{
		{"staff report", geo.VerdictRequest{Token: staffCase.Token, Satisfied: true}, geo.ECONFLICT},
		{"open case", geo.VerdictRequest{Token: open.Token, Satisfied: true}, geo.ECONFLICT},
		{"unknown token", geo.VerdictRequest{Token: "6f1c9a52-0000-4000-8000-000000000000", Satisfied: true}, geo.ENOTFOUND},
		{"forged link", geo.VerdictRequest{Link: geo.SignVerdictLink([]byte("not the key, not the key, not it!"), happy.ID, time.Now().Add(time.Hour)), Satisfied: true}, geo.EINVALID},
		{"no comment when not satisfied", geo.VerdictRequest{Token: unhappy.Token}, geo.EINVALID},
		{"token and link", geo.VerdictRequest{Token: happy.Token, Link: "1.2.3", Satisfied: true}, geo.EINVALID},
	} {
		if _, _, err := db.RecordVerdict(ctx, tt.req); geo.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if _, err := db.VerdictLink(ctx, staffCase.ID); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("a link for a staff report: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM verdicts) + (SELECT count(*) FROM incident_events WHERE action IN ('verdict', 'reopen'))`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused verdicts left %d rows (%v)", n, err)
	}
	before := districtMetrics(t, db)
	if before.CitizenReported != 3 || before.StaffReported != 1 || before.Verdicts != 0 {
		t.Fatalf("before any verdict: %+v", before)
	}

	// Satisfied, through a signed link; the link works once.
	l, err := db.VerdictLink(ctx, happy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := l.ExpiresAt.Sub(*happy.ClosedAt); d < geo.DefaultVerdictWithin-time.Second || d > geo.DefaultVerdictWithin {
		t.Fatalf("the link expires %s after closure", d)
	}
	v, after, err := db.RecordVerdict(ctx, geo.VerdictRequest{Link: l.Link, Satisfied: true, Comment: "很快就清理了"})
	if err != nil || !v.Satisfied || v.Reopened || v.Channel != "link" || after.State != geo.StateClosed || after.Version != happy.Version {
		t.Fatalf("satisfied verdict: %+v %+v %v", v, after, err)
	}
	if _, _, err := db.RecordVerdict(ctx, geo.VerdictRequest{Link: l.Link, Satisfied: false, Comment: "again"}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("a second verdict through the link: %v", err)
	}
	if _, _, err := db.RecordVerdict(ctx, geo.VerdictRequest{Token: happy.Token, Satisfied: false, Comment: "again"}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("a second verdict through the token: %v", err)
	}

	// Not satisfied, through the token: reopened for its assignee.
	v, re, err := db.RecordVerdict(ctx, geo.VerdictRequest{Token: unhappy.Token, Satisfied: false, Comment: "垃圾还在"})
	if err != nil || !v.Reopened || re.State != geo.StateDispatched || re.ReworkCount != unhappy.ReworkCount+1 ||
		re.ClosedAt != nil || re.HandledAt != nil || re.Assignee == nil || re.Assignee.ID != s.chengguanA || !re.DeadlineAt.After(time.Now()) {
		t.Fatalf("dissatisfied verdict: %+v %+v %v", v, re, err)
	}
	evs, err := db.IncidentEvents(ctx, unhappy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := len(evs); k < 2 || evs[k-2].Action != geo.ActVerdict || evs[k-1].Action != geo.ActReopen || evs[k-1].ToState != geo.StateDispatched {
		t.Fatalf("history ends %+v", evs[len(evs)-2:])
	}
	// Handled and closed again, it stays closed: one verdict, one reopening.
	for _, st := range []struct {
		a geo.Action
		r geo.Role
	}{{geo.ActAccept, geo.RoleChengguan}, {geo.ActHandle, geo.RoleChengguan}, {geo.ActVerify, geo.RoleCommunitySupervisor}, {geo.ActClose, geo.RoleOperator}} {
		act(t, db, &re, st.a, st.r)
	}
	if _, _, err := db.RecordVerdict(ctx, geo.VerdictRequest{Token: unhappy.Token, Satisfied: false, Comment: "还是不行"}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("a verdict on the reworked case: %v", err)
	}

	m := districtMetrics(t, db)
	if m.Verdicts != 2 || m.Satisfied != 1 || m.SatisfactionRate != 0.5 || m.ReopenedByCitizen != 1 ||
		m.Reworked != before.Reworked+1 || m.CitizenReported != 3 || m.StaffReported != 1 {
		t.Fatalf("after the verdicts: %+v (before %+v)", m, before)
	}
	if got, err := db.IncidentVerdict(ctx, unhappy.ID); err != nil || got.Satisfied || got.Comment != "垃圾还在" || !got.Reopened {
		t.Fatalf("stored verdict %+v %v", got, err)
	}

	// Late: the window is over, whatever the link says.
	late := closeCase(t, db, "app")
	l, err = db.VerdictLink(ctx, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET closed_at = now() - interval '8 days' WHERE id = $1`, late.ID); err != nil {
		t.Fatal(err)
	}
	for _, req := range []geo.VerdictRequest{{Link: l.Link, Satisfied: true}, {Token: late.Token, Satisfied: true}} {
		if _, _, err := db.RecordVerdict(ctx, req); geo.ErrorCode(err) != geo.EEXPIRED {
			t.Fatalf("a verdict 8 days after closure: %v", err)
		}
	}
	if _, err := db.VerdictLink(ctx, late.ID); geo.ErrorCode(err) != geo.EEXPIRED {
		t.Fatalf("a link 8 days after closure: %v", err)
	}
	// A shorter window applies to cases closed before it was set.
	if err := db.SetVerdictPolicy(ctx, geo.VerdictPolicy{Within: time.Hour}); err != nil {
		t.Fatal(err)
	}
	short := closeCase(t, db, "hotline")
	if _, err := db.Pool.Exec(ctx, `UPDATE incidents SET closed_at = now() - interval '2 hours' WHERE id = $1`, short.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RecordVerdict(ctx, geo.VerdictRequest{Token: short.Token, Satisfied: true}); geo.ErrorCode(err) != geo.EEXPIRED {
		t.Fatalf("a verdict after a 1h window: %v", err)
	}
	if err := db.SetVerdictPolicy(ctx, geo.VerdictPolicy{Within: time.Minute}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("a 1-minute window: %v", err)
	}
}
