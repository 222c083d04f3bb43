package geo

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// 吹哨报到 (the street or community "blows the whistle", departments
// report and act): a case that needs more than one department gets a
// summons for each, a child task with its own department, assignee,
// working-time deadline, history, returns and extensions. The parent case
// cannot be verified, closed or cancelled while a summons is open.

// SummonsState is where a summons is.
type SummonsState string

// The states of a summons. Handled and cancelled are final; rework sends a
// handled summons back to the department.
const (
	SummonsDispatched         SummonsState = "dispatched"          // 已吹哨: waiting for the department to report
	SummonsAccepted           SummonsState = "accepted"            // 已报到: the department is on it
	SummonsExtensionRequested SummonsState = "extension_requested" // 延期申请
	SummonsReturned           SummonsState = "returned"            // 退回: not this department's, back with the centre
	SummonsHandled            SummonsState = "handled"             // 已办结: the department's part is done
	SummonsCancelled          SummonsState = "cancelled"           // 撤销
)

// SummonsStates lists every state of a summons.
var SummonsStates = []SummonsState{SummonsDispatched, SummonsAccepted, SummonsExtensionRequested, SummonsReturned,
	SummonsHandled, SummonsCancelled}

// SummonsOpenStates are those in which the summons still holds its case
// open; the clock runs in all of them but returned (the centre has it).
var SummonsOpenStates = []SummonsState{SummonsDispatched, SummonsAccepted, SummonsExtensionRequested, SummonsReturned}

// SummonsClockStates are the states in which a summons' deadline runs.
var SummonsClockStates = []SummonsState{SummonsDispatched, SummonsAccepted, SummonsExtensionRequested}

// Open reports whether the summons still holds its case open.
func (s SummonsState) Open() bool { return slices.Contains(SummonsOpenStates, s) }

// SummonsAction is what someone does to a summons.
type SummonsAction string

// The actions on a summons.
const (
	SumAccept           SummonsAction = "accept"            // 报到签收
	SumReturn           SummonsAction = "return"            // 退回: not ours
	SumRequestExtension SummonsAction = "request_extension" // 延期申请
	SumApproveExtension SummonsAction = "approve_extension" // 延期批准: the deadline moves
	SumRejectExtension  SummonsAction = "reject_extension"  // 延期驳回
	SumHandle           SummonsAction = "handle"            // 办结反馈
	SumRework           SummonsAction = "rework"            // 不合格: back to the department
	SumRedispatch       SummonsAction = "redispatch"        // 改派: to another person of the department
	SumCancel           SummonsAction = "cancel"            // 撤销
)

// Events a summons records in its case's history (and so on the event
// stream and webhooks): "summon" when it is made, then "summons_" and the
// action, and the scheduler's summons_approaching, summons_overdue and
// summons_escalate.
const (
	ActSummon             Action = "summon"
	ActSummonsApproaching Action = "summons_approaching"
	ActSummonsOverdue     Action = "summons_overdue"
	ActSummonsEscalate    Action = "summons_escalate"
)

// SummonsEvent is the case event that records action a on a summons.
func SummonsEvent(a SummonsAction) Action { return Action("summons_" + string(a)) }

// who may take a summons action.
type summonsWho int

const (
	sumByHandler    summonsWho = iota // the department's assignee (or its supervisor, for them)
	sumByCentre                       // the centre's operator
	sumBySupervisor                   // the centre or the department's supervisor
)

type summonsTransition struct {
	action SummonsAction
	from   []SummonsState
	to     SummonsState
	who    summonsWho
}

