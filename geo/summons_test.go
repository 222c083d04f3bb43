package geo

import (
	"slices"
	"testing"
)

func TestSummonsTransition(t *testing.T) {
	operator := SummonsActor{Role: RoleOperator}
	assignee := SummonsActor{Role: RolePolice, Assignee: true}
	deptSup := SummonsActor{Role: RoleDeptSupervisor, Supervisor: true}
	stranger := SummonsActor{Role: RoleMarket}
	for _, tt := range []struct {
		from SummonsState
		a    SummonsAction
		who  SummonsActor
		to   SummonsState
		code string
	}{
		{SummonsDispatched, SumAccept, assignee, SummonsAccepted, ""},
		{SummonsDispatched, SumAccept, deptSup, SummonsAccepted, ""},
		{SummonsDispatched, SumAccept, stranger, "", EFORBIDDEN},
		{SummonsDispatched, SumAccept, operator, "", EFORBIDDEN},
		{SummonsAccepted, SumHandle, assignee, SummonsHandled, ""},
		{SummonsDispatched, SumHandle, assignee, "", ECONFLICT},
		{SummonsAccepted, SumReturn, assignee, SummonsReturned, ""},
		{SummonsReturned, SumRedispatch, operator, SummonsDispatched, ""},
		{SummonsReturned, SumRedispatch, assignee, "", EFORBIDDEN},
		{SummonsAccepted, SumRequestExtension, assignee, SummonsExtensionRequested, ""},
		{SummonsExtensionRequested, SumApproveExtension, deptSup, SummonsAccepted, ""},
		{SummonsExtensionRequested, SumApproveExtension, assignee, "", EFORBIDDEN},
		{SummonsExtensionRequested, SumRejectExtension, operator, SummonsAccepted, ""},
		{SummonsHandled, SumRework, operator, SummonsDispatched, ""},
		{SummonsHandled, SumRework, deptSup, "", EFORBIDDEN},
		{SummonsHandled, SumCancel, operator, "", ECONFLICT},
		{SummonsAccepted, SumCancel, operator, SummonsCancelled, ""},
		{SummonsCancelled, SumAccept, assignee, "", ECONFLICT},
		{SummonsDispatched, "fly", operator, "", EINVALID},
	} {
		to, err := SummonsTransition(tt.from, tt.a, tt.who)
		if to != tt.to || ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
			t.Errorf("%s on %s by %+v: %q %v, want %q %s", tt.a, tt.from, tt.who, to, err, tt.to, tt.code)
		}
	}
	if got := SummonsNextActions(SummonsAccepted, assignee); !slices.Equal(got, []SummonsAction{SumReturn, SumRequestExtension, SumHandle}) {
		t.Errorf("an accepted summons' actions for its assignee: %v", got)
	}
	for _, s := range SummonsStates {
		if s.Open() == (s == SummonsHandled || s == SummonsCancelled) {
			t.Errorf("%s: open %v", s, s.Open())
		}
	}
	if !SummonsBlocks(ActClose) || !SummonsBlocks(ActVerify) || SummonsBlocks(ActHandle) {
		t.Error("SummonsBlocks: close and verify wait for the departments, handle does not")
	}
}

func TestChooseDeptSupervisor(t *testing.T) {
	chain := Chain{District: &AreaRef{Code: "330206"}, Street: &AreaRef{Code: "330206001"}, Community: &AreaRef{Code: "330206001001"}}
	cands := []Candidate{
		{PersonID: 9, Name: "区", Role: RoleDeptSupervisor, Code: "330206", Post: "A"},
		{PersonID: 7, Name: "街B", Role: RoleDeptSupervisor, Code: "330206001", Post: "B"},
		{PersonID: 8, Name: "街A", Role: RoleDeptSupervisor, Code: "330206001", Post: "A"},
	}
	if a, _ := ChooseDeptSupervisor(chain, "城管", cands); a == nil || a.ID != 8 || a.Level != Street {
		t.Errorf("the street's A post first: %+v", a)
	}
	if a, _ := ChooseDeptSupervisor(chain, "城管", cands[:1]); a == nil || a.ID != 9 || a.Level != District {
		t.Errorf("else the district's: %+v", a)
	}
	if a, why := ChooseDeptSupervisor(chain, "城管", nil); a != nil || why == "" {
		t.Errorf("nobody: %+v %q", a, why)
	}
}
