package postgis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// deptStaff are the departments' people of the summons tests.
type deptStaff struct {
	police, market, chengguanSup, gonganSup int64
}

// seedDeptStaff stores the people departments send: a 公安 officer at the
// community, a 市场监管 officer at the street, 城管's supervisor at the
// street and 公安's at the district.
func seedDeptStaff(t *testing.T, db *postgis.DB) deptStaff {
	t.Helper()
	save := func(name, dept string, r geo.Responsibility) int64 {
		t.Helper()
		p, err := db.SavePerson(context.Background(), geo.Person{Name: name, Phone: "13900000000", Dept: dept, Active: true,
			Responsibilities: []geo.Responsibility{r}})
		if err != nil {
			t.Fatalf("save %s: %v", name, err)
		}
		return p.ID
	}
	return deptStaff{
		police:       save("公安民警", "gongan", geo.Responsibility{Code: testChain.Community.Code, Role: geo.RolePolice}),
		market:       save("市场监管员", "shichang", geo.Responsibility{Code: testChain.Street.Code, Role: geo.RoleMarket}),
		chengguanSup: save("城管中队长", "chengguan", geo.Responsibility{Code: testChain.Street.Code, Role: geo.RoleDeptSupervisor}),
		gonganSup:    save("公安督办", "gongan", geo.Responsibility{Code: testChain.District.Code, Role: geo.RoleDeptSupervisor}),
	}
}

func summon(t *testing.T, db *postgis.DB, inc geo.Incident, depts ...string) []geo.Summons {
	t.Helper()
	ss, err := db.Summon(context.Background(), inc.ID, geo.SummonsRequest{Depts: depts, Task: "联合处置", Version: inc.Version,
		Actor: "dispatcher", Role: geo.RoleOperator})
	if err != nil {
		t.Fatalf("summon %v: %v", depts, err)
	}
	return ss
}

func sact(t *testing.T, db *postgis.DB, s *geo.Summons, a geo.SummonsAction, who geo.SummonsActor, mod ...func(*geo.SummonsTransitionRequest)) {
	t.Helper()
	req := geo.SummonsTransitionRequest{Action: a, Version: s.Version, Note: "note " + string(a), Actor: "tester", Who: who}
	for _, m := range mod {
		m(&req)
	}
	out, err := db.TransitionSummons(context.Background(), s.ID, req)
	if err != nil {
		t.Fatalf("%s on a %s summons: %v", a, s.State, err)
	}
	if out.Version != s.Version+1 {
		t.Fatalf("%s: version %d -> %d", a, s.Version, out.Version)
	}
	*s = out
}

