package geo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ChinaTime is the zone of every calendar and schedule: mainland China has
// one time zone, UTC+8, and no daylight saving, so a fixed zone is exact
// and needs no tz database on the closed networks gridd runs in.
var ChinaTime = time.FixedZone("CST", 8*3600)

// ClockTime is a time of day in minutes after midnight, 0..1440, written
// "HH:MM" in JSON and CSV ("24:00" is the end of the day).
type ClockTime int

// ParseClock reads "HH:MM".
func ParseClock(s string) (ClockTime, error) {
	var h, m int
	if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || m < 0 || m > 59 || h*60+m > 1440 {
		return 0, Errorf(EINVALID, "time of day %q: write it as HH:MM, 00:00 to 24:00", s)
	}
	return ClockTime(h*60 + m), nil
}

func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalJSON writes "HH:MM".
func (c ClockTime) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// UnmarshalJSON reads "HH:MM".
func (c *ClockTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(EINVALID, "time of day %s: write it as a string \"HH:MM\"", b)
	}
	v, err := ParseClock(s)
	*c = v
	return err
}

// WeeklyWindow is a stretch of one weekday, for working hours and for
// people's duty schedules. Weekday is ISO: 1 Monday … 7 Sunday.
type WeeklyWindow struct {
	Weekday int       `json:"weekday"`
	Start   ClockTime `json:"start"`
	End     ClockTime `json:"end"`
}

// ValidateWindows checks weekdays, order and that windows of one day do
// not overlap; what names them in messages ("working hours", "duty").
func ValidateWindows(ws []WeeklyWindow, what string) error {
	s := slices.Clone(ws)
	slices.SortFunc(s, func(a, b WeeklyWindow) int { return (a.Weekday*1441 + int(a.Start)) - (b.Weekday*1441 + int(b.Start)) })
	for i, w := range s {
		if w.Weekday < 1 || w.Weekday > 7 {
			return Errorf(EINVALID, "%s: weekday %d: use 1 (Monday) to 7 (Sunday)", what, w.Weekday)
		}
		if w.Start < 0 || w.End > 1440 || w.Start >= w.End {
			return Errorf(EINVALID, "%s: window %s–%s on weekday %d: the start must come before the end", what, w.Start, w.End, w.Weekday)
		}
		if i > 0 && s[i-1].Weekday == w.Weekday && s[i-1].End > w.Start {
			return Errorf(EINVALID, "%s: windows %s–%s and %s–%s on weekday %d overlap", what, s[i-1].Start, s[i-1].End, w.Start, w.End, w.Weekday)
		}
	}
	return nil
}

// isoWeekday is t's ISO weekday, 1 Monday … 7 Sunday.
func isoWeekday(t time.Time) int {
	if d := int(t.Weekday()); d != 0 {
		return d
	}
	return 7
}

// OnDuty reports whether a person with duty windows ws is on duty at t. A
// person without any windows has no schedule and is always on duty
// (supervisors, full-time staff on call).
func OnDuty(ws []WeeklyWindow, t time.Time) bool {
	if len(ws) == 0 {
		return true
	}
	t = t.In(ChinaTime)
	wd, min := isoWeekday(t), ClockTime(t.Hour()*60+t.Minute())
	for _, w := range ws {
		if w.Weekday == wd && min >= w.Start && min < w.End {
			return true
		}
	}
	return false
}

// Day kinds of the holidays table: a day off on a weekday, or a weekend
// day made a working day (调休).
const (
	DayHoliday = "holiday"
	DayWorkday = "workday"
)

// Holiday is an exception to the weekly working hours.
type Holiday struct {
	Day  string `json:"day"` // YYYY-MM-DD
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
}

// Calendar is the working-time calendar that deadlines are counted in:
// working hours per weekday and the exceptions, all in ChinaTime.
type Calendar struct {
	Hours    []WeeklyWindow `json:"work_hours"`
	Holidays []Holiday      `json:"holidays"`
	// DayMinutes is what one working day of a time limit counts, in
	// working minutes (default 480: "1 个工作日按 8 个工作时计").
	DayMinutes int `json:"day_minutes"`

	byDay map[int][]WeeklyWindow // weekday → windows, sorted
	exc   map[string]string      // day → kind
}

