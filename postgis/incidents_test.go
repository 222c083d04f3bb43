package postgis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// The test city's chain: no geometry is needed, cases carry their location.
var (
	testChain = geo.Chain{
		Generation: 0,
		District:   &geo.AreaRef{Code: "330212", Name: "鄞州区"},
		Street:     &geo.AreaRef{Code: "330212001", Name: "测试街道"},
		Community:  &geo.AreaRef{Code: "330212001001", Name: "测试社区"},
		Grid:       &geo.AreaRef{Code: "330212001001001", Name: "测试第1网格"},
	}
	otherGrid = "330212001001002"
)

// staff holds the ids of the test people.
type staff struct {
	chengguanA, chengguanB, police, commSup, streetSup, districtSup int64
}

// seedStaff stores people: two 城管 at the grid (A and B post), a police
// officer at the street, and supervisors at every level.
func seedStaff(t *testing.T, db *postgis.DB) staff {
	t.Helper()
	ctx := context.Background()
	save := func(name string, rs ...geo.Responsibility) int64 {
		t.Helper()
		p, err := db.SavePerson(ctx, geo.Person{Name: name, Phone: "13800000000", Dept: "chengguan", Active: true, Responsibilities: rs})
		if err != nil {
			t.Fatalf("save %s: %v", name, err)
		}
		return p.ID
	}
	var s staff
	s.chengguanA = save("城管甲", geo.Responsibility{Code: testChain.Grid.Code, Role: geo.RoleChengguan, Post: "A"})
	s.chengguanB = save("城管乙", geo.Responsibility{Code: testChain.Grid.Code, Role: geo.RoleChengguan, Post: "B"},
		geo.Responsibility{Code: otherGrid, Role: geo.RoleChengguan, Post: "A"})
	s.police = save("民警丙", geo.Responsibility{Code: testChain.Street.Code, Role: geo.RolePolice})
	s.commSup = save("社区督办", geo.Responsibility{Code: testChain.Community.Code, Role: geo.RoleCommunitySupervisor})
	s.streetSup = save("街道督办", geo.Responsibility{Code: testChain.Street.Code, Role: geo.RoleStreetSupervisor})
	s.districtSup = save("区督办", geo.Responsibility{Code: testChain.District.Code, Role: geo.RoleDistrictSupervisor})
	return s
}

func report(category, key string) geo.NewIncident {
	return geo.NewIncident{
		Category: category, Lon: 121.55, Lat: 29.80, SRS: geo.DatumWGS84,
		Location:    geo.Location{Chain: testChain, Match: geo.MatchInside},
		Description: "门口堆了建筑垃圾", Reporter: geo.Reporter{Name: "市民", Phone: "12345"}, Source: "hotline",
		Attachments: []string{"https://img.example/1.jpg"}, IdempotencyKey: key, RequestHash: "h-" + category,
		Actor: "hotline-7", Role: geo.RoleOperator,
	}
}

func mustCreate(t *testing.T, db *postgis.DB, n geo.NewIncident) geo.Incident {
	t.Helper()
	inc, _, err := db.CreateIncident(context.Background(), n)
	if err != nil {
		t.Fatalf("create incident: %v", err)
	}
	return inc
}

// act applies an action and fails the test on error.
func act(t *testing.T, db *postgis.DB, inc *geo.Incident, a geo.Action, role geo.Role, mod ...func(*geo.TransitionRequest)) {
	t.Helper()
	req := geo.TransitionRequest{Action: a, Version: inc.Version, Actor: "tester-" + string(role), Role: role, Note: "note " + string(a)}
	for _, m := range mod {
		m(&req)
	}
	out, err := db.Transition(context.Background(), inc.ID, req)
	if err != nil {
		t.Fatalf("%s by %s on a %s case: %v", a, role, inc.State, err)
	}
	if out.Version != inc.Version+1 {
		t.Fatalf("%s: version %d -> %d", a, inc.Version, out.Version)
	}
	*inc = out
}

// refuse checks that every action the state does not allow is a conflict
// and leaves the case as it was.
func refuse(t *testing.T, db *postgis.DB, inc geo.Incident) {
	t.Helper()
	ctx := context.Background()
	for _, a := range geo.Actions() {
		if containsAction(inc.NextActions, a) {
			continue
		}
		req := geo.TransitionRequest{Action: a, Version: inc.Version, Actor: "x", Role: geo.RoleOperator, ExtendHours: 1}
		if _, err := db.Transition(ctx, inc.ID, req); geo.ErrorCode(err) != geo.ECONFLICT {
			t.Errorf("%s on a %s case: %v, want a conflict", a, inc.State, err)
		}
	}
	now, err := db.Incident(ctx, inc.ID)
	if err != nil || now.Version != inc.Version || now.State != inc.State {
		t.Fatalf("refused actions changed the case: %+v %v", now, err)
	}
}

