package geo

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// State is where a case is in the closed loop of digital city management:
// 信息收集 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案.
type State string

// The states. A case is open until it is closed or cancelled.
const (
	StateReported           State = "reported"            // 上报: received, not yet a case
	StateRegistered         State = "registered"          // 立案
	StateDispatched         State = "dispatched"          // 派遣: waiting for the handler to take it
	StateAccepted           State = "accepted"            // 签收: the handler is on it
	StateExtensionRequested State = "extension_requested" // 延期申请: waiting for approval
	StateReturned           State = "returned"            // 回退: back with the dispatcher
	StateHandled            State = "handled"             // 处置反馈: done, waiting for verification
	StateVerified           State = "verified"            // 核查通过
	StateClosed             State = "closed"              // 结案
	StateSuspended          State = "suspended"           // 挂账: cannot be handled now
	StateCancelled          State = "cancelled"           // 作废
)

// States lists every state.
var States = []State{StateReported, StateRegistered, StateDispatched, StateAccepted, StateExtensionRequested,
	StateReturned, StateHandled, StateVerified, StateClosed, StateSuspended, StateCancelled}

// ClockStates are the states in which the case's time limit runs: from
// the report until the handler reports it handled. A suspended case's
// clock is stopped; a handled one has met or missed its deadline.
var ClockStates = []State{StateReported, StateRegistered, StateDispatched, StateAccepted, StateExtensionRequested, StateReturned}

// Open reports whether a case in state s still needs someone.
func (s State) Open() bool { return s != StateClosed && s != StateCancelled }

// Action is what someone does to a case.
type Action string

// The actions of the state machine, and the events the system records
// that do not change the state.
const (
	ActRegister         Action = "register"          // 立案
	ActCancel           Action = "cancel"            // 作废
	ActDispatch         Action = "dispatch"          // 派遣 (again after a return)
	ActAccept           Action = "accept"            // 签收
	ActReturn           Action = "return"            // 回退: not ours, back to the dispatcher
	ActRequestExtension Action = "request_extension" // 延期申请
	ActApproveExtension Action = "approve_extension" // 延期批准: the deadline moves
	ActRejectExtension  Action = "reject_extension"  // 延期驳回
	ActHandle           Action = "handle"            // 处置反馈
	ActVerify           Action = "verify"            // 核查通过
	ActRework           Action = "rework"            // 核查不通过: back to the handler, 返工 counted
	ActClose            Action = "close"             // 结案
	ActSuspend          Action = "suspend"           // 挂账
	ActResume           Action = "resume"            // 挂账恢复: dispatched again

	// Recorded by the system, not requested.
	ActReport      Action = "report"      // the case was created
	ActApproaching Action = "approaching" // 80 % of the time limit has passed
	ActOverdue     Action = "overdue"     // the deadline has passed
	ActEscalate    Action = "escalate"    // 超时督办 to the next level's supervisor
)

// who may take an action.
type roleSet int

const (
	byOperator   roleSet = iota // the grid centre
	byHandler                   // the role the case needs, or the grid chief
	bySupervisor                // the centre or a supervisor
)

// guard is an extra condition of a transition.
type guard int

const (
	always guard = iota
	noVerification
)

// transition is one row of the state machine.
type transition struct {
	action Action
	from   []State
	to     State
	who    roleSet
	when   guard
}

// machine is the state machine of a case, the whole of it: anything not
// listed is illegal. Verification failing sends the case back to
// dispatched, with the assignee kept and the rework counted (返工).
var machine = []transition{
	{ActRegister, []State{StateReported}, StateRegistered, byOperator, always},
	{ActCancel, []State{StateReported, StateRegistered, StateReturned}, StateCancelled, byOperator, always},
	{ActDispatch, []State{StateRegistered, StateReturned}, StateDispatched, byOperator, always},
	{ActAccept, []State{StateDispatched}, StateAccepted, byHandler, always},
	{ActReturn, []State{StateDispatched, StateAccepted}, StateReturned, byHandler, always},
	{ActRequestExtension, []State{StateAccepted}, StateExtensionRequested, byHandler, always},
	{ActApproveExtension, []State{StateExtensionRequested}, StateAccepted, bySupervisor, always},
	{ActRejectExtension, []State{StateExtensionRequested}, StateAccepted, bySupervisor, always},
	{ActHandle, []State{StateAccepted}, StateHandled, byHandler, always},
	{ActVerify, []State{StateHandled}, StateVerified, bySupervisor, always},
	{ActRework, []State{StateHandled}, StateDispatched, bySupervisor, always},
	{ActClose, []State{StateVerified}, StateClosed, byOperator, always},
	{ActClose, []State{StateHandled}, StateClosed, byOperator, noVerification},
	{ActSuspend, []State{StateRegistered, StateDispatched, StateAccepted, StateReturned}, StateSuspended, byOperator, always},
	{ActResume, []State{StateSuspended}, StateDispatched, byOperator, always},
}

