package geo

import (
	"strings"
	"testing"
	"time"
)

// at returns a time in China: 2026-03-02 is a Monday.
func at(day, hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, ChinaTime)
	if err != nil {
		panic(err)
	}
	return t
}

func officeCalendar(t *testing.T, holidays ...Holiday) *Calendar {
	t.Helper()
	c := &Calendar{Holidays: holidays}
	for wd := 1; wd <= 5; wd++ {
		c.Hours = append(c.Hours, WeeklyWindow{wd, 510, 720}, WeeklyWindow{wd, 780, 1050}) // 08:30–12:00, 13:00–17:30
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeadline(t *testing.T) {
	cal := officeCalendar(t,
		Holiday{Day: "2026-03-04", Kind: DayHoliday, Name: "test holiday"},
		Holiday{Day: "2026-03-07", Kind: DayWorkday, Name: "调休"})
	for _, tt := range []struct {
		name           string
		start          time.Time
		limit          TimeLimit
		warn, deadline time.Time
	}{
		{"within the morning", at("2026-03-02", "09:00"), TimeLimit{2, UnitWorkHours}, at("2026-03-02", "10:36"), at("2026-03-02", "11:00")},
		{"over lunch", at("2026-03-02", "11:00"), TimeLimit{2, UnitWorkHours}, at("2026-03-02", "13:36"), at("2026-03-02", "14:00")},
		{"reported at night", at("2026-03-02", "22:00"), TimeLimit{1, UnitWorkHours}, at("2026-03-03", "09:18"), at("2026-03-03", "09:30")},
		{"over the holiday", at("2026-03-03", "17:00"), TimeLimit{1, UnitWorkHours}, at("2026-03-05", "08:48"), at("2026-03-05", "09:00")},
		{"over the weekend, onto the 调休 Saturday", at("2026-03-06", "17:00"), TimeLimit{1, UnitWorkHours}, at("2026-03-07", "08:48"), at("2026-03-07", "09:00")},
		{"working days count 8 hours", at("2026-03-02", "08:30"), TimeLimit{1, UnitWorkDays}, at("2026-03-02", "15:54"), at("2026-03-02", "17:30")},
		{"round the clock", at("2026-03-02", "23:30"), TimeLimit{1, UnitClockHours}, at("2026-03-03", "00:18"), at("2026-03-03", "00:30")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			warn, deadline, err := cal.Deadline(tt.start, tt.limit, 0.8)
			if err != nil {
				t.Fatal(err)
			}
			if !warn.Equal(tt.warn) || !deadline.Equal(tt.deadline) {
				t.Fatalf("warn %s deadline %s, want %s %s", warn.Format(time.DateTime), deadline.Format(time.DateTime),
					tt.warn.Format(time.DateTime), tt.deadline.Format(time.DateTime))
			}
		})
	}
	holidaysOnly := &Calendar{Hours: []WeeklyWindow{{1, 600, 660}}}
	if err := holidaysOnly.Validate(); err != nil {
		t.Fatal(err)
	}
	for d := at("2026-03-02", "00:00"); d.Year() < 2037; d = d.AddDate(0, 0, 7) {
		holidaysOnly.Holidays = append(holidaysOnly.Holidays, Holiday{Day: d.Format(time.DateOnly), Kind: DayHoliday})
	}
	holidaysOnly.Validate()
	if _, _, err := holidaysOnly.Deadline(at("2026-03-02", "09:00"), TimeLimit{1, UnitWorkHours}, 0.8); ErrorCode(err) != EINVALID {
		t.Fatalf("a calendar without working time: %v", err)
	}
}

func TestCalendarValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Calendar
	}{
		{"no hours", Calendar{}},
		{"bad weekday", Calendar{Hours: []WeeklyWindow{{8, 0, 60}}}},
		{"backwards", Calendar{Hours: []WeeklyWindow{{1, 600, 500}}}},
		{"overlap", Calendar{Hours: []WeeklyWindow{{1, 500, 700}, {1, 600, 800}}}},
		{"bad holiday", Calendar{Hours: []WeeklyWindow{{1, 500, 700}}, Holidays: []Holiday{{Day: "2026-02-30", Kind: DayHoliday}}}},
		{"bad kind", Calendar{Hours: []WeeklyWindow{{1, 500, 700}}, Holidays: []Holiday{{Day: "2026-02-03", Kind: "party"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.Validate(); ErrorCode(err) != EINVALID {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestOnDuty(t *testing.T) {
	mornings := []WeeklyWindow{{1, 480, 720}, {7, 0, 1440}}
	for _, tt := range []struct {
		t    time.Time
		want bool
	}{
		{at("2026-03-02", "08:00"), true},
		{at("2026-03-02", "12:00"), false},
		{at("2026-03-03", "09:00"), false},
		{at("2026-03-08", "23:59"), true}, // Sunday
		{at("2026-03-02", "07:59"), false},
	} {
		if got := OnDuty(mornings, tt.t); got != tt.want {
			t.Errorf("on duty at %s: %v", tt.t, got)
		}
	}
	if !OnDuty(nil, time.Now()) {
		t.Error("no schedule means always on duty")
	}
	// Given in UTC, judged in China: 00:30 UTC Monday is 08:30 in China.
	if !OnDuty(mornings, time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)) {
		t.Error("duty is judged in China time")
	}
}

var testChain = Chain{
	District:  &AreaRef{"330212", "鄞州区"},
	Street:    &AreaRef{"330212001", "街道"},
	Community: &AreaRef{"330212001001", "社区"},
	Grid:      &AreaRef{"330212001001001", "网格"},
}

func TestChooseAssignee(t *testing.T) {
	now := at("2026-03-02", "10:00")
	offDuty := []WeeklyWindow{{3, 0, 60}}
	grid, comm, street := testChain.Grid.Code, testChain.Community.Code, testChain.Street.Code
	for _, tt := range []struct {
		name    string
		need    Role
		cands   []Candidate
		want    int64
		level   Level
		reasons []string
	}{
		{"the primary at the grid", RoleChengguan, []Candidate{
			{PersonID: 2, Name: "B", Role: RoleChengguan, Code: grid, Post: PostBackup},
			{PersonID: 1, Name: "A", Role: RoleChengguan, Code: grid, Post: PostPrimary, OpenCases: 5},
		}, 1, Grid, []string{"grid 330212001001001: 城管队员 A (A岗, on duty, 5 open cases)"}},
		{"the backup when the primary is off duty", RoleChengguan, []Candidate{
			{PersonID: 1, Name: "A", Role: RoleChengguan, Code: grid, Post: PostPrimary, Duty: offDuty},
			{PersonID: 2, Name: "B", Role: RoleChengguan, Code: grid, Post: PostBackup},
		}, 2, Grid, []string{"B岗"}},
		{"fewest open cases among primaries", RoleChengguan, []Candidate{
			{PersonID: 1, Name: "A", Role: RoleChengguan, Code: grid, Post: PostPrimary, OpenCases: 3},
			{PersonID: 3, Name: "C", Role: RoleChengguan, Code: grid, Post: PostPrimary, OpenCases: 1},
		}, 3, Grid, []string{"C (A岗"}},
		{"climb to the street", RolePolice, []Candidate{
			{PersonID: 1, Name: "A", Role: RoleChengguan, Code: grid, Post: PostPrimary},
			{PersonID: 4, Name: "P", Role: RolePolice, Code: comm, Post: PostPrimary, Duty: offDuty},
			{PersonID: 5, Name: "Q", Role: RolePolice, Code: street, Post: PostPrimary},
		}, 5, Street, []string{"grid 330212001001001: no 社区民警", "community 330212001001: 1 社区民警, none on duty", "street 330212001: 社区民警 Q"}},
		{"nobody", RoleMarket, nil, 0, "", []string{"district 330212: no 市场监管员", "unassigned: waits in district 330212's queue"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, reason := ChooseAssignee(testChain, tt.need, tt.cands, now)
			var got int64
			var level Level
			if a != nil {
				got, level = a.ID, a.Level
			}
			if got != tt.want || level != tt.level {
				t.Fatalf("chose %d at %q (%s), want %d at %q", got, level, reason, tt.want, tt.level)
			}
			for _, r := range tt.reasons {
				if !strings.Contains(reason, r) {
					t.Errorf("reason %q lacks %q", reason, r)
				}
			}
		})
	}
}

func TestChooseSupervisor(t *testing.T) {
	sup := func(id int64, r Role, code string) Candidate {
		return Candidate{PersonID: id, Name: string(r), Role: r, Code: code, Post: PostPrimary}
	}
	all := []Candidate{
		sup(1, RoleCommunitySupervisor, testChain.Community.Code),
		sup(2, RoleStreetSupervisor, testChain.Street.Code),
		sup(3, RoleDistrictSupervisor, testChain.District.Code),
	}
	for _, tt := range []struct {
		from  Level
		cands []Candidate
		want  int64
	}{
		{Grid, all, 1},
		{Community, all, 2},
		{Street, all, 3},
		{District, all, 3},
		{"", all, 3},
		{Grid, all[1:], 2},
		{Grid, nil, 0},
	} {
		a, reason := ChooseSupervisor(testChain, tt.from, tt.cands)
		var got int64
		if a != nil {
			got = a.ID
		}
		if got != tt.want || reason == "" {
			t.Errorf("from %q with %d candidates: %d (%s), want %d", tt.from, len(tt.cands), got, reason, tt.want)
		}
	}
}

func TestPersonValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    Person
		ok   bool
	}{
		{"grid worker", Person{Name: "张三", Responsibilities: []Responsibility{{Code: "330212001001001", Role: RoleFullTime}}}, true},
		{"no name", Person{Name: " "}, false},
		{"supervisor at the wrong level", Person{Name: "李四", Responsibilities: []Responsibility{{Code: "330212001001001", Role: RoleStreetSupervisor}}}, false},
		{"operator is not a person role", Person{Name: "王五", Responsibilities: []Responsibility{{Code: "330212", Role: RoleOperator}}}, false},
		{"bad code", Person{Name: "王五", Responsibilities: []Responsibility{{Code: "33021", Role: RoleFullTime}}}, false},
		{"bad post", Person{Name: "王五", Responsibilities: []Responsibility{{Code: "330212", Role: RoleChengguan, Post: "C"}}}, false},
		{"twice", Person{Name: "王五", Responsibilities: []Responsibility{{Code: "330212", Role: RoleChengguan}, {Code: "330212", Role: RoleChengguan, Post: "B"}}}, false},
		{"bad duty", Person{Name: "王五", Duty: []WeeklyWindow{{0, 0, 10}}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