func countRows(t *testing.T, db *postgis.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestSummonsCloseAfterBoth: a case with two summons is verified and
// closed only after both departments have reported back; each summons is
// routed to its department's person on the case's chain, carries its own
// history, returns and extensions; refusals store nothing.
func TestSummonsCloseAfterBoth(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	s := seedStaff(t, db)
	d := seedDeptStaff(t, db)
	inc := mustCreate(t, db, report("E0102", ""))
	if _, err := db.Summon(ctx, inc.ID, geo.SummonsRequest{Depts: []string{"gongan"}, Task: "x", Version: inc.Version, Actor: "d", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("a summons on a case not yet registered: %v", err)
	}
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
	act(t, db, &inc, geo.ActDispatch, geo.RoleOperator)
	act(t, db, &inc, geo.ActAccept, geo.RoleChengguan)

	ss := summon(t, db, inc, "gongan", "shichang")
	if len(ss) != 2 {
		t.Fatalf("%d summons", len(ss))
	}
	police, market := ss[0], ss[1]
	if police.Dept != "gongan" || police.Assignee == nil || police.Assignee.ID != d.police || police.Assignee.Level != geo.Community ||
		police.Assignee.Role != geo.RolePolice || police.State != geo.SummonsDispatched {
		t.Fatalf("公安's summons: %+v", police)
	}
	if market.Assignee == nil || market.Assignee.ID != d.market || market.Assignee.Level != geo.Street || !market.DeadlineAt.After(market.CreatedAt) {
		t.Fatalf("市场监管's summons: %+v", market)
	}

	// Refusals, none leaving a trace.
	before := countRows(t, db, `SELECT (SELECT count(*) FROM summons) + (SELECT count(*) FROM incident_events)`)
	for _, tt := range []struct {
		name string
		req  geo.SummonsRequest
		code string
	}{
		{"a department with an open summons", geo.SummonsRequest{Depts: []string{"yingji", "gongan"}, Task: "再来", Version: inc.Version, Actor: "d", Role: geo.RoleOperator}, geo.ECONFLICT},
		{"an unknown department", geo.SummonsRequest{Depts: []string{"yingji", "nosuch"}, Task: "x", Version: inc.Version, Actor: "d", Role: geo.RoleOperator}, geo.EINVALID},
		{"a stale version", geo.SummonsRequest{Depts: []string{"yingji"}, Task: "x", Version: inc.Version - 1, Actor: "d", Role: geo.RoleOperator}, geo.ECONFLICT},
		{"no task", geo.SummonsRequest{Depts: []string{"yingji"}, Version: inc.Version, Actor: "d", Role: geo.RoleOperator}, geo.EINVALID},
		{"a handler, not a supervisor", geo.SummonsRequest{Depts: []string{"yingji"}, Task: "x", Version: inc.Version, Actor: "d", Role: geo.RoleChengguan, PersonID: s.chengguanA}, geo.EFORBIDDEN},
	} {
		if _, err := db.Summon(ctx, inc.ID, tt.req); geo.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	if n := countRows(t, db, `SELECT (SELECT count(*) FROM summons) + (SELECT count(*) FROM incident_events)`); n != before {
		t.Fatalf("refused summons changed %d rows", n-before)
	}

	// The case's own handler finishes its part; the case waits for both.
	act(t, db, &inc, geo.ActHandle, geo.RoleChengguan)
	for _, a := range []geo.Action{geo.ActVerify, geo.ActClose} {
		if _, err := db.Transition(ctx, inc.ID, geo.TransitionRequest{Action: a, Version: inc.Version, Actor: "d", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.ECONFLICT {
			t.Fatalf("%s with two open summons: %v", a, err)
		}
	}

	// 公安 reports and finishes; someone else of the department may not.
	if _, err := db.TransitionSummons(ctx, police.ID, geo.SummonsTransitionRequest{Action: geo.SumAccept, Version: police.Version, Actor: "x",
		Who: geo.SummonsActor{Role: geo.RoleMarket}}); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("accepted by someone it is not assigned to: %v", err)
	}
	handler := geo.SummonsActor{Role: geo.RolePolice, Assignee: true}
	sact(t, db, &police, geo.SumAccept, handler)
	sact(t, db, &police, geo.SumHandle, handler)
	if police.State != geo.SummonsHandled || police.HandledAt == nil || police.Answer != "note handle" || police.Late {
		t.Fatalf("公安's handled summons: %+v", police)
	}
	if _, err := db.Transition(ctx, inc.ID, geo.TransitionRequest{Action: geo.ActVerify, Version: inc.Version, Actor: "d", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("verify with one open summons: %v", err)
	}

	// 市场监管 returns it, the centre redispatches, it asks for more time
	// and its supervisor grants it, then it finishes.
	mh := geo.SummonsActor{Role: geo.RoleMarket, Assignee: true}
	sact(t, db, &market, geo.SumReturn, mh)
	sact(t, db, &market, geo.SumRedispatch, geo.SummonsActor{Role: geo.RoleOperator})
	if market.State != geo.SummonsDispatched || market.Assignee == nil || market.Assignee.ID != d.market {
		t.Fatalf("redispatched: %+v", market)
	}
	sact(t, db, &market, geo.SumAccept, mh)
	sact(t, db, &market, geo.SumRequestExtension, mh, func(r *geo.SummonsTransitionRequest) { r.ExtendHours = 4 })
	deadline := market.DeadlineAt
	sact(t, db, &market, geo.SumApproveExtension, geo.SummonsActor{Role: geo.RoleDeptSupervisor, Supervisor: true})
	if !market.DeadlineAt.After(deadline) {
		t.Fatalf("an approved extension keeps the deadline %s", market.DeadlineAt)
	}
	sact(t, db, &market, geo.SumHandle, mh)

	act(t, db, &inc, geo.ActVerify, geo.RoleOperator)
	act(t, db, &inc, geo.ActClose, geo.RoleOperator)

	// The history: every summons event names its summons, the case's
	// state and version as they were.
	evs, err := db.IncidentEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[geo.Action]int{}
	for _, e := range evs {
		if e.SummonsID != 0 {
			got[e.Action]++
			if e.FromState != e.ToState || e.SummonsState == "" {
				t.Errorf("summons event %+v", e)
			}
		}
	}
	want := map[geo.Action]int{geo.ActSummon: 2, "summons_accept": 2, "summons_handle": 2, "summons_return": 1, "summons_redispatch": 1,
		"summons_request_extension": 1, "summons_approve_extension": 1}
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%d %s events, want %d (%v)", got[a], a, n, got)
		}
	}
	// The case closed, the summons cannot move any more.
	if _, err := db.TransitionSummons(ctx, market.ID, geo.SummonsTransitionRequest{Action: geo.SumRework, Version: market.Version, Note: "x",
		Actor: "d", Who: geo.SummonsActor{Role: geo.RoleOperator}}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("rework of a closed case's summons: %v", err)
	}

	// The department figures.
	ms, err := db.SummonsMetrics(ctx, geo.MetricsQuery{Area: testChain.District.Code, From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch m.Dept {
		case "gongan":
			if m.Summoned != 1 || m.Handled != 1 || m.OnTime != 1 || m.OnTimeRate != 1 || m.Returned != 0 || m.Open != 0 {
				t.Errorf("公安's figures: %+v", m)
			}
		case "shichang":
			if m.Summoned != 1 || m.Handled != 1 || m.Returned != 1 {
				t.Errorf("市场监管's figures: %+v", m)
			}
		default:
			if m.Summoned != 0 {
				t.Errorf("%s was never summoned: %+v", m.Dept, m)
			}
		}
	}

	// A supervisor of the case's community may summon too.
	other := mustCreate(t, db, report("E0102", ""))
	act(t, db, &other, geo.ActRegister, geo.RoleOperator)
	if _, err := db.Summon(ctx, other.ID, geo.SummonsRequest{Depts: []string{"gongan"}, Task: "协助", Version: other.Version, Actor: "sup",
		Role: geo.RoleCommunitySupervisor, PersonID: s.commSup}); err != nil {
		t.Fatalf("the community's supervisor summons: %v", err)
	}
	// Cancelling the case waits for its summons; the centre cancels them.
	if _, err := db.Transition(ctx, other.ID, geo.TransitionRequest{Action: geo.ActCancel, Version: other.Version, Actor: "d", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("cancel with an open summons: %v", err)
	}
	q, err := db.SummonsList(ctx, geo.SummonsFilter{Dept: "gongan", States: geo.SummonsOpenStates})
	if err != nil || len(q) != 1 || q[0].IncidentID != other.ID {
		t.Fatalf("公安's queue: %+v %v", q, err)
	}
	sact(t, db, &q[0], geo.SumCancel, geo.SummonsActor{Role: geo.RoleOperator})
	act(t, db, &other, geo.ActCancel, geo.RoleOperator)
}

// TestSummonsEscalationOnce: an overdue summons is escalated to its
// department's supervisor once, whatever the number of scheduler passes
// and replicas, and not again after an extension.
func TestSummonsEscalationOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabaseURL(t)
	open := func() *postgis.DB {
		db, err := postgis.Open(ctx, postgis.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	db := open()
	seedStaff(t, db)
	d := seedDeptStaff(t, db)
	inc := mustCreate(t, db, report("E0102", ""))
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
	ss := summon(t, db, inc, "chengguan", "gongan")
	cg, ga := ss[0], ss[1]

	rep, err := db.SchedulerTick(ctx, cg.WarnAt.Add(time.Second))
	if err != nil || rep.SummonsApproaching != 2 || rep.SummonsOverdue != 0 || rep.SummonsEscalated != 0 {
		t.Fatalf("at the warning mark: %+v %v", rep, err)
	}
	later := cg.DeadlineAt.Add(time.Hour)
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := geo.SchedulerReport{}
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(x *postgis.DB) {
			defer wg.Done()
			r, err := x.SchedulerTick(ctx, later)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.SummonsOverdue += r.SummonsOverdue
			total.SummonsEscalated += r.SummonsEscalated
			mu.Unlock()
		}(open())
	}
	wg.Wait()
	if r, err := open().SchedulerTick(ctx, later.Add(time.Hour)); err != nil || r.SummonsEscalated != 0 {
		t.Fatalf("a later pass: %+v %v", r, err)
	}
	if total.SummonsOverdue != 2 || total.SummonsEscalated != 2 {
		t.Fatalf("concurrent passes: %+v, want 2 overdue and 2 escalated", total)
	}
	cg, _ = db.Summons(ctx, cg.ID)
	ga, _ = db.Summons(ctx, ga.ID)
	if cg.Supervisor == nil || cg.Supervisor.ID != d.chengguanSup || cg.Supervisor.Level != geo.Street || cg.Escalations != 1 || cg.Alert != geo.AlertOverdue {
		t.Fatalf("城管's summons: %+v", cg)
	}
	if ga.Supervisor == nil || ga.Supervisor.ID != d.gonganSup || ga.Supervisor.Level != geo.District {
		t.Fatalf("公安's summons goes to 公安's district supervisor: %+v", ga.Supervisor)
	}
	// The case itself was not escalated by its summons.
	if got, _ := db.Incident(ctx, inc.ID); got.Supervisor != nil && got.Supervisor.Role == geo.RoleDeptSupervisor {
		t.Fatalf("the case took a summons' supervisor: %+v", got.Supervisor)
	}
	// Extended and late again: still once.
	ch := geo.SummonsActor{Role: geo.RoleChengguan, Assignee: true}
	sact(t, db, &cg, geo.SumAccept, ch)
	sact(t, db, &cg, geo.SumRequestExtension, ch, func(r *geo.SummonsTransitionRequest) { r.ExtendHours = 1 })
	sact(t, db, &cg, geo.SumApproveExtension, geo.SummonsActor{Role: geo.RoleOperator})
	if r, err := db.SchedulerTick(ctx, cg.DeadlineAt.Add(24*time.Hour)); err != nil || r.SummonsEscalated != 0 || r.SummonsOverdue != 1 {
		t.Fatalf("after the extended deadline: %+v %v", r, err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM incident_events WHERE action = 'summons_escalate'`); n != 2 {
		t.Fatalf("%d summons_escalate events, want 2", n)
	}
	ms, err := db.SummonsMetrics(ctx, geo.MetricsQuery{Area: "", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Now: later})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if (m.Dept == "chengguan" || m.Dept == "gongan") && (m.Summoned != 1 || m.Escalated != 1 || m.Open != 1) {
			t.Errorf("%s: %+v", m.Dept, m)
		}
	}
}