// Actions lists the actions a person can request, in the machine's order.
func Actions() []Action {
	var out []Action
	for _, t := range machine {
		if !slices.Contains(out, t.action) {
			out = append(out, t.action)
		}
	}
	return out
}

func knownEventAction(a string) bool {
	switch Action(a) {
	case ActReport, ActApproaching, ActOverdue, ActEscalate, ActMerge, ActAbsorb,
		ActSummon, ActSummonsApproaching, ActSummonsOverdue, ActSummonsEscalate:
		return true
	}
	for _, t := range summonsMachine {
		if Action(a) == SummonsEvent(t.action) {
			return true
		}
	}
	return slices.Contains(Actions(), Action(a))
}

// CaseFacts are what the state machine needs to know about a case.
type CaseFacts struct {
	State          State
	AssigneeRole   Role // the role the case was routed to; "" when unassigned
	VerifyRequired bool // the category wants verification before closing
}

// Transition returns the state a case moves to when role takes action a.
// An action the state does not allow (or an unknown one) is ECONFLICT;
// a legal action by the wrong role is EFORBIDDEN. Handlers act on cases
// of their own role; the grid chief may act for any handler.
func Transition(c CaseFacts, a Action, role Role) (State, error) {
	known := false
	for _, t := range machine {
		if t.action != a {
			continue
		}
		known = true
		if !slices.Contains(t.from, c.State) || (t.when == noVerification && c.VerifyRequired) {
			continue
		}
		if !allowed(t.who, role, c) {
			return "", Errorf(EFORBIDDEN, "%s may not %s a case: %s", role, a, whoText(t.who, c))
		}
		return t.to, nil
	}
	if !known {
		return "", Errorf(EINVALID, "unknown action %q: use one of %s", a, actionList())
	}
	if a == ActClose && c.State == StateHandled && c.VerifyRequired {
		return "", Errorf(ECONFLICT, "cannot close a handled case of a category that requires verification: verify it first")
	}
	return "", Errorf(ECONFLICT, "cannot %s a case that is %s: %s applies to %s cases", a, c.State, a, fromText(a))
}

func allowed(who roleSet, role Role, c CaseFacts) bool {
	switch who {
	case byOperator:
		return role == RoleOperator
	case byHandler:
		if !role.IsHandler() {
			return false
		}
		return c.AssigneeRole == "" || role == c.AssigneeRole || role == RoleGridChief
	case bySupervisor:
		return role == RoleOperator || role.SupervisorLevel() != ""
	}
	return false
}

func whoText(who roleSet, c CaseFacts) string {
	switch who {
	case byOperator:
		return "only the centre's operator may"
	case byHandler:
		if c.AssigneeRole != "" {
			return fmt.Sprintf("only the %s the case is routed to (or the grid chief) may", c.AssigneeRole)
		}
		return "only a handler (grid_chief, full_time, part_time, police, chengguan, market) may"
	}
	return "only the operator or a supervisor may"
}

func fromText(a Action) string {
	var s []string
	for _, t := range machine {
		if t.action == a {
			for _, f := range t.from {
				if !slices.Contains(s, string(f)) {
					s = append(s, string(f))
				}
			}
		}
	}
	return strings.Join(s, " or ")
}

