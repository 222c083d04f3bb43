package geo

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Role is what a person does for an area (定岗), and, through the actor
// seam of the HTTP API, what the caller may do to a case.
type Role string

// The roles. The first six handle cases; supervisors are escalated to;
// operators run the grid centre (受理、立案、派遣、核查、结案); system is
// the scheduler.
const (
	RoleGridChief           Role = "grid_chief"           // 网格长
	RoleFullTime            Role = "full_time"            // 专职网格员
	RolePartTime            Role = "part_time"            // 兼职网格员
	RolePolice              Role = "police"               // 社区民警
	RoleChengguan           Role = "chengguan"            // 城管队员
	RoleMarket              Role = "market"               // 市场监管员
	RoleCommunitySupervisor Role = "community_supervisor" // 社区督办人
	RoleStreetSupervisor    Role = "street_supervisor"    // 街道督办人
	RoleDistrictSupervisor  Role = "district_supervisor"  // 区督办人
	RoleDeptSupervisor      Role = "dept_supervisor"      // 部门督办人: a department's, at a street or district (吹哨报到)
	RoleOperator            Role = "operator"             // 指挥中心值班员
	RoleSystem              Role = "system"               // the deadline scheduler
)

var roleNames = map[Role]string{
	RoleGridChief: "网格长", RoleFullTime: "专职网格员", RolePartTime: "兼职网格员", RolePolice: "社区民警",
	RoleChengguan: "城管队员", RoleMarket: "市场监管员", RoleCommunitySupervisor: "社区督办人",
	RoleStreetSupervisor: "街道督办人", RoleDistrictSupervisor: "区督办人", RoleDeptSupervisor: "部门督办人", RoleOperator: "指挥中心值班员", RoleSystem: "系统",
}

// HandlerRoles are the roles that handle cases on the ground.
var HandlerRoles = []Role{RoleGridChief, RoleFullTime, RolePartTime, RolePolice, RoleChengguan, RoleMarket}

// PersonRoles are the roles a person can hold for an area.
var PersonRoles = append(slices.Clone(HandlerRoles), RoleCommunitySupervisor, RoleStreetSupervisor, RoleDistrictSupervisor, RoleDeptSupervisor)

// ParseRole reads a role name; actor also accepts operator and system.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if _, ok := roleNames[r]; ok {
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown role %q: use one of %s", s, strings.Join(roleList(), ", "))
}

func roleList() []string {
	var out []string
	for _, r := range append(slices.Clone(PersonRoles), RoleOperator, RoleSystem) {
		out = append(out, string(r))
	}
	return out
}

// Label is the role's Chinese name.
func (r Role) Label() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return string(r)
}

// IsHandler reports whether r handles cases.
func (r Role) IsHandler() bool { return slices.Contains(HandlerRoles, r) }

// SupervisorLevel is the level a supervisor role supervises, "" for others.
func (r Role) SupervisorLevel() Level {
	switch r {
	case RoleCommunitySupervisor:
		return Community
	case RoleStreetSupervisor:
		return Street
	case RoleDistrictSupervisor:
		return District
	}
	return ""
}

// SupervisorOf is the supervisor role at level l (none for grids).
func SupervisorOf(l Level) Role {
	switch l {
	case Community:
		return RoleCommunitySupervisor
	case Street:
		return RoleStreetSupervisor
	case District:
		return RoleDistrictSupervisor
	}
	return ""
}

// Posts of an assignment: AB岗, the primary and the one who stands in.
const (
	PostPrimary = "A"
	PostBackup  = "B"
)

// Responsibility is one role a person holds for an area (a grid,
// community, street or district code). Responsibilities attach to codes,
// not to generations: a grid that keeps its code keeps its people.
type Responsibility struct {
	Code string `json:"code"`
	Role Role   `json:"role"`
	Post string `json:"post"` // A or B
}

// Person is someone responsible for areas (定人).
type Person struct {
	ID               int64            `json:"id"`
	Name             string           `json:"name"`
	Phone            string           `json:"phone"`
	Dept             string           `json:"dept,omitempty"` // department code
	Active           bool             `json:"active"`
	Responsibilities []Responsibility `json:"responsibilities"`
	Duty             []WeeklyWindow   `json:"duty"` // none: always on duty
}

