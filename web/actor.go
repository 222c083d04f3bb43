package web

import (
	"net/http"
	"strings"

	"github.com/gridd/gridd/geo"
)

// Headers of the former actor seam, honoured only for the development
// token (Config.DevToken, tests): it is an admin that may name itself
// and act in any case role.
const (
	headerActor = "X-Gridd-Actor"
	headerRole  = "X-Gridd-Role"
)

// caller is who makes a request and in which role.
type caller struct {
	actor string
	role  geo.Role
}

// callerOf reads who is calling from the authenticated principal (see
// authenticate): its login or token name, and the case role its access
// role acts in — the centre's operator for admins and dispatchers; a
// worker's role depends on the case (workerRole), others have none.
func callerOf(r *http.Request) (caller, error) {
	p, ok := principalOf(r)
	if !ok {
		return caller{}, nil
	}
	c := caller{actor: p.Actor()}
	if p.Role == geo.AccessAdmin || p.Role == geo.AccessDispatcher {
		c.role = geo.RoleOperator
	}
	if p.Kind != "dev" {
		return c, nil
	}
	if a := strings.TrimSpace(r.Header.Get(headerActor)); a != "" {
		c.actor = a
	}
	if len(c.actor) > 200 {
		return c, geo.Errorf(geo.EINVALID, "%s is longer than 200 characters", headerActor)
	}
	if s := r.Header.Get(headerRole); s != "" {
		role, err := geo.ParseRole(s)
		if err != nil {
			return c, err
		}
		c.role = role
	}
	return c, nil
}

// requireCaller is callerOf for actions that need to know who acts.
func requireCaller(r *http.Request) (caller, error) {
	c, err := callerOf(r)
	if err != nil {
		return c, err
	}
	if c.actor == "" { // a role-less caller is refused by the rule it breaks (403)
		return c, geo.Errorf(geo.EUNAUTHORIZED, "log in (POST /api/v1/login) or send Authorization: Bearer TOKEN")
	}
	return c, nil
}

// requireOperator admits the grid centre's operators only: for changes to
// people, categories, the calendar and webhooks.
func requireOperator(r *http.Request) (caller, error) {
	c, err := requireCaller(r)
	if err != nil {
		return c, err
	}
	if c.role != geo.RoleOperator {
		return c, geo.Errorf(geo.EFORBIDDEN, "only the centre's operator may change this; you are %s", c.role)
	}
	return c, nil
}