func actionList() string {
	var s []string
	for _, a := range Actions() {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}

// ActionsFor returns those of a case's next actions that role may take:
// what a console offers its user. The case's NextActions already leave
// out closing a case that must be verified first.
func ActionsFor(inc Incident, role Role) []Action {
	c := CaseFacts{State: inc.State}
	if inc.Assignee != nil {
		c.AssigneeRole = inc.Assignee.Role
	}
	out := []Action{}
	for _, a := range inc.NextActions {
		if _, err := Transition(c, a, role); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// NextActions lists the actions the state allows (whoever may take them).
func NextActions(c CaseFacts) []Action {
	out := []Action{}
	for _, t := range machine {
		if slices.Contains(t.from, c.State) && !(t.when == noVerification && c.VerifyRequired) && !slices.Contains(out, t.action) {
			out = append(out, t.action)
		}
	}
	return out
}

// Sources of incidents.
var Sources = []string{"grid_worker", "hotline", "camera", "app", "open311", "api"}

// Incident is a case: what was reported where, who is responsible, and
// where it is in the closed loop.
type Incident struct {
	ID           int64      `json:"id"`
	Category     string     `json:"category"`
	CategoryName string     `json:"category_name"`
	State        State      `json:"state"`
	Version      int        `json:"version"`
	Lon          float64    `json:"lon"` // WGS84
	Lat          float64    `json:"lat"`
	SRS          Datum      `json:"srs"` // the datum the reporter used
	Location     Location   `json:"location"`
	Address      string     `json:"address"`
	Description  string     `json:"description"`
	Reporter     Reporter   `json:"reporter"`
	Source       string     `json:"source"`
	Attachments  []string   `json:"attachments"`
	Dept         string     `json:"dept"`
	DeptName     string     `json:"dept_name"`
	Assignee     *Assignee  `json:"assignee"`
	AssignReason string     `json:"assign_reason"`
	Supervisor   *Assignee  `json:"supervisor"` // after an escalation
	Limit        TimeLimit  `json:"limit"`
	WarnAt       time.Time  `json:"warn_at"`
	DeadlineAt   time.Time  `json:"deadline_at"`
	Alert        string     `json:"alert"` // "", approaching or overdue
	Escalations  int        `json:"escalations"`
	ReworkCount  int        `json:"rework_count"`
	ExtensionH   float64    `json:"extension_requested_hours,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	HandledAt    *time.Time `json:"handled_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	Token        string     `json:"token"`
	NextActions  []Action   `json:"next_actions"`
	// AllowedActions are the next actions the caller may take (set by
	// the HTTP API per request; absent elsewhere).
	AllowedActions []Action `json:"allowed_actions,omitempty"`
}

// Reporter is who reported a case.
type Reporter struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Alerts set by the scheduler.
const (
	AlertApproaching = "approaching"
	AlertOverdue     = "overdue"
)

// NewIncident is a report to be stored as a case.
type NewIncident struct {
	Category       string
	Lon, Lat       float64 // WGS84
	SRS            Datum
	Location       Location
	Address        string
	Description    string
	Reporter       Reporter
	Source         string
	Attachments    []string
	IdempotencyKey string // "" for none
	RequestHash    string // tells a retry from a different request with the same key
	Actor          string
	Role           Role
	// Audit, when set, is the audit-log entry of this request, stored in
	// the case's own transaction (its target, after and time are the
	// store's): a case is never stored without its entry.
	Audit *AuditEntry
}

// Validate checks the report's fields (not the category, which the store
// knows).
func (n *NewIncident) Validate() error {
	if strings.TrimSpace(n.Category) == "" {
		return Errorf(EINVALID, "missing category: GET /api/v1/categories lists them")
	}
	if n.Source == "" {
		n.Source = "api"
	}
	if !slices.Contains(Sources, n.Source) {
		return Errorf(EINVALID, "source %q: use one of %s", n.Source, strings.Join(Sources, ", "))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"description", n.Description, 4000}, {"address", n.Address, 500}, {"reporter name", n.Reporter.Name, 100}, {"reporter phone", n.Reporter.Phone, 40}} {
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max {
			return Errorf(EINVALID, "%s is longer than %d characters or not UTF-8", f.name, f.max)
		}
	}
	if strings.ContainsFunc(n.Reporter.Phone, func(r rune) bool { return !strings.ContainsRune("0123456789+-() ", r) }) {
		return Errorf(EINVALID, "reporter phone %q: use digits, with + - ( ) and spaces at most", n.Reporter.Phone)
	}
	if len(n.Attachments) > 20 {
		return Errorf(EINVALID, "%d attachments: at most 20 URLs", len(n.Attachments))
	}
	for _, a := range n.Attachments {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(a) > 2048 {
			return Errorf(EINVALID, "attachment %q: give absolute http(s) URLs of at most 2048 characters", a)
		}
	}
	return ValidIdempotencyKey(n.IdempotencyKey)
}

// ValidIdempotencyKey checks a client's Idempotency-Key ("" for none): a
// retry's key is compared byte for byte, so it must be short and printable.
func ValidIdempotencyKey(key string) error {
	if len(key) > 200 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Errorf(EINVALID, "Idempotency-Key: use at most 200 printable characters, e.g. a UUID")
	}
	return nil
}

// TransitionRequest asks for one action on a case at a known version.
type TransitionRequest struct {
	Action      Action  `json:"action"`
	Version     int     `json:"version"` // the version the caller saw; a mismatch is a conflict
	Note        string  `json:"note"`
	AssigneeID  int64   `json:"assignee_id,omitempty"`  // dispatch/resume: send it to this person instead
	ExtendHours float64 `json:"extend_hours,omitempty"` // request_extension: working hours asked for
	Actor       string  `json:"-"`
	Role        Role    `json:"-"`
	// IdempotencyKey, when set, makes a retry of this transition (a phone
	// that queued it offline and lost the answer) answer the case as it is
	// instead of a version conflict: the key is kept on the event.
	IdempotencyKey string `json:"-"`
	// Audit, when set, is the audit-log entry of this request (actor,
	// action, before), stored in the transition's own transaction with the
	// case as it becomes: a transition is never stored without its entry.
	Audit *AuditEntry `json:"-"`
}

// Validate checks what does not need the case.
func (r *TransitionRequest) Validate() error {
	if r.Version < 1 {
		return Errorf(EINVALID, "give the case's version (the version field, or an If-Match header) so concurrent edits are caught")
	}
	if err := ValidIdempotencyKey(r.IdempotencyKey); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Note) > 2000 {
		return Errorf(EINVALID, "note is longer than 2000 characters")
	}
	if r.Action == ActRequestExtension && !(r.ExtendHours > 0 && r.ExtendHours <= 2000) {
		return Errorf(EINVALID, "request_extension needs extend_hours, the working hours asked for (0 < h ≤ 2000)")
	}
	if r.AssigneeID != 0 && r.Action != ActDispatch && r.Action != ActResume {
		return Errorf(EINVALID, "assignee_id goes with dispatch or resume only")
	}
	if strings.TrimSpace(r.Actor) == "" {
		return Errorf(EINVALID, "who is acting? give X-Gridd-Actor")
	}
	return nil
}

