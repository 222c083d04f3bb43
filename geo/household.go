package geo

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// RegisterRow is one row of a register file (实有人口): one resident of a
// household, with the household's building, unit and room repeated on each
// of its members' rows.
type RegisterRow struct {
	Line        int // in the file, from 1 (the header is line 1)
	HouseholdID string
	BuildingID  string
	Unit, Room  string
	Name        string
	IDNumber    string
	Phone       string
	BirthDate   string // YYYY-MM-DD; from the ID number when the file leaves it out
	Tags        []string
}

// RowError is what is wrong with one row of a tabular file, where.
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column"` // e.g. "column E (身份证号)"
	Message string `json:"message"`
}

func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d, %s: %s", e.Line, e.Column, e.Message)
}

// MaxRowErrors is how many row errors a report lists; the first one is the
// error's message, the count says how many there were.
const MaxRowErrors = 100

// RowErrors turns the errors of a file into one error: the first, and how
// many more there are (the report lists them).
func RowErrors(file string, errs []RowError, total int) error {
	if total == 0 {
		return nil
	}
	msg := file + ": " + errs[0].String()
	if total > 1 {
		msg += fmt.Sprintf(" (and %d more rows with errors; nothing was loaded)", total-1)
	} else {
		msg += " (nothing was loaded)"
	}
	return Errorf(EINVALID, "%s", msg)
}

// ResidentRecord is the personal data of one resident, sealed at rest and
// shown only masked unless revealed.
type ResidentRecord struct {
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	Phone     string `json:"phone,omitempty"`
	BirthDate string `json:"birth_date,omitempty"`
}

// Masked returns the record as everyone sees it by default.
func (r ResidentRecord) Masked() ResidentRecord {
	m := ResidentRecord{Name: MaskResidentName(r.Name), IDNumber: MaskIDNumber(r.IDNumber), Phone: MaskPhone(r.Phone)}
	if len(r.BirthDate) >= 4 {
		m.BirthDate = r.BirthDate[:4] // the year: enough for age groups, not a person
	}
	return m
}

// Resident is one member of a household, masked unless Revealed.
type Resident struct {
	ID          int64    `json:"id"`
	HouseholdID string   `json:"household_id"`
	Seq         int      `json:"seq"`
	Tags        []string `json:"tags"`
	ResidentRecord
	Revealed bool `json:"revealed,omitempty"`
}

// Household is one household (户) of the register, with its members
// masked, and the grid its building lies in for the generation asked.
type Household struct {
	ID         string     `json:"id"`
	BuildingID string     `json:"building_id"`
	Address    string     `json:"address,omitempty"`
	Unit       string     `json:"unit,omitempty"`
	Room       string     `json:"room,omitempty"`
	Grid       string     `json:"grid,omitempty"`
	Tags       []string   `json:"tags"`
	Members    []Resident `json:"members"`
}

// HouseholdQuery selects the households of an area, optionally those with
// a tag, a page at a time.
type HouseholdQuery struct {
	Generation    int // 0: the active one
	Area          string
	Tag           string
	Offset, Limit int
}

// HouseholdPage is one page of households and how many there are.
type HouseholdPage struct {
	Matched    int         `json:"matched"`
	Households []Household `json:"households"`
}

// RegisterMeta is what a register load knows besides its rows.
type RegisterMeta struct {
	FileName string
	FileHash string
	Tags     []string // the tag catalogue rows are checked against
	By       string   // who loads it, for the audit log
}

// RegisterReport is what a register load read and changed.
type RegisterReport struct {
	Version    int               `json:"version,omitempty"`
	Unchanged  bool              `json:"unchanged,omitempty"`
	Format     string            `json:"format"`
	Encoding   string            `json:"encoding,omitempty"`
	Mapping    map[string]string `json:"mapping"` // field → column
	Households int               `json:"households"`
	Residents  int               `json:"residents"`
	Added      int               `json:"households_added"`
	Removed    int               `json:"households_removed"`
	Changed    int               `json:"households_changed"`
	Same       int               `json:"households_same"`
	Tags       map[string]int    `json:"tags"` // residents per tag
	Errors     []RowError        `json:"errors,omitempty"`
	ErrorCount int               `json:"error_count,omitempty"`
	Seconds    float64           `json:"seconds"`
	// Phases says where the time went (read and seal, check, apply), for
	// the benchmarks.
	Phases map[string]float64 `json:"phases,omitempty"`
}