// summonsMachine is the whole state machine of a summons.
var summonsMachine = []summonsTransition{
	{SumAccept, []SummonsState{SummonsDispatched}, SummonsAccepted, sumByHandler},
	{SumReturn, []SummonsState{SummonsDispatched, SummonsAccepted}, SummonsReturned, sumByHandler},
	{SumRequestExtension, []SummonsState{SummonsAccepted}, SummonsExtensionRequested, sumByHandler},
	{SumApproveExtension, []SummonsState{SummonsExtensionRequested}, SummonsAccepted, sumBySupervisor},
	{SumRejectExtension, []SummonsState{SummonsExtensionRequested}, SummonsAccepted, sumBySupervisor},
	{SumHandle, []SummonsState{SummonsAccepted}, SummonsHandled, sumByHandler},
	{SumRework, []SummonsState{SummonsHandled}, SummonsDispatched, sumByCentre},
	{SumRedispatch, []SummonsState{SummonsDispatched, SummonsReturned}, SummonsDispatched, sumBySupervisor},
	{SumCancel, []SummonsState{SummonsDispatched, SummonsAccepted, SummonsExtensionRequested, SummonsReturned}, SummonsCancelled, sumByCentre},
}

// SummonsActor is who acts on a summons: the centre's operator, the
// summons' assignee (in their role), or the department's supervisor.
type SummonsActor struct {
	Role       Role
	Assignee   bool // the person the summons is assigned to
	Supervisor bool // a supervisor of the summons' department (dept_supervisor)
}

// SummonsTransition returns the state a summons in state s moves to when
// who takes action a: ECONFLICT when the state does not allow it, EINVALID
// for an unknown action, EFORBIDDEN for the wrong person.
func SummonsTransition(s SummonsState, a SummonsAction, who SummonsActor) (SummonsState, error) {
	known := false
	for _, t := range summonsMachine {
		if t.action != a {
			continue
		}
		known = true
		if !slices.Contains(t.from, s) {
			continue
		}
		if !t.who.allows(who) {
			return "", Errorf(EFORBIDDEN, "you may not %s this summons: %s", a, t.who)
		}
		return t.to, nil
	}
	if !known {
		var names []string
		for _, t := range summonsMachine {
			names = append(names, string(t.action))
		}
		return "", Errorf(EINVALID, "unknown summons action %q: use one of %s", a, strings.Join(names, ", "))
	}
	return "", Errorf(ECONFLICT, "cannot %s a summons that is %s", a, s)
}

func (w summonsWho) allows(a SummonsActor) bool {
	switch w {
	case sumByHandler:
		return a.Assignee || a.Supervisor || a.Role == RoleDeptSupervisor
	case sumByCentre:
		return a.Role == RoleOperator
	}
	return a.Role == RoleOperator || a.Supervisor || a.Role == RoleDeptSupervisor
}

func (w summonsWho) String() string {
	switch w {
	case sumByHandler:
		return "only the department's person it is assigned to, or the department's supervisor, may"
	case sumByCentre:
		return "only the centre's operator may"
	}
	return "only the centre's operator or the department's supervisor may"
}

// SummonsNextActions lists the actions state s allows and who may take
// them (for the console: those who may).
func SummonsNextActions(s SummonsState, who SummonsActor) []SummonsAction {
	out := []SummonsAction{}
	for _, t := range summonsMachine {
		if slices.Contains(t.from, s) && t.who.allows(who) && !slices.Contains(out, t.action) {
			out = append(out, t.action)
		}
	}
	return out
}

// SummonsBlocks reports whether action a on a case must wait until every
// summons of the case is handled or cancelled: the parent cannot be
// verified, closed or cancelled while a department is still at work.
func SummonsBlocks(a Action) bool {
	return a == ActVerify || a == ActClose || a == ActCancel
}

// SummonableStates are the case states in which departments can be
// summoned: a registered case, in the hands of its handler, or handled
// and found to need more.
var SummonableStates = []State{StateRegistered, StateDispatched, StateAccepted, StateExtensionRequested, StateReturned, StateHandled}

// DefaultSummonsLimit is a summons' time limit when the request names none.
var DefaultSummonsLimit = TimeLimit{Value: 2, Unit: UnitWorkDays}