func containsAction(as []geo.Action, a geo.Action) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// TestIncidentLifecycle walks cases through every transition, with the
// illegal ones refused at every step.
func TestIncidentLifecycle(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	s := seedStaff(t, db)

	inc := mustCreate(t, db, report("E0101", ""))
	if inc.State != geo.StateReported || inc.Version != 1 || inc.Assignee == nil || inc.Assignee.ID != s.chengguanA ||
		inc.Assignee.Level != geo.Grid || !strings.Contains(inc.AssignReason, "城管甲 (A岗") || inc.DeptName != "城管" {
		t.Fatalf("new case %+v, assignee %+v", inc, inc.Assignee)
	}
	if !inc.DeadlineAt.After(inc.CreatedAt) || !inc.WarnAt.After(inc.CreatedAt) || !inc.WarnAt.Before(inc.DeadlineAt) {
		t.Fatalf("deadline %s, warn %s, created %s", inc.DeadlineAt, inc.WarnAt, inc.CreatedAt)
	}
	stored, err := db.Incident(ctx, inc.ID)
	if err != nil || stored.Location.Grid == nil || stored.Location.Grid.Name != "测试第1网格" || stored.Assignee.Name != "城管甲" ||
		len(stored.Attachments) != 1 || !stored.DeadlineAt.Equal(inc.DeadlineAt) {
		t.Fatalf("stored case %+v %v", stored, err)
	}

	// The main line, with a detour through every side state.
	steps := []struct {
		a    geo.Action
		role geo.Role
		to   geo.State
		mod  func(*geo.TransitionRequest)
	}{
		{geo.ActRegister, geo.RoleOperator, geo.StateRegistered, nil},
		{geo.ActSuspend, geo.RoleOperator, geo.StateSuspended, nil},
		{geo.ActResume, geo.RoleOperator, geo.StateDispatched, nil},
		{geo.ActReturn, geo.RoleChengguan, geo.StateReturned, nil},
		{geo.ActDispatch, geo.RoleOperator, geo.StateDispatched, func(r *geo.TransitionRequest) { r.AssigneeID = s.chengguanB }},
		{geo.ActAccept, geo.RoleChengguan, geo.StateAccepted, nil},
		{geo.ActRequestExtension, geo.RoleChengguan, geo.StateExtensionRequested, func(r *geo.TransitionRequest) { r.ExtendHours = 4 }},
		{geo.ActRejectExtension, geo.RoleStreetSupervisor, geo.StateAccepted, nil},
		{geo.ActRequestExtension, geo.RoleGridChief, geo.StateExtensionRequested, func(r *geo.TransitionRequest) { r.ExtendHours = 8 }},
		{geo.ActApproveExtension, geo.RoleOperator, geo.StateAccepted, nil},
		{geo.ActHandle, geo.RoleChengguan, geo.StateHandled, nil},
		{geo.ActRework, geo.RoleCommunitySupervisor, geo.StateDispatched, nil},
		{geo.ActAccept, geo.RoleChengguan, geo.StateAccepted, nil},
		{geo.ActHandle, geo.RoleChengguan, geo.StateHandled, nil},
		{geo.ActVerify, geo.RoleCommunitySupervisor, geo.StateVerified, nil},
		{geo.ActClose, geo.RoleOperator, geo.StateClosed, nil},
	}
	deadline := inc.DeadlineAt
	refuse(t, db, inc)
	for _, st := range steps {
		var mods []func(*geo.TransitionRequest)
		if st.mod != nil {
			mods = append(mods, st.mod)
		}
		act(t, db, &inc, st.a, st.role, mods...)
		if inc.State != st.to {
			t.Fatalf("%s led to %s, want %s", st.a, inc.State, st.to)
		}
		switch st.a {
		case geo.ActDispatch:
			if inc.Assignee == nil || inc.Assignee.ID != s.chengguanB || !strings.Contains(inc.AssignReason, "dispatched by tester-operator") {
				t.Fatalf("dispatch to B: %+v %q", inc.Assignee, inc.AssignReason)
			}
		case geo.ActRequestExtension:
			if inc.ExtensionH == 0 {
				t.Fatal("the requested extension is not recorded")
			}
		case geo.ActApproveExtension:
			// 8 working hours from a deadline is at least a day later.
			if !inc.DeadlineAt.After(deadline.Add(8*time.Hour)) || inc.ExtensionH != 0 {
				t.Fatalf("approved extension: deadline %s -> %s", deadline, inc.DeadlineAt)
			}
		case geo.ActRework:
			if inc.ReworkCount != 1 || inc.HandledAt != nil {
				t.Fatalf("rework: count %d, handled %v", inc.ReworkCount, inc.HandledAt)
			}
		case geo.ActClose:
			if inc.ClosedAt == nil || inc.HandledAt == nil {
				t.Fatalf("closed case without closed/handled time: %+v", inc)
			}
		}
		refuse(t, db, inc)
	}

	// Wrong role: forbidden, and nothing changes.
	other := mustCreate(t, db, report("E0101", ""))
	act(t, db, &other, geo.ActRegister, geo.RoleOperator)
	act(t, db, &other, geo.ActDispatch, geo.RoleOperator)
	for _, r := range []geo.Role{geo.RolePolice, geo.RoleOperator, geo.RoleStreetSupervisor, geo.RoleSystem} {
		_, err := db.Transition(ctx, other.ID, geo.TransitionRequest{Action: geo.ActAccept, Version: other.Version, Actor: "x", Role: r})
		if geo.ErrorCode(err) != geo.EFORBIDDEN {
			t.Errorf("accept by %s: %v, want forbidden", r, err)
		}
	}
	// A stale version: conflict.
	if _, err := db.Transition(ctx, other.ID, geo.TransitionRequest{Action: geo.ActAccept, Version: other.Version - 1, Actor: "x", Role: geo.RoleChengguan}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("stale version: %v", err)
	}
	// Cancelled from reported.
	third := mustCreate(t, db, report("E0101", ""))
	act(t, db, &third, geo.ActCancel, geo.RoleOperator)
	refuse(t, db, third)
	// A category without verification closes from handled.
	quick := mustCreate(t, db, report("E0404", ""))
	for _, a := range []struct {
		a geo.Action
		r geo.Role
	}{{geo.ActRegister, geo.RoleOperator}, {geo.ActDispatch, geo.RoleOperator}, {geo.ActAccept, geo.RoleChengguan}, {geo.ActHandle, geo.RoleChengguan}, {geo.ActClose, geo.RoleOperator}} {
		act(t, db, &quick, a.a, a.r)
	}

	// Two concurrent transitions at the same version: one wins.
	race := mustCreate(t, db, report("E0101", ""))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = db.Transition(ctx, race.ID, geo.TransitionRequest{Action: geo.ActRegister, Version: 1, Actor: fmt.Sprint(i), Role: geo.RoleOperator})
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if geo.ErrorCode(err) != geo.ECONFLICT {
			t.Errorf("concurrent register: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent registers at version 1 succeeded, want 1", wins)
	}

	checkLoad(t, db)

	// The history: every transition with who, when and the note.
	evs, err := db.IncidentEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(steps)+1 || evs[0].Action != geo.ActReport || evs[0].Actor != "hotline-7" {
		t.Fatalf("%d events, first %+v", len(evs), evs[0])
	}
	for i, st := range steps {
		e := evs[i+1]
		if e.Action != st.a || e.ToState != st.to || e.Role != st.role || e.Actor != "tester-"+string(st.role) ||
			e.Note != "note "+string(st.a) || e.Version != i+2 || e.At.IsZero() {
			t.Errorf("event %d: %+v, want %s by %s", i+1, e, st.a, st.role)
		}
	}
}

