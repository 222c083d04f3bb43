package geo

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Duplicate reports (重复上报): a report near an open case of the same
// category, shortly after it, is probably the same problem seen twice.
// The store flags it as it is created; a dispatcher decides and merges.

// The actions a merge records: on the merged case (its history ends with
// it) and on the case it went into.
const (
	ActMerge  Action = "merge"  // 合并: closed as a duplicate of another case
	ActAbsorb Action = "absorb" // another case was merged into this one
)

// Default duplicate rule: 50 m and 7 days.
const (
	DefaultDuplicateWithinM = 50
	DefaultDuplicateDays    = 7
)

// DuplicatePolicy is how near and how recent an open case must be for a
// new report to be flagged as its possible duplicate.
type DuplicatePolicy struct {
	WithinM float64 `json:"within_m"`
	Days    int     `json:"days"`
}

// Validate checks the bounds the database also enforces.
func (p DuplicatePolicy) Validate() error {
	if !(p.WithinM > 0 && p.WithinM <= 10000) {
		return Errorf(EINVALID, "duplicate distance %gm: give more than 0 and at most 10000 m, e.g. 50m", p.WithinM)
	}
	if p.Days < 1 || p.Days > 365 {
		return Errorf(EINVALID, "duplicate period %d days: give 1 to 365", p.Days)
	}
	return nil
}

// ParseDistance reads a distance such as "50m", "0.2km" or "50" (metres).
func ParseDistance(s string) (float64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "km"):
		t, mult = strings.TrimSuffix(t, "km"), 1000
	case strings.HasSuffix(t, "m"):
		t = strings.TrimSuffix(t, "m")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v != v {
		return 0, Errorf(EINVALID, "distance %q: give metres or kilometres, e.g. 50m or 0.2km", s)
	}
	return v * mult, nil
}

// DuplicateCandidate is an open case a report may duplicate.
type DuplicateCandidate struct {
	ID           int64     `json:"id"`
	Area         string    `json:"area"` // the deepest code of its location ("" outside every district)
	Category     string    `json:"category"`
	CategoryName string    `json:"category_name"`
	State        State     `json:"state"`
	Address      string    `json:"address"`
	Description  string    `json:"description"`
	DistanceM    float64   `json:"distance_m"`
	CreatedAt    time.Time `json:"created_at"`
	FlaggedAt    time.Time `json:"flagged_at"`
}

// Duplicates is what a case's drawer shows: the open cases it may
// duplicate (nearest first), the newer open reports flagged as possible
// duplicates of it, the case it was merged into (0: none) and the cases
// merged into it.
type Duplicates struct {
	IncidentID int64                `json:"incident_id"`
	Candidates []DuplicateCandidate `json:"candidates"`
	FlaggedBy  []DuplicateCandidate `json:"flagged_by"`
	MergedInto int64                `json:"merged_into,omitempty"`
	Merged     []int64              `json:"merged"`
}

// MergeRequest merges case ID into case Into: ID is closed as a
// duplicate, with a link to Into, and its reporter follows Into.
type MergeRequest struct {
	ID      int64  `json:"-"`
	Into    int64  `json:"into"`
	Version int    `json:"version"` // of case ID, as the caller saw it
	Note    string `json:"note"`
	Actor   string `json:"-"`
	Role    Role   `json:"-"`
	// Audit, when set, is the request's audit entry, stored in the
	// merge's own transaction.
	Audit *AuditEntry `json:"-"`
}

// Validate checks what does not need the cases.
func (m *MergeRequest) Validate() error {
	if m.Into <= 0 {
		return Errorf(EINVALID, "give into, the id of the case to merge this one into")
	}
	if m.Into == m.ID {
		return Errorf(EINVALID, "case %d cannot be merged into itself", m.ID)
	}
	if m.Version < 1 {
		return Errorf(EINVALID, "give the case's version (the version field, or an If-Match header) so concurrent edits are caught")
	}
	if utf8.RuneCountInString(m.Note) > 2000 {
		return Errorf(EINVALID, "note is longer than 2000 characters")
	}
	if m.Role != RoleOperator {
		return Errorf(EFORBIDDEN, "only the centre's operator (a dispatcher or admin) may merge cases; you are %s", m.Role)
	}
	if strings.TrimSpace(m.Actor) == "" {
		return Errorf(EINVALID, "who is acting? give X-Gridd-Actor")
	}
	return nil
}

// MergeCheck says whether case from may be merged into case into: both
// open (a merge into a closed case would leave its reporter following a
// finished case), neither already merged.
func MergeCheck(from, into Incident) error {
	if !from.State.Open() {
		return Errorf(ECONFLICT, "case %d is %s: only an open case can be merged", from.ID, from.State)
	}
	if !into.State.Open() {
		return Errorf(ECONFLICT, "case %d is %s: merge into an open case (GET /api/v1/incidents/%d/duplicates lists them)", into.ID, into.State, from.ID)
	}
	return nil
}
