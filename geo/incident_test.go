package geo

import (
	"fmt"
	"slices"
	"testing"
)

// legal is the state machine written out the other way round, as the
// issue states it: from each state, the actions allowed, where they lead
// and who may take them. Every (state, action) pair not listed must be
// refused with a conflict.
var legal = map[State]map[Action]struct {
	to  State
	who []Role
}{
	StateReported: {
		ActRegister: {StateRegistered, []Role{RoleOperator}},
		ActCancel:   {StateCancelled, []Role{RoleOperator}},
	},
	StateRegistered: {
		ActDispatch: {StateDispatched, []Role{RoleOperator}},
		ActCancel:   {StateCancelled, []Role{RoleOperator}},
		ActSuspend:  {StateSuspended, []Role{RoleOperator}},
	},
	StateDispatched: {
		ActAccept:  {StateAccepted, []Role{RoleChengguan, RoleGridChief}},
		ActReturn:  {StateReturned, []Role{RoleChengguan, RoleGridChief}},
		ActSuspend: {StateSuspended, []Role{RoleOperator}},
	},
	StateAccepted: {
		ActHandle:           {StateHandled, []Role{RoleChengguan, RoleGridChief}},
		ActReturn:           {StateReturned, []Role{RoleChengguan, RoleGridChief}},
		ActRequestExtension: {StateExtensionRequested, []Role{RoleChengguan, RoleGridChief}},
		ActSuspend:          {StateSuspended, []Role{RoleOperator}},
	},
	StateExtensionRequested: {
		ActApproveExtension: {StateAccepted, []Role{RoleOperator, RoleCommunitySupervisor, RoleStreetSupervisor, RoleDistrictSupervisor}},
		ActRejectExtension:  {StateAccepted, []Role{RoleOperator, RoleCommunitySupervisor, RoleStreetSupervisor, RoleDistrictSupervisor}},
	},
	StateReturned: {
		ActDispatch: {StateDispatched, []Role{RoleOperator}},
		ActCancel:   {StateCancelled, []Role{RoleOperator}},
		ActSuspend:  {StateSuspended, []Role{RoleOperator}},
	},
	StateHandled: {
		ActVerify: {StateVerified, []Role{RoleOperator, RoleCommunitySupervisor, RoleStreetSupervisor, RoleDistrictSupervisor}},
		ActRework: {StateDispatched, []Role{RoleOperator, RoleCommunitySupervisor, RoleStreetSupervisor, RoleDistrictSupervisor}},
	},
	StateVerified:  {ActClose: {StateClosed, []Role{RoleOperator}}},
	StateSuspended: {ActResume: {StateDispatched, []Role{RoleOperator}}},
	StateClosed:    {},
	StateCancelled: {},
}

var allRoles = append(slices.Clone(PersonRoles), RoleOperator, RoleSystem)

// TestTransitionMatrix tries every action in every state by every role on
// a case routed to 城管 that needs verification.
func TestTransitionMatrix(t *testing.T) {
	if len(legal) != len(States) {
		t.Fatalf("the test lists %d states, the machine has %d", len(legal), len(States))
	}
	for _, s := range States {
		for _, a := range Actions() {
			for _, r := range allRoles {
				c := CaseFacts{State: s, AssigneeRole: RoleChengguan, VerifyRequired: true}
				got, err := Transition(c, a, r)
				want, ok := legal[s][a]
				switch {
				case !ok:
					if ErrorCode(err) != ECONFLICT {
						t.Errorf("%s --%s by %s--> %s, %v: want a conflict", s, a, r, got, err)
					}
				case slices.Contains(want.who, r):
					if err != nil || got != want.to {
						t.Errorf("%s --%s by %s--> %s, %v: want %s", s, a, r, got, err, want.to)
					}
				default:
					if ErrorCode(err) != EFORBIDDEN {
						t.Errorf("%s --%s by %s--> %s, %v: want forbidden", s, a, r, got, err)
					}
				}
			}
		}
		// NextActions lists exactly the legal actions.
		var want []Action
		for _, a := range Actions() {
			if _, ok := legal[s][a]; ok {
				want = append(want, a)
			}
		}
		if got := NextActions(CaseFacts{State: s, VerifyRequired: true}); fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("next actions of %s: %v, want %v", s, got, want)
		}
	}
}

func TestTransitionRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    CaseFacts
		a    Action
		r    Role
		to   State
		code string
	}{
		{"close a handled case without verification", CaseFacts{State: StateHandled, VerifyRequired: false}, ActClose, RoleOperator, StateClosed, ""},
		{"close a handled case that needs verification", CaseFacts{State: StateHandled, VerifyRequired: true}, ActClose, RoleOperator, "", ECONFLICT},
		{"a police officer accepts a 城管 case", CaseFacts{State: StateDispatched, AssigneeRole: RoleChengguan}, ActAccept, RolePolice, "", EFORBIDDEN},
		{"any handler accepts an unrouted case", CaseFacts{State: StateDispatched}, ActAccept, RolePolice, StateAccepted, ""},
		{"the grid chief acts for the handler", CaseFacts{State: StateAccepted, AssigneeRole: RoleMarket}, ActHandle, RoleGridChief, StateHandled, ""},
		{"the operator does not handle cases", CaseFacts{State: StateAccepted}, ActHandle, RoleOperator, "", EFORBIDDEN},
		{"unknown action", CaseFacts{State: StateReported}, "explode", RoleOperator, "", EINVALID},
		{"system events are not requests", CaseFacts{State: StateReported}, ActEscalate, RoleSystem, "", EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Transition(tt.c, tt.a, tt.r)
			if ErrorCode(err) != tt.code || got != tt.to {
				t.Fatalf("got %q, %v; want %q, code %q", got, err, tt.to, tt.code)
			}
			if err != nil && ErrorMessage(err) == "" {
				t.Fatal("an error without a message")
			}
		})
	}
}

func TestNewIncidentValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    NewIncident
		ok   bool
	}{
		{"minimal", NewIncident{Category: "E0101"}, true},
		{"no category", NewIncident{}, false},
		{"bad source", NewIncident{Category: "E0101", Source: "pigeon"}, false},
		{"attachment not a URL", NewIncident{Category: "E0101", Attachments: []string{"/etc/passwd"}}, false},
		{"attachment URL", NewIncident{Category: "E0101", Attachments: []string{"https://img.example/1.jpg"}}, true},
		{"key with a newline", NewIncident{Category: "E0101", IdempotencyKey: "a\nb"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.n.Validate()
			if (err == nil) != tt.ok || (err != nil && ErrorCode(err) != EINVALID) {
				t.Fatalf("Validate: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestActionsFor: the console offers each role only the actions it may
// take in the case's state.
func TestActionsFor(t *testing.T) {
	chengguan := &Assignee{Role: RoleChengguan}
	for _, tt := range []struct {
		name     string
		state    State
		assignee *Assignee
		verify   bool
		role     Role
		want     []Action
	}{
		{"operator registers a report", StateReported, chengguan, true, RoleOperator, []Action{ActRegister, ActCancel}},
		{"a handler may do nothing to a report", StateReported, chengguan, true, RoleChengguan, []Action{}},
		{"operator dispatches", StateRegistered, chengguan, true, RoleOperator, []Action{ActCancel, ActDispatch, ActSuspend}},
		{"the routed handler accepts or returns", StateDispatched, chengguan, true, RoleChengguan, []Action{ActAccept, ActReturn}},
		{"another handler may not", StateDispatched, chengguan, true, RolePolice, []Action{}},
		{"the grid chief may", StateDispatched, chengguan, true, RoleGridChief, []Action{ActAccept, ActReturn}},
		{"operator verifies a handled case that needs it", StateHandled, chengguan, true, RoleOperator, []Action{ActVerify, ActRework}},
		{"operator closes one that does not", StateHandled, chengguan, false, RoleOperator, []Action{ActVerify, ActRework, ActClose}},
		{"a supervisor verifies but does not close", StateHandled, chengguan, false, RoleCommunitySupervisor, []Action{ActVerify, ActRework}},
		{"operator closes a verified case", StateVerified, chengguan, true, RoleOperator, []Action{ActClose}},
		{"nobody acts on a closed case", StateClosed, chengguan, true, RoleOperator, []Action{}},
		{"a viewer has no role", StateRegistered, nil, true, "", []Action{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inc := Incident{State: tt.state, Assignee: tt.assignee}
			f := CaseFacts{State: tt.state, VerifyRequired: tt.verify}
			if tt.assignee != nil {
				f.AssigneeRole = tt.assignee.Role
			}
			inc.NextActions = NextActions(f)
			if got := ActionsFor(inc, tt.role); !slices.Equal(got, tt.want) {
				t.Fatalf("ActionsFor(%s, %s) = %v, want %v", tt.state, tt.role, got, tt.want)
			}
		})
	}
}