func TestIdempotentCreate(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	seedStaff(t, db)
	first, replayed, err := db.CreateIncident(ctx, report("E0101", "key-1"))
	if err != nil || replayed {
		t.Fatalf("first: %v replayed=%v", err, replayed)
	}
	again, replayed, err := db.CreateIncident(ctx, report("E0101", "key-1"))
	if err != nil || !replayed || again.ID != first.ID || again.Token != first.Token {
		t.Fatalf("retry: %+v replayed=%v %v", again, replayed, err)
	}
	if _, _, err := db.CreateIncident(ctx, report("E0102", "key-1")); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("same key, different request: %v", err)
	}
	// Many retries at once: one case.
	var wg sync.WaitGroup
	ids := make([]int64, 16)
	errs := make([]error, 16)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			inc, _, err := db.CreateIncident(ctx, report("E0101", "key-2"))
			ids[i], errs[i] = inc.ID, err
		}(i)
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent retry %d: id %d (first %d), %v", i, ids[i], ids[0], errs[i])
		}
	}
	var n, events int
	db.Pool.QueryRow(ctx, `SELECT count(*), (SELECT count(*) FROM incident_events) FROM incidents`).Scan(&n, &events)
	if n != 2 || events != 2 {
		t.Fatalf("%d incidents and %d events, want 2 and 2", n, events)
	}
	// A transition sent again under its key (eight retries at once, at the
	// version first seen): one event, every retry answers the case.
	reg := geo.TransitionRequest{Action: geo.ActRegister, Version: first.Version, Actor: "op", Role: geo.RoleOperator, IdempotencyKey: "t-1"}
	outs := make([]geo.Incident, 8)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			outs[i], errs[i] = db.Transition(ctx, first.ID, reg)
		}(i)
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || outs[i].State != geo.StateRegistered || outs[i].Version != first.Version+1 {
			t.Fatalf("retry %d of a keyed transition: %s v%d, %v", i, outs[i].State, outs[i].Version, errs[i])
		}
	}
	// Without a key the same request is a stale version.
	if _, err := db.Transition(ctx, first.ID, geo.TransitionRequest{Action: geo.ActRegister, Version: first.Version, Actor: "op", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Fatalf("an unkeyed repeat: %v, want a conflict", err)
	}
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND action = 'register'`, first.ID).Scan(&events)
	if events != 1 {
		t.Fatalf("%d register events after keyed retries, want 1", events)
	}
	// Bad input stores nothing.
	for _, bad := range []geo.NewIncident{report("E9999", ""), {Category: "E0101", Source: "x"}} {
		if _, _, err := db.CreateIncident(ctx, bad); geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("bad report %+v: %v", bad.Category, err)
		}
	}
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&n)
	if n != 2 {
		t.Fatalf("bad reports stored something: %d incidents", n)
	}
}

func TestRouting(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	s := seedStaff(t, db)
	// Police: nobody at the grid or community, the officer at the street.
	inc := mustCreate(t, db, report("E0504", ""))
	if inc.Assignee == nil || inc.Assignee.ID != s.police || inc.Assignee.Level != geo.Street ||
		!strings.Contains(inc.AssignReason, "grid 330212001001001: no 社区民警") {
		t.Fatalf("police case: %+v %q", inc.Assignee, inc.AssignReason)
	}
	// Market: nobody anywhere.
	inc = mustCreate(t, db, report("E0603", ""))
	if inc.Assignee != nil || !strings.Contains(inc.AssignReason, "district 330212's queue") {
		t.Fatalf("market case: %+v %q", inc.Assignee, inc.AssignReason)
	}
	// Dispatching it without an assignee: nobody is responsible yet.
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
	if _, err := db.Transition(ctx, inc.ID, geo.TransitionRequest{Action: geo.ActDispatch, Version: inc.Version, Actor: "op", Role: geo.RoleOperator}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("dispatch to nobody: %v", err)
	}
	// Someone becomes responsible: dispatch finds them.
	m, err := db.SavePerson(ctx, geo.Person{Name: "市场监管丁", Dept: "shichang", Active: true,
		Responsibilities: []geo.Responsibility{{Code: testChain.Community.Code, Role: geo.RoleMarket}}})
	if err != nil {
		t.Fatal(err)
	}
	act(t, db, &inc, geo.ActDispatch, geo.RoleOperator)
	if inc.Assignee == nil || inc.Assignee.ID != m.ID || inc.Assignee.Level != geo.Community {
		t.Fatalf("dispatch found %+v", inc.Assignee)
	}
	// Primary with open cases still beats the backup; off duty, the backup.
	a1 := mustCreate(t, db, report("E0102", ""))
	a2 := mustCreate(t, db, report("E0102", ""))
	if a1.Assignee.ID != s.chengguanA || a2.Assignee.ID != s.chengguanA {
		t.Fatalf("A post: %d %d", a1.Assignee.ID, a2.Assignee.ID)
	}
	pa, _ := db.Person(ctx, s.chengguanA)
	// Off duty: a one-minute window twelve hours from now.
	off := time.Now().In(geo.ChinaTime).Add(12 * time.Hour)
	wd := int(off.Weekday())
	if wd == 0 {
		wd = 7
	}
	pa.Duty = []geo.WeeklyWindow{{Weekday: wd, Start: geo.ClockTime(off.Hour() * 60), End: geo.ClockTime(off.Hour()*60 + 1)}}
	if _, err := db.SavePerson(ctx, pa); err != nil {
		t.Fatal(err)
	}
	b := mustCreate(t, db, report("E0102", ""))
	if b.Assignee.ID != s.chengguanB || !strings.Contains(b.AssignReason, "B岗") {
		t.Fatalf("off-duty A: %+v %q", b.Assignee, b.AssignReason)
	}
	// Outside every district: nobody, the centre's queue.
	n := report("E0102", "")
	n.Location = geo.Location{Match: geo.MatchNone}
	inc = mustCreate(t, db, n)
	if inc.Assignee != nil || inc.Location.Match != geo.MatchNone || !strings.Contains(inc.AssignReason, "outside every district") {
		t.Fatalf("outside: %+v %q", inc.Assignee, inc.AssignReason)
	}
	// Fewest open cases among primaries on duty: a second A post with
	// none takes the next case, then the one after goes to whoever has
	// fewer, and cancelling moves the counts back.
	c, err := db.SavePerson(ctx, geo.Person{Name: "城管丁", Active: true,
		Responsibilities: []geo.Responsibility{{Code: testChain.Grid.Code, Role: geo.RoleChengguan, Post: "A"}}})
	if err != nil {
		t.Fatal(err)
	}
	pa.Duty = nil
	if _, err := db.SavePerson(ctx, pa); err != nil {
		t.Fatal(err)
	}
	first := mustCreate(t, db, report("E0102", ""))
	second := mustCreate(t, db, report("E0102", ""))
	if first.Assignee.ID != c.ID || second.Assignee.ID != c.ID { // 甲 has two open cases, 丁 one
		t.Fatalf("fewest open cases: %+v then %+v (丁 is %d)", first.Assignee, second.Assignee, c.ID)
	}
	act(t, db, &first, geo.ActCancel, geo.RoleOperator)
	// The open-case counts routing reads agree with the cases.
	checkLoad(t, db)
}

// checkLoad asserts that the open-case counts kept by the trigger
// (person_load) are the counts of the cases.
func checkLoad(t *testing.T, db *postgis.DB) {
	t.Helper()
	var bad int
	if err := db.Pool.QueryRow(context.Background(), `
		SELECT count(*) FROM (
		    SELECT coalesce(l.person_id, c.assignee_id) AS id, coalesce(l.open_cases, 0) AS kept, coalesce(c.n, 0) AS real
		    FROM person_load l
		    FULL JOIN (SELECT assignee_id, count(*) AS n FROM incidents WHERE assignee_id IS NOT NULL
		               AND state NOT IN ('closed', 'cancelled') GROUP BY 1) c ON c.assignee_id = l.person_id) x
		WHERE kept <> real`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("person_load disagrees with the cases for %d people", bad)
	}
}

// TestEscalationOnce: an overdue case is escalated to the next level's
// supervisor exactly once, whatever the number of passes, restarts and
// replicas; an approved extension gives it a new deadline to miss.
func TestEscalationOnce(t *testing.T) {
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
	s := seedStaff(t, db)
	inc := mustCreate(t, db, report("E0102", ""))
	unassigned := report("E0603", "")
	lost := mustCreate(t, db, unassigned)

	// Just past 80 %: approaching, not overdue.
	rep, err := db.SchedulerTick(ctx, inc.WarnAt.Add(time.Second))
	if err != nil || rep.Approaching != 1 || rep.Overdue != 0 || rep.Escalated != 0 {
		t.Fatalf("at the warning mark: %+v %v", rep, err)
	}
	// A week later, by several "replicas" at once and again after
	// "restarts" (new connections, new scheduler passes).
	later := inc.DeadlineAt.Add(7 * 24 * time.Hour)
	total := geo.SchedulerReport{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(d *postgis.DB) {
			defer wg.Done()
			r, err := d.SchedulerTick(ctx, later)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total.Overdue += r.Overdue
			total.Escalated += r.Escalated
			mu.Unlock()
		}(open())
	}
	wg.Wait()
	for i := 0; i < 2; i++ {
		r, err := open().SchedulerTick(ctx, later.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		total.Overdue += r.Overdue
		total.Escalated += r.Escalated
	}
	if total.Overdue != 2 || total.Escalated != 2 {
		t.Fatalf("after concurrent and repeated passes: %+v, want 2 overdue and 2 escalated", total)
	}
	got, _ := db.Incident(ctx, inc.ID)
	if got.Alert != geo.AlertOverdue || got.Escalations != 1 || got.Supervisor == nil || got.Supervisor.ID != s.commSup || got.Supervisor.Level != geo.Community {
		t.Fatalf("escalated case: alert %q, %d escalations, supervisor %+v", got.Alert, got.Escalations, got.Supervisor)
	}
	got, _ = db.Incident(ctx, lost.ID)
	if got.Supervisor == nil || got.Supervisor.ID != s.districtSup {
		t.Fatalf("an unassigned case goes to the district supervisor: %+v", got.Supervisor)
	}
	var escalations, events int
	db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM escalations), (SELECT count(*) FROM incident_events WHERE action = 'escalate')`).Scan(&escalations, &events)
	if escalations != 2 || events != 2 {
		t.Fatalf("%d escalations and %d escalate events, want 2 and 2", escalations, events)
	}

	// An approved extension moves the deadline: missing the new one
	// escalates once more.
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
	act(t, db, &inc, geo.ActDispatch, geo.RoleOperator)
	act(t, db, &inc, geo.ActAccept, geo.RoleChengguan)
	act(t, db, &inc, geo.ActRequestExtension, geo.RoleChengguan, func(r *geo.TransitionRequest) { r.ExtendHours = 2 })
	act(t, db, &inc, geo.ActApproveExtension, geo.RoleOperator)
	if inc.Alert != "" {
		t.Fatalf("an extended case keeps its alert %q", inc.Alert)
	}
	for i := 0; i < 3; i++ {
		r, err := open().SchedulerTick(ctx, inc.DeadlineAt.Add(time.Duration(i+1)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i == 0]; r.Escalated != want || r.Overdue != want {
			t.Fatalf("pass %d after the new deadline: %+v", i, r)
		}
	}
	// A handled case is not escalated.
	act(t, db, &inc, geo.ActHandle, geo.RoleChengguan)
	if r, err := db.SchedulerTick(ctx, inc.DeadlineAt.Add(30*24*time.Hour)); err != nil || r.Escalated != 0 {
		t.Fatalf("a handled case: %+v %v", r, err)
	}
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	seedStaff(t, db)
	flow := func(rework bool) geo.Incident {
		inc := mustCreate(t, db, report("E0102", ""))
		act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
		act(t, db, &inc, geo.ActDispatch, geo.RoleOperator)
		act(t, db, &inc, geo.ActAccept, geo.RoleChengguan)
		act(t, db, &inc, geo.ActHandle, geo.RoleChengguan)
		if rework {
			act(t, db, &inc, geo.ActRework, geo.RoleOperator)
			act(t, db, &inc, geo.ActAccept, geo.RoleChengguan)
			act(t, db, &inc, geo.ActHandle, geo.RoleChengguan)
		}
		act(t, db, &inc, geo.ActVerify, geo.RoleOperator)
		act(t, db, &inc, geo.ActClose, geo.RoleOperator)
		return inc
	}
	flow(false)
	flow(true)
	late := flow(false)
	// Make the third late: its deadline was before its handling.
	db.Pool.Exec(ctx, `UPDATE incidents SET deadline_at = handled_at - interval '1 hour' WHERE id = $1`, late.ID)
	open := mustCreate(t, db, report("E0102", ""))
	db.Pool.Exec(ctx, `UPDATE incidents SET deadline_at = now() - interval '1 minute' WHERE id = $1`, open.ID)
	n := report("E0102", "")
	n.Location.Grid = &geo.AreaRef{Code: otherGrid}
	mustCreate(t, db, n)

	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	ms, err := db.Metrics(ctx, geo.MetricsQuery{Area: testChain.Community.Code, From: from, To: to})
	if err != nil || len(ms) != 1 {
		t.Fatalf("metrics: %+v %v", ms, err)
	}
	m := ms[0]
	if m.Received != 5 || m.Closed != 3 || m.ClosedOnTime != 2 || m.Overdue != 2 || m.Handled != 3 || m.Reworked != 1 ||
		m.OnTimeRate < 0.66 || m.OnTimeRate > 0.67 || m.ReworkRate < 0.33 || m.ReworkRate > 0.34 || m.Level != geo.Community {
		t.Fatalf("community metrics %+v", m)
	}
	byGrid, err := db.Metrics(ctx, geo.MetricsQuery{Area: testChain.District.Code, From: from, To: to, By: geo.Grid})
	if err != nil || len(byGrid) != 2 || byGrid[0].Area != testChain.Grid.Code || byGrid[0].Received != 4 || byGrid[1].Received != 1 {
		t.Fatalf("by grid: %+v %v", byGrid, err)
	}
	empty, err := db.Metrics(ctx, geo.MetricsQuery{Area: "330212002", From: from, To: to})
	if err != nil || len(empty) != 1 || empty[0].Received != 0 {
		t.Fatalf("an area without cases: %+v %v", empty, err)
	}
	for _, q := range []geo.MetricsQuery{{Area: "33021", From: from, To: to}, {Area: "330212", By: geo.District, From: from, To: to}, {Area: "330212", From: to, To: from}} {
		if _, err := db.Metrics(ctx, q); geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("metrics %+v: %v", q, err)
		}
	}
}