// Summons is one department's part of a case.
type Summons struct {
	ID           int64           `json:"id"`
	IncidentID   int64           `json:"incident_id"`
	Dept         string          `json:"dept"`
	DeptName     string          `json:"dept_name"`
	State        SummonsState    `json:"state"`
	Version      int             `json:"version"`
	Task         string          `json:"task"` // what the department is asked to do
	Answer       string          `json:"answer,omitempty"`
	Assignee     *Assignee       `json:"assignee"`
	AssignReason string          `json:"assign_reason"`
	Supervisor   *Assignee       `json:"supervisor"` // after an escalation
	Limit        TimeLimit       `json:"limit"`
	WarnAt       time.Time       `json:"warn_at"`
	DeadlineAt   time.Time       `json:"deadline_at"`
	Alert        string          `json:"alert"`
	Late         bool            `json:"late"` // handled after, or still open past, its deadline
	Escalations  int             `json:"escalations"`
	ReworkCount  int             `json:"rework_count"`
	ExtensionH   float64         `json:"extension_requested_hours,omitempty"`
	SummonedBy   string          `json:"summoned_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	AcceptedAt   *time.Time      `json:"accepted_at"`
	HandledAt    *time.Time      `json:"handled_at"`
	CaseState    State           `json:"case_state"`
	Category     string          `json:"category"`
	CategoryName string          `json:"category_name"`
	GridCode     string          `json:"grid_code"`
	Address      string          `json:"address"`
	NextActions  []SummonsAction `json:"next_actions"`
	// AllowedActions are the next actions the caller may take (set by the
	// HTTP API per request).
	AllowedActions []SummonsAction `json:"allowed_actions,omitempty"`
}

// SummonsRequest blows the whistle on a case: the departments summoned,
// what they are to do, and by when (in working time).
type SummonsRequest struct {
	Depts    []string    `json:"depts"`
	Task     string      `json:"task"`
	Limit    *TimeLimit  `json:"limit,omitempty"` // default DefaultSummonsLimit
	Version  int         `json:"version"`         // the case's version the caller saw
	Actor    string      `json:"-"`
	Role     Role        `json:"-"`
	PersonID int64       `json:"-"` // a worker acting as the grid's supervisor
	Audit    *AuditEntry `json:"-"`
}

// Validate checks the request before the store sees it.
func (r *SummonsRequest) Validate() error {
	if len(r.Depts) == 0 || len(r.Depts) > 10 {
		return Errorf(EINVALID, "name 1 to 10 departments to summon (depts), e.g. [\"chengguan\", \"gongan\"]")
	}
	seen := map[string]bool{}
	for _, d := range r.Depts {
		if seen[d] {
			return Errorf(EINVALID, "department %q is summoned twice", d)
		}
		seen[d] = true
	}
	r.Task = strings.TrimSpace(r.Task)
	if r.Task == "" || utf8.RuneCountInString(r.Task) > 2000 {
		return Errorf(EINVALID, "say what the departments are to do (task, 1 to 2000 characters)")
	}
	if r.Limit == nil {
		l := DefaultSummonsLimit
		r.Limit = &l
	}
	if err := r.Limit.Validate(); err != nil {
		return err
	}
	if r.Version < 1 {
		return Errorf(EINVALID, "give the case's version so concurrent edits are caught")
	}
	if strings.TrimSpace(r.Actor) == "" {
		return Errorf(EINVALID, "who is summoning? log in first")
	}
	return nil
}

// SummonsTransitionRequest is one action on a summons at a known version.
type SummonsTransitionRequest struct {
	Action      SummonsAction `json:"action"`
	Version     int           `json:"version"`
	Note        string        `json:"note"`
	AssigneeID  int64         `json:"assignee_id,omitempty"`  // redispatch: to this person
	ExtendHours float64       `json:"extend_hours,omitempty"` // request_extension
	Actor       string        `json:"-"`
	Who         SummonsActor  `json:"-"`
	Audit       *AuditEntry   `json:"-"`
}

// Validate checks what does not need the summons.
func (r *SummonsTransitionRequest) Validate() error {
	switch {
	case r.Version < 1:
		return Errorf(EINVALID, "give the summons' version so concurrent edits are caught")
	case utf8.RuneCountInString(r.Note) > 2000:
		return Errorf(EINVALID, "note is longer than 2000 characters")
	case r.Action == SumRequestExtension && !(r.ExtendHours > 0 && r.ExtendHours <= 2000):
		return Errorf(EINVALID, "request_extension needs extend_hours, the working hours asked for (0 < h ≤ 2000)")
	case r.AssigneeID != 0 && r.Action != SumRedispatch:
		return Errorf(EINVALID, "assignee_id goes with redispatch only")
	case (r.Action == SumReturn || r.Action == SumRework || r.Action == SumHandle) && strings.TrimSpace(r.Note) == "":
		return Errorf(EINVALID, "%s needs a note: what was done, or why", r.Action)
	case strings.TrimSpace(r.Actor) == "":
		return Errorf(EINVALID, "who is acting? log in first")
	}
	return nil
}

// SummonsFilter selects summons for a department's queue.
type SummonsFilter struct {
	Dept       string         // "" for every department
	Area       string         // the case's area code prefix; "" for all
	States     []SummonsState // none: all
	AssigneeID int64          // 0: anyone's
	IncidentID int64          // 0: any case's
	Limit      int
}

// DeptMetrics are one department's figures over a period: how many times
// it was summoned, how fast it reported (签收) and finished, how often on
// time.
type DeptMetrics struct {
	Dept          string  `json:"dept"`
	DeptName      string  `json:"dept_name"`
	Summoned      int     `json:"summoned"`
	Open          int     `json:"open"`
	Overdue       int     `json:"overdue"` // open past the deadline
	Handled       int     `json:"handled"`
	OnTime        int     `json:"on_time"` // handled by the deadline
	Returned      int     `json:"returned"`
	Escalated     int     `json:"escalated"`
	OnTimeRate    float64 `json:"on_time_rate"`   // on_time / handled
	ResponseHours float64 `json:"response_hours"` // mean, summons → accepted (clock hours)
	HandleHours   float64 `json:"handle_hours"`   // mean, summons → handled (clock hours)
}

// ChooseDeptSupervisor picks whom an overdue summons is escalated to: a
// supervisor of its department (dept_supervisor, the candidates given
// are that department's) at the street of the case, else its district;
// the primary post first, then the smallest id. Nil when the department
// has none there: the escalation waits with the centre.
func ChooseDeptSupervisor(chain Chain, dept string, cands []Candidate) (*Assignee, string) {
	var notes []string
	for _, l := range []Level{Street, District} {
		ref := chain.Ref(l)
		if ref == nil {
			continue
		}
		var at []Candidate
		for _, c := range cands {
			if c.Code == ref.Code && c.Role == RoleDeptSupervisor {
				at = append(at, c)
			}
		}
		if len(at) == 0 {
			notes = append(notes, fmt.Sprintf("%s %s: no %s supervisor", l, ref.Code, dept))
			continue
		}
		slices.SortFunc(at, func(a, b Candidate) int {
			if a.Post != b.Post {
				return strings.Compare(a.Post, b.Post)
			}
			return int(a.PersonID - b.PersonID)
		})
		c := at[0]
		notes = append(notes, fmt.Sprintf("escalated to %s %s: %s supervisor %s", l, ref.Code, dept, c.Name))
		return &Assignee{PersonRef: PersonRef{ID: c.PersonID, Name: c.Name, Phone: c.Phone}, Role: RoleDeptSupervisor,
			Level: l, Code: ref.Code, Post: c.Post}, strings.Join(notes, "; ")
	}
	notes = append(notes, "no department supervisor: the escalation waits with the centre")
	return nil, strings.Join(notes, "; ")
}
