package geo

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AccessRole is what an account or API token may do. It is not the Role a
// person holds for an area (定岗): a worker account acts in the role of the
// person it is linked to.
type AccessRole string

// The access roles.
const (
	AccessAdmin      AccessRole = "admin"      // everything, accounts and the audit log included
	AccessGIS        AccessRole = "gis"        // import, merge, check, activate, export
	AccessDispatcher AccessRole = "dispatcher" // the centre: register, dispatch, verify, close; reads everything in scope
	AccessWorker     AccessRole = "worker"     // the cases assigned to the linked person
	AccessViewer     AccessRole = "viewer"     // reads
	AccessReporter   AccessRole = "reporter"   // creates incidents only (apps, 12345 hotlines)
)

// AccessRoles lists every access role.
var AccessRoles = []AccessRole{AccessAdmin, AccessGIS, AccessDispatcher, AccessWorker, AccessViewer, AccessReporter}

// ParseAccessRole reads an access role name.
func ParseAccessRole(s string) (AccessRole, error) {
	r := AccessRole(strings.TrimSpace(s))
	if !slices.Contains(AccessRoles, r) {
		return "", Errorf(EINVALID, "role %q: use one of admin, gis, dispatcher, worker, viewer, reporter", s)
	}
	return r, nil
}

// SeesPersonalData reports whether the role sees reporters' names and
// phone numbers unmasked.
func (r AccessRole) SeesPersonalData() bool { return r == AccessAdmin || r == AccessDispatcher }

var scopeRE = regexp.MustCompile(`^([0-9]{6}([0-9]{3}){0,3})?$`)

// ParseScope checks a scope: "" (everything) or a district, street,
// community or grid code.
func ParseScope(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !scopeRE.MatchString(s) {
		return "", Errorf(EINVALID, "scope %q: give a district (6 digits), street (9), community (12) or grid (15) code, or '' for everything", s)
	}
	return s, nil
}

// InScope reports whether an area code lies in scope: the scope is ""
// (everything) or a prefix of the code. A code of "" (a case outside
// every grid) is only in the unlimited scope.
func InScope(scope, code string) bool {
	return scope == "" || (code != "" && strings.HasPrefix(code, scope))
}

// NarrowArea turns an area asked for into the area a principal of scope
// may see: the scope itself when nothing or something wider was asked
// for; EFORBIDDEN when the area lies outside.
func NarrowArea(scope, area string) (string, error) {
	switch {
	case scope == "":
		return area, nil
	case area == "" || strings.HasPrefix(scope, area):
		return scope, nil
	case strings.HasPrefix(area, scope):
		return area, nil
	}
	return "", Errorf(EFORBIDDEN, "area %s is outside your scope %s", area, scope)
}

// Principal is who is making a request: an account (by session) or an
// API token.
type Principal struct {
	Kind       string     `json:"kind"` // "user", "token" or "dev"
	ID         int64      `json:"id"`
	Name       string     `json:"name"` // the login, or the token's name
	Display    string     `json:"display_name,omitempty"`
	Role       AccessRole `json:"role"`
	Scope      string     `json:"scope"`
	PersonID   int64      `json:"person_id,omitempty"`
	Credential string     `json:"-"` // session:… or token:…, for the audit log
}

// Actor is how the principal is named in case histories and the audit
// log.
func (p Principal) Actor() string {
	if p.Kind == "token" {
		return "token:" + p.Name
	}
	return p.Name
}

// User is an account.
type User struct {
	ID        int64      `json:"id"`
	Login     string     `json:"login"`
	Name      string     `json:"name"`
	Role      AccessRole `json:"role"`
	Scope     string     `json:"scope"`
	PersonID  int64      `json:"person_id,omitempty"`
	Disabled  bool       `json:"disabled"`
	CreatedAt time.Time  `json:"created_at"`
}

var loginRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// Validate checks an account's fields.
func (u *User) Validate() error {
	if !loginRE.MatchString(u.Login) {
		return Errorf(EINVALID, "login %q: use 1 to 64 letters, digits, '.', '_', '@' or '-'", u.Login)
	}
	if utf8.RuneCountInString(u.Name) > 100 || !utf8.ValidString(u.Name) {
		return Errorf(EINVALID, "name is longer than 100 characters or not UTF-8")
	}
	if _, err := ParseAccessRole(string(u.Role)); err != nil {
		return err
	}
	s, err := ParseScope(u.Scope)
	u.Scope = s
	return err
}

// APIToken is an integration's credential (the secret itself is shown
// once, at creation, and never stored).
type APIToken struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      AccessRole `json:"role"`
	Scope     string     `json:"scope"`
	PersonID  int64      `json:"person_id,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// AuditEntry is one change in the append-only audit log.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	ActorKind  string          `json:"actor_kind"` // user, token, cli, system, dev
	ActorID    int64           `json:"actor_id,omitempty"`
	ActorName  string          `json:"actor_name"`
	Credential string          `json:"credential,omitempty"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Remote     string          `json:"remote,omitempty"`
	Status     int             `json:"status,omitempty"`
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	From, To time.Time // zero: unbounded
	Actor    string    // actor name; "" for all
	Action   string    // prefix of the action; "" for all
	Limit    int
}

// MaskName keeps a name's first character: 张三 → 张*.
func MaskName(s string) string {
	if s == "" {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + "*"
}

// MaskPhone keeps the first three and last four digits of a phone
// number (138****1234); shorter ones are masked whole.
func MaskPhone(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return ""
	}
	if n < 8 {
		return strings.Repeat("*", n)
	}
	rs := []rune(s)
	return string(rs[:3]) + strings.Repeat("*", n-7) + string(rs[n-4:])
}