func TestCaseworkConfig(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)

	// People: validation and foreign keys refused, nothing stored.
	for _, p := range []geo.Person{
		{Name: "x", Dept: "nobody"},
		{Name: "y", Responsibilities: []geo.Responsibility{{Code: "330212001", Role: geo.RoleCommunitySupervisor}}},
	} {
		if _, err := db.SavePerson(ctx, p); geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("save %+v: %v", p, err)
		}
	}
	if ps, _ := db.People(ctx, ""); len(ps) != 0 {
		t.Fatalf("refused people were stored: %+v", ps)
	}
	p, err := db.SavePerson(ctx, geo.Person{Name: "张三", Active: true,
		Responsibilities: []geo.Responsibility{{Code: "330212001001001", Role: geo.RoleFullTime}},
		Duty:             []geo.WeeklyWindow{{Weekday: 1, Start: 480, End: 1020}}})
	if err != nil || p.ID == 0 || len(p.Duty) != 1 || p.Responsibilities[0].Post != "A" {
		t.Fatalf("save: %+v %v", p, err)
	}
	p.Responsibilities = []geo.Responsibility{{Code: "330212001001002", Role: geo.RoleGridChief, Post: "B"}}
	p.Duty = nil
	if p, err = db.SavePerson(ctx, p); err != nil || len(p.Responsibilities) != 1 || p.Responsibilities[0].Code != "330212001001002" || len(p.Duty) != 0 {
		t.Fatalf("replace: %+v %v", p, err)
	}
	if ps, _ := db.People(ctx, "330212001"); len(ps) != 1 {
		t.Fatalf("people under the street: %+v", ps)
	}
	if ps, _ := db.People(ctx, "330212002"); len(ps) != 0 {
		t.Fatalf("people under another street: %+v", ps)
	}

	// Categories: the default catalogue, edits all or nothing.
	cs, err := db.Categories(ctx, false)
	if err != nil || len(cs) < 50 {
		t.Fatalf("default catalogue: %d, %v", len(cs), err)
	}
	classes := map[string]bool{}
	for _, c := range cs {
		classes[c.Class] = true
	}
	for _, c := range []string{"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他", "公用设施", "道路交通", "园林绿化", "房屋土地"} {
		if !classes[c] {
			t.Errorf("the default catalogue lacks the class %s", c)
		}
	}
	e := cs[0]
	e.Limit = geo.TimeLimit{Value: 3, Unit: geo.UnitWorkHours}
	newCat := geo.Category{Code: "X01", Name: "测试", Kind: geo.KindEvent, Class: "其他", Dept: "zongzhi", Role: geo.RoleFullTime, Limit: geo.TimeLimit{Value: 1, Unit: geo.UnitWorkDays}, Active: true}
	bad := newCat
	bad.Code, bad.Dept = "X02", "nobody"
	if _, err := db.SaveCategories(ctx, []geo.Category{e, newCat, bad}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("a bad department: %v", err)
	}
	if _, err := db.Category(ctx, "X01"); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("a failed load stored X01: %v", err)
	}
	if n, err := db.SaveCategories(ctx, []geo.Category{e, newCat}); err != nil || n != 1 {
		t.Fatalf("load: %d new, %v", n, err)
	}
	if c, _ := db.Category(ctx, e.Code); c.Limit.Value != 3 || c.Limit.Unit != geo.UnitWorkHours {
		t.Fatalf("edited category %+v", c)
	}

	// The calendar round-trips and moves deadlines.
	cal, err := db.Calendar(ctx)
	if err != nil || len(cal.Hours) != 10 || cal.DayMinutes != 480 {
		t.Fatalf("default calendar %+v %v", cal, err)
	}
	cal.Hours = append(cal.Hours, geo.WeeklyWindow{Weekday: 6, Start: 540, End: 720})
	cal.Holidays = []geo.Holiday{{Day: "2030-10-01", Kind: geo.DayHoliday, Name: "国庆节"}}
	if err := db.SaveCalendar(ctx, cal); err != nil {
		t.Fatal(err)
	}
	back, _ := db.Calendar(ctx)
	if len(back.Hours) != 11 || len(back.Holidays) != 1 || back.Holidays[0].Name != "国庆节" {
		t.Fatalf("calendar back %+v", back)
	}
	if err := db.SaveCalendar(ctx, geo.Calendar{}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("an empty calendar: %v", err)
	}
	if back, _ := db.Calendar(ctx); len(back.Hours) != 11 {
		t.Fatal("a refused calendar replaced the stored one")
	}

	// Webhooks: queued for each event, leased, finished.
	h, err := db.CreateWebhook(ctx, geo.Webhook{URL: "http://127.0.0.1:1/hook", Secret: "s", Actions: []string{"report"}})
	if err != nil || h.ID == 0 || h.Secret != "" {
		t.Fatalf("webhook %+v %v", h, err)
	}
	if _, err := db.CreateWebhook(ctx, geo.Webhook{URL: "ftp://x"}); geo.ErrorCode(err) != geo.EINVALID {
		t.Fatalf("ftp webhook: %v", err)
	}
	seedStaff(t, db)
	inc := mustCreate(t, db, report("E0102", ""))
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator) // not subscribed
	ds, err := db.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Event.Action != geo.ActReport || ds[0].Secret != "s" || ds[0].Event.IncidentID != inc.ID {
		t.Fatalf("claim: %+v %v", ds, err)
	}
	if again, _ := db.ClaimDeliveries(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatalf("a leased delivery was claimed again: %+v", again)
	}
	if err := db.FinishDelivery(ctx, ds[0].ID, false, 500, "boom", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	retry, _ := db.ClaimDeliveries(ctx, 10, time.Minute)
	if len(retry) != 1 || retry[0].Attempts != 1 {
		t.Fatalf("retry: %+v", retry)
	}
	db.FinishDelivery(ctx, ds[0].ID, true, 200, "", time.Time{})
	var state string
	db.Pool.QueryRow(ctx, `SELECT state FROM webhook_deliveries WHERE id = $1`, ds[0].ID).Scan(&state)
	if state != "delivered" {
		t.Fatalf("delivery state %q", state)
	}
}