// Validate checks a person before storing: a name, known roles at codes
// of the right length (a supervisor at the level it supervises), posts A
// or B, and a sane duty schedule.
func (p *Person) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len([]rune(p.Name)) > 100 {
		return Errorf(EINVALID, "a person needs a name of 1 to 100 characters")
	}
	if len(p.Phone) > 40 {
		return Errorf(EINVALID, "phone %q is too long", p.Phone)
	}
	seen := map[Responsibility]bool{}
	for i := range p.Responsibilities {
		r := &p.Responsibilities[i]
		if r.Post == "" {
			r.Post = PostPrimary
		}
		if r.Post != PostPrimary && r.Post != PostBackup {
			return Errorf(EINVALID, "post %q for %s: use A (primary) or B (backup)", r.Post, r.Code)
		}
		if _, err := ParseRole(string(r.Role)); err != nil || !slices.Contains(PersonRoles, r.Role) {
			return Errorf(EINVALID, "role %q for %s: a person can be %s", r.Role, r.Code, strings.Join(roleList()[:len(PersonRoles)], ", "))
		}
		l, err := LevelOfCode(r.Code)
		if err != nil {
			return err
		}
		if sl := r.Role.SupervisorLevel(); sl != "" && sl != l {
			return Errorf(EINVALID, "%s is a %s role but %s is a %s code", r.Role, sl, r.Code, l)
		}
		if r.Role == RoleDeptSupervisor && (p.Dept == "" || (l != Street && l != District)) {
			return Errorf(EINVALID, "dept_supervisor at %s: a department's supervisor needs the person's dept and a street or district code", r.Code)
		}
		k := Responsibility{Code: r.Code, Role: r.Role}
		if seen[k] {
			return Errorf(EINVALID, "%s is listed twice as %s", r.Code, r.Role)
		}
		seen[k] = true
	}
	return ValidateWindows(p.Duty, "duty")
}

// PersonRef names a person in a case.
type PersonRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// Category kinds: 事件 (something happened) and 部件 (a piece of public
// property is broken), as digital city management classifies them.
const (
	KindEvent     = "event"
	KindComponent = "component"
)