// Reveal reasons: short enough for the audit log, long enough to say
// something (走访 is two characters).
const (
	MinRevealReason = 2
	MaxRevealReason = 500
)

// CheckReason checks the reason given for seeing personal data.
func CheckReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	n := utf8.RuneCountInString(reason)
	if n < MinRevealReason {
		return "", Errorf(EINVALID, "say why you need the unmasked record: a reason of at least %d characters is required and goes into the audit log", MinRevealReason)
	}
	if n > MaxRevealReason || !utf8.ValidString(reason) {
		return "", Errorf(EINVALID, "the reason is longer than %d characters", MaxRevealReason)
	}
	return reason, nil
}

// MayReveal checks that a principal's role lets it see one resident's
// unmasked record (its scope is checked against the household's grid):
// the centre, admins, and the grid workers who visit the households — a
// worker only with a scope of their own patch, never the whole city.
func MayReveal(p Principal) error {
	switch {
	case p.Role == AccessWorker && p.Scope == "":
		return Errorf(EFORBIDDEN, "a worker account reveals residents only within its scope, and yours is unlimited: an admin gives it the grids or community it serves")
	case p.Role != AccessAdmin && p.Role != AccessDispatcher && p.Role != AccessWorker:
		return Errorf(EFORBIDDEN, "role %s may not see unmasked personal data", p.Role)
	}
	return nil
}

// States of a request to export unmasked personal data (分级审批).
const (
	ExportPending    = ApprovalPending
	ExportApproved   = ApprovalApproved
	ExportRefused    = ApprovalRefused
	ExportDownloaded = "downloaded"
	ExportExpired    = ApprovalExpired
)

// RegisterExport is a request to export the unmasked register of an area.
type RegisterExport struct {
	ID   int64  `json:"id"`
	Area string `json:"area"`
	Approval
	DownloadedAt *time.Time `json:"downloaded_at,omitempty"`
}

// MayRequestExport checks that a principal may ask to export an area.
func MayRequestExport(p Principal, area string) error {
	if p.Role != AccessAdmin && p.Role != AccessDispatcher {
		return Errorf(EFORBIDDEN, "only the centre (dispatcher) and admins may request an export of personal data")
	}
	if !InScope(p.Scope, area) {
		return Errorf(EFORBIDDEN, "area %s is outside your scope %s", area, p.Scope)
	}
	return nil
}

// MayApproveExport checks the rule of 分级审批: an admin other than the
// requester, whose scope holds the area and lies one level or more above
// the requester's (an unlimited requester needs another unlimited admin).
func MayApproveExport(p Principal, e RegisterExport) error {
	switch {
	case p.Role != AccessAdmin:
		return Errorf(EFORBIDDEN, "only an admin may approve or refuse an export of personal data")
	case p.Actor() == e.RequestedBy:
		return Errorf(EFORBIDDEN, "you requested export %d: someone above you approves it", e.ID)
	case !InScope(p.Scope, e.Area):
		return Errorf(EFORBIDDEN, "export %d is of area %s, outside your scope %s", e.ID, e.Area, p.Scope)
	case !scopeAbove(p.Scope, e.RequesterScope):
		return Errorf(EFORBIDDEN, "export %d was requested at scope %q: it needs an admin whose scope is above that", e.ID, e.RequesterScope)
	}
	return nil
}

// scopeAbove reports whether scope a lies above scope b: a holds b and is
// wider, or both are unlimited (the top has nobody above it, so another
// unlimited admin approves).
func scopeAbove(a, b string) bool {
	return a == "" || b != "" && len(a) < len(b) && strings.HasPrefix(b, a)
}

// RegisterSource is the rows of a register file, checked: Next skips the
// rows with errors (Errors lists them, with their count), so that a load
// can report every bad row at once and then load nothing.
type RegisterSource interface {
	Next() (RegisterRow, error) // io.EOF after the last row
	Errors() ([]RowError, int)
	Column(field string) string // where a field is read from, for messages
}

// RegisterStatus is what the register holds now.
type RegisterStatus struct {
	Loaded     bool      `json:"loaded"`
	Version    int       `json:"version,omitempty"`
	FileName   string    `json:"file_name,omitempty"`
	LoadedAt   time.Time `json:"loaded_at,omitzero"`
	Households int       `json:"households"`
	Residents  int       `json:"residents"`
	Catalogue  []string  `json:"catalogue"` // the tags rows may carry
}