// IncidentEvent is one entry in a case's history: a transition, or a
// system event (report, approaching, overdue, escalate).
type IncidentEvent struct {
	ID         int64     `json:"id"`
	IncidentID int64     `json:"incident_id"`
	Action     Action    `json:"action"`
	FromState  State     `json:"from_state,omitempty"`
	ToState    State     `json:"to_state"`
	Version    int       `json:"version"`
	Actor      string    `json:"actor"`
	Role       Role      `json:"role"`
	Note       string    `json:"note,omitempty"`
	At         time.Time `json:"at"`
	// SummonsID and SummonsState name the summons an event is about
	// (吹哨报到), with its state after the event.
	SummonsID    int64        `json:"summons_id,omitempty"`
	SummonsState SummonsState `json:"summons_state,omitempty"`
}

// IncidentFilter selects cases for a list.
type IncidentFilter struct {
	Area       string    // a district, street, community or grid code; "" for all
	States     []State   // none: all
	Category   string    // "" for all
	IDs        []int64   // none: all
	AssigneeID int64     // 0: anyone's
	From, To   time.Time // created in [From, To); zero: unbounded
	AfterID    int64     // paging: cases with a smaller id (newest first)
	Limit      int
}

// SchedulerReport counts what one scheduler pass did.
type SchedulerReport struct {
	Approaching int `json:"approaching"`
	Overdue     int `json:"overdue"`
	Escalated   int `json:"escalated"`
	// The summons' (吹哨报到) figures of the same pass.
	SummonsApproaching int `json:"summons_approaching"`
	SummonsOverdue     int `json:"summons_overdue"`
	SummonsEscalated   int `json:"summons_escalated"`
}

// MetricsQuery asks for the figures of an area and period, optionally
// broken down by the areas of a lower level.
type MetricsQuery struct {
	Area     string
	From, To time.Time
	By       Level // "": the area itself
	Now      time.Time
}

// Metrics are the assessment figures of an area over a period (cases
// reported in it).
type Metrics struct {
	Area          string  `json:"area"`
	Level         Level   `json:"level"`
	Received      int     `json:"received"`
	Closed        int     `json:"closed"`
	ClosedOnTime  int     `json:"closed_on_time"`
	OnTimeRate    float64 `json:"on_time_rate"` // 按期结案率: closed on time / closed
	Overdue       int     `json:"overdue"`
	Handled       int     `json:"handled"`
	Reworked      int     `json:"reworked"`
	ReworkRate    float64 `json:"rework_rate"`         // 返工率: reworked / handled
	MeanHandlingH float64 `json:"mean_handling_hours"` // report to close, closed cases

	// 群众签单: cases reported through a citizen's channel, their verdicts.
	CitizenReported   int     `json:"citizen_reported"`
	StaffReported     int     `json:"staff_reported"` // found by staff: no citizen verdict
	Verdicts          int     `json:"verdicts"`
	Satisfied         int     `json:"satisfied"`
	SatisfactionRate  float64 `json:"satisfaction_rate"`   // satisfied / verdicts
	ReopenedByCitizen int     `json:"reopened_by_citizen"` // reopened by a dissatisfied verdict (in reworked too)
}