// Category is one class of incident in the catalogue: who handles it and
// how long it may take.
type Category struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`  // event or component
	Class    string    `json:"class"` // the major class, e.g. 市容环境
	Dept     string    `json:"dept"`  // handling department code
	DeptName string    `json:"dept_name,omitempty"`
	Role     Role      `json:"role"` // the role that handles it on the ground
	Limit    TimeLimit `json:"limit"`
	Verify   bool      `json:"verify"` // must be verified (核查) before it is closed
	Active   bool      `json:"active"`
}

// Validate checks a category before storing.
func (c *Category) Validate() error {
	c.Code = strings.TrimSpace(c.Code)
	if c.Code == "" || len(c.Code) > 32 || strings.ContainsFunc(c.Code, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_' || r == '-' || r == '.')
	}) {
		return Errorf(EINVALID, "category code %q: use 1 to 32 letters, digits, '_', '-' or '.'", c.Code)
	}
	if strings.TrimSpace(c.Name) == "" {
		return Errorf(EINVALID, "category %s has no name", c.Code)
	}
	if c.Kind != KindEvent && c.Kind != KindComponent {
		return Errorf(EINVALID, "category %s: kind %q, use event (事件) or component (部件)", c.Code, c.Kind)
	}
	if strings.TrimSpace(c.Class) == "" {
		return Errorf(EINVALID, "category %s has no class (e.g. 市容环境)", c.Code)
	}
	if !c.Role.IsHandler() {
		return Errorf(EINVALID, "category %s: role %q does not handle cases; use one of grid_chief, full_time, part_time, police, chengguan, market", c.Code, c.Role)
	}
	if c.Dept == "" {
		return Errorf(EINVALID, "category %s has no handling department", c.Code)
	}
	if err := c.Limit.Validate(); err != nil {
		return Errorf(EINVALID, "category %s: %s", c.Code, ErrorMessage(err))
	}
	return nil
}

// Candidate is a person who could take a case: one of their
// responsibilities on the chain of the case's location, with their load.
type Candidate struct {
	PersonID  int64
	Name      string
	Phone     string
	Role      Role
	Code      string // the area of the responsibility
	Post      string
	OpenCases int
	Duty      []WeeklyWindow
}

// Assignee is the person a case went to and where they were found.
type Assignee struct {
	PersonRef
	Role  Role   `json:"role"`
	Level Level  `json:"level"` // where on the chain they were found
	Code  string `json:"code"`
	Post  string `json:"post,omitempty"`
}

// ChooseAssignee picks who handles a case needing role at the chain's
// location at time t: at the grid first, then its community, street and
// district, the first level with someone of that role on duty wins; there
// the primary post (A岗) before the backup (B岗), then the fewest open
// cases, then the smallest person id. It returns nil when nobody fits (the
// case waits in the district's unassigned queue) and, either way, the
// reason, level by level, recorded with the case.
func ChooseAssignee(chain Chain, need Role, cands []Candidate, t time.Time) (*Assignee, string) {
	var notes []string
	for _, l := range []Level{Grid, Community, Street, District} {
		ref := chain.Ref(l)
		if ref == nil {
			continue
		}
		var at, on []Candidate
		for _, c := range cands {
			if c.Code == ref.Code && c.Role == need {
				at = append(at, c)
				if OnDuty(c.Duty, t) {
					on = append(on, c)
				}
			}
		}
		switch {
		case len(at) == 0:
			notes = append(notes, fmt.Sprintf("%s %s: no %s", l, ref.Code, need.Label()))
			continue
		case len(on) == 0:
			notes = append(notes, fmt.Sprintf("%s %s: %d %s, none on duty", l, ref.Code, len(at), need.Label()))
			continue
		}
		slices.SortFunc(on, func(a, b Candidate) int {
			return cmp.Or(cmp.Compare(a.Post, b.Post), cmp.Compare(a.OpenCases, b.OpenCases), cmp.Compare(a.PersonID, b.PersonID))
		})
		c := on[0]
		notes = append(notes, fmt.Sprintf("%s %s: %s %s (%s岗, on duty, %d open cases)", l, ref.Code, need.Label(), c.Name, c.Post, c.OpenCases))
		return &Assignee{PersonRef: PersonRef{ID: c.PersonID, Name: c.Name, Phone: c.Phone}, Role: need, Level: l, Code: ref.Code, Post: c.Post},
			strings.Join(notes, "; ")
	}
	switch {
	case chain.District != nil:
		notes = append(notes, fmt.Sprintf("unassigned: waits in district %s's queue", chain.District.Code))
	default:
		notes = append(notes, "unassigned: outside every district, waits in the centre's queue")
	}
	return nil, strings.Join(notes, "; ")
}

// ChooseSupervisor picks whom an overdue case is escalated to (超时督办):
// the supervisor of the level above the one where its assignee was found
// (grid → community, community → street, street and district → district;
// an unassigned case → district), climbing while a level has none. Among
// several, the primary post, then the smallest id. Duty does not matter:
// an escalation waits in the supervisor's queue.
func ChooseSupervisor(chain Chain, from Level, cands []Candidate) (*Assignee, string) {
	levels := []Level{Community, Street, District}
	switch from {
	case Community:
		levels = levels[1:]
	case Street, District, "":
		levels = levels[2:]
	}
	var notes []string
	for _, l := range levels {
		ref := chain.Ref(l)
		if ref == nil {
			continue
		}
		role := SupervisorOf(l)
		var at []Candidate
		for _, c := range cands {
			if c.Code == ref.Code && c.Role == role {
				at = append(at, c)
			}
		}
		if len(at) == 0 {
			notes = append(notes, fmt.Sprintf("%s %s: no %s", l, ref.Code, role.Label()))
			continue
		}
		slices.SortFunc(at, func(a, b Candidate) int {
			return cmp.Or(cmp.Compare(a.Post, b.Post), cmp.Compare(a.PersonID, b.PersonID))
		})
		c := at[0]
		notes = append(notes, fmt.Sprintf("escalated to %s %s: %s %s", l, ref.Code, role.Label(), c.Name))
		return &Assignee{PersonRef: PersonRef{ID: c.PersonID, Name: c.Name, Phone: c.Phone}, Role: role, Level: l, Code: ref.Code, Post: c.Post},
			strings.Join(notes, "; ")
	}
	notes = append(notes, "no supervisor above: escalated to the centre")
	return nil, strings.Join(notes, "; ")
}

// ReviewItem kinds: responsibilities that could not follow a new
// generation's codes, and grids nobody is responsible for.
const (
	ReviewSplit   = "split"   // the grid's area went partly to other grids
	ReviewMerged  = "merged"  // the grid's area went into another code
	ReviewRetired = "retired" // the code is gone
	ReviewMissing = "missing" // the code is not in the active generation
	ReviewNew     = "new"     // a grid new in this generation that nobody is responsible for
)

// ResponsibilityReview is one item a person must look at after an
// activation: the code, what happened to it, where its area went, and the
// people attached to it.
type ResponsibilityReview struct {
	Kind     string      `json:"kind"`
	Code     string      `json:"code"`
	NewCodes []string    `json:"new_codes,omitempty"`
	People   []PersonRef `json:"people,omitempty"`
}

// Webhook is an integration that receives incident events by HTTP POST.
type Webhook struct {
	ID      int64    `json:"id"`
	URL     string   `json:"url"`
	Secret  string   `json:"secret,omitempty"` // signs bodies (HMAC-SHA256); never read back
	Actions []string `json:"actions"`          // empty: every action
	Active  bool     `json:"active"`
}

// Validate checks the URL and the actions.
func (h *Webhook) Validate() error {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errorf(EINVALID, "webhook url %q: give an absolute http:// or https:// URL", h.URL)
	}
	for _, a := range h.Actions {
		if !knownEventAction(a) {
			return Errorf(EINVALID, "webhook action %q: use incident actions such as report, dispatch, close, overdue, escalate", a)
		}
	}
	return nil
}

// Delivery is one webhook call due: the event and where it goes.
type Delivery struct {
	ID       int64
	Webhook  int64
	URL      string
	Secret   string
	Attempts int // before this one
	Event    IncidentEvent
}