// Validate checks the calendar and prepares it for counting.
func (c *Calendar) Validate() error {
	if err := ValidateWindows(c.Hours, "working hours"); err != nil {
		return err
	}
	if len(c.Hours) == 0 {
		return Errorf(EINVALID, "the calendar has no working hours: give at least one weekday window, e.g. {\"weekday\":1,\"start\":\"08:30\",\"end\":\"17:30\"}")
	}
	if c.DayMinutes == 0 {
		c.DayMinutes = 480
	}
	if c.DayMinutes < 1 || c.DayMinutes > 1440 {
		return Errorf(EINVALID, "day_minutes %d: a working day counts 1 to 1440 minutes (default 480)", c.DayMinutes)
	}
	c.byDay = map[int][]WeeklyWindow{}
	for _, w := range c.Hours {
		c.byDay[w.Weekday] = append(c.byDay[w.Weekday], w)
	}
	for _, ws := range c.byDay {
		slices.SortFunc(ws, func(a, b WeeklyWindow) int { return int(a.Start - b.Start) })
	}
	c.exc = map[string]string{}
	for _, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h.Day); err != nil {
			return Errorf(EINVALID, "holiday %q: write the day as YYYY-MM-DD", h.Day)
		}
		if h.Kind != DayHoliday && h.Kind != DayWorkday {
			return Errorf(EINVALID, "holiday %s has kind %q: use holiday (a day off) or workday (a weekend day worked, 调休)", h.Day, h.Kind)
		}
		c.exc[h.Day] = h.Kind
	}
	return nil
}

// windows returns the working windows of the day starting at midnight d.
// A weekend day made a working day works the hours of the first weekday
// that has any (Monday, normally).
func (c *Calendar) windows(d time.Time) []WeeklyWindow {
	switch c.exc[d.Format(time.DateOnly)] {
	case DayHoliday:
		return nil
	case DayWorkday:
		if ws := c.byDay[isoWeekday(d)]; len(ws) > 0 {
			return ws
		}
		for wd := 1; wd <= 7; wd++ {
			if ws := c.byDay[wd]; len(ws) > 0 {
				return ws
			}
		}
	}
	return c.byDay[isoWeekday(d)]
}

// maxCalendarDays bounds the walk over days: a limit that cannot be met
// within ten years means a calendar of holidays only.
const maxCalendarDays = 3660

// AddWorking returns the instant d of working time after start: time
// outside working hours and on holidays does not count. Validate first.
func (c *Calendar) AddWorking(start time.Time, d time.Duration) (time.Time, error) {
	t := start.In(ChinaTime)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ChinaTime)
	for i := 0; i < maxCalendarDays; i++ {
		for _, w := range c.windows(day) {
			ws := day.Add(time.Duration(w.Start) * time.Minute)
			we := day.Add(time.Duration(w.End) * time.Minute)
			if !t.Before(we) {
				continue
			}
			if t.Before(ws) {
				t = ws
			}
			avail := we.Sub(t)
			if d <= avail {
				return t.Add(d), nil
			}
			d -= avail
			t = we
		}
		day = day.AddDate(0, 0, 1)
		t = day
	}
	return time.Time{}, Errorf(EINVALID, "the calendar has no working time in the next ten years: check its working hours and holidays")
}

// Time-limit units of a category.
const (
	UnitWorkHours  = "work_hours" // 工作时: counted in working hours
	UnitWorkDays   = "work_days"  // 工作日: counted in working days of DayMinutes each
	UnitClockHours = "hours"      // 小时: round the clock, for emergencies
)

// TimeLimit is how long a case may take from its report to its handling.
type TimeLimit struct {
	Value int    `json:"value"`
	Unit  string `json:"unit"`
}

// Validate checks the unit and a sensible range.
func (l TimeLimit) Validate() error {
	switch l.Unit {
	case UnitWorkHours, UnitWorkDays, UnitClockHours:
	default:
		return Errorf(EINVALID, "time limit unit %q: use work_hours, work_days or hours", l.Unit)
	}
	if l.Value < 1 || l.Value > 10000 {
		return Errorf(EINVALID, "time limit %d %s: give a whole number from 1 to 10000", l.Value, l.Unit)
	}
	return nil
}

func (l TimeLimit) String() string {
	switch l.Unit {
	case UnitWorkHours:
		return fmt.Sprintf("%d 工作时", l.Value)
	case UnitWorkDays:
		return fmt.Sprintf("%d 工作日", l.Value)
	}
	return fmt.Sprintf("%d 小时", l.Value)
}

// Deadline returns when a case reported at start is due under limit, and
// when it starts "approaching" its deadline: after share (0.8) of the
// limit. Working units count in the calendar; hours run round the clock.
func (c *Calendar) Deadline(start time.Time, l TimeLimit, share float64) (warn, deadline time.Time, err error) {
	if err := l.Validate(); err != nil {
		return warn, deadline, err
	}
	var total time.Duration
	switch l.Unit {
	case UnitClockHours:
		total = time.Duration(l.Value) * time.Hour
		return start.Add(time.Duration(float64(total) * share)), start.Add(total), nil
	case UnitWorkHours:
		total = time.Duration(l.Value) * time.Hour
	case UnitWorkDays:
		total = time.Duration(l.Value*c.DayMinutes) * time.Minute
	}
	if deadline, err = c.AddWorking(start, total); err != nil {
		return warn, deadline, err
	}
	warn, err = c.AddWorking(start, time.Duration(float64(total)*share))
	return warn, deadline, err
}

// Extend returns deadline moved by d of working time.
func (c *Calendar) Extend(deadline time.Time, d time.Duration) (time.Time, error) {
	return c.AddWorking(deadline, d)
}