// TestResponsibilityReview: after an activation, responsibilities on split,
// merged and retired grids are listed, and so are new grids with nobody.
func TestResponsibilityReview(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	g := "3302120010010"
	if _, err := db.Pool.Exec(ctx, `
		INSERT INTO generations (id, state) VALUES (1, 'retired'), (2, 'active');
		INSERT INTO areas (generation, level, code, name, geom)
		SELECT 2, 'grid', c, c, ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)) FROM unnest(ARRAY['`+g+`01', '`+g+`03', '`+g+`05']) c;
		INSERT INTO lineage (generation, from_generation, old_code, new_code, relation) VALUES
		    (2, 1, '`+g+`01', '`+g+`01', 'kept'),
		    (2, 1, '`+g+`02', '`+g+`03', 'split'),
		    (2, 1, '`+g+`02', '`+g+`05', 'split'),
		    (2, 1, '`+g+`04', '`+g+`03', 'merged'),
		    (2, 1, '`+g+`06', NULL, 'retired'),
		    (2, 1, NULL, '`+g+`05', 'new')`); err != nil {
		t.Fatal(err)
	}
	for i, code := range []string{g + "01", g + "02", g + "04", g + "06", "330212009009009"} {
		if _, err := db.SavePerson(ctx, geo.Person{Name: fmt.Sprintf("网格员%d", i), Active: true,
			Responsibilities: []geo.Responsibility{{Code: code, Role: geo.RoleFullTime}}}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := db.ResponsibilityReview(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		got[it.Kind+" "+it.Code] = fmt.Sprint(it.NewCodes, len(it.People))
	}
	want := map[string]string{
		"split " + g + "02":       "[" + g + "03 " + g + "05] 1",
		"merged " + g + "04":      "[" + g + "03] 1",
		"retired " + g + "06":     "[] 1",
		"missing 330212009009009": "[] 1",
		"new " + g + "05":         "[] 0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("review\n got %v\nwant %v", got, want)
	}
}

// TestListen: activations and case events reach a listener, and it
// reconnects after its connection is killed.
func TestListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := pgtest.NewDB(t)
	seedStaff(t, db)
	type note struct{ channel, payload string }
	notes := make(chan note, 16)
	connected := make(chan struct{}, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(ctx, []string{postgis.ChannelGeneration, postgis.ChannelIncident}, postgis.ListenHandler{
			Connected: func(context.Context) { connected <- struct{}{} },
			Notify:    func(c, p string) { notes <- note{c, p} },
		})
	}()
	wait := func(what string) note {
		t.Helper()
		select {
		case n := <-notes:
			return n
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification of %s", what)
		}
		return note{}
	}
	<-connected
	if _, err := db.Pool.Exec(ctx, `INSERT INTO generations (id) VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Activate(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if n := wait("the activation"); n.channel != postgis.ChannelGeneration || n.payload != "7" {
		t.Fatalf("activation notice %+v", n)
	}
	inc := mustCreate(t, db, report("E0102", ""))
	if n := wait("the report"); n.channel != postgis.ChannelIncident || !strings.Contains(n.payload, fmt.Sprintf(`"incident_id" : %d`, inc.ID)) ||
		!strings.Contains(n.payload, `"action" : "report"`) {
		t.Fatalf("report notice %+v", n)
	}
	// Kill the listening backend: the listener comes back.
	if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatal("the listener did not reconnect")
	}
	act(t, db, &inc, geo.ActRegister, geo.RoleOperator)
	if n := wait("the registration"); !strings.Contains(n.payload, `"action" : "register"`) {
		t.Fatalf("register notice %+v", n)
	}
	cancel()
	<-done
}
