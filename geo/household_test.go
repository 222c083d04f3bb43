package geo

import (
	"strings"
	"testing"
	"time"
)

func TestMayApproveExport(t *testing.T) {
	street := RegisterExport{ID: 1, Area: "330212001", Approval: Approval{RequestedBy: "disp", RequesterScope: "330212001"}}
	top := RegisterExport{ID: 2, Area: "330212", Approval: Approval{RequestedBy: "boss", RequesterScope: ""}}
	for _, c := range []struct {
		name string
		p    Principal
		e    RegisterExport
		ok   bool
	}{
		{"district admin approves a street's request", Principal{Name: "a", Role: AccessAdmin, Scope: "330212"}, street, true},
		{"unlimited admin approves", Principal{Name: "a", Role: AccessAdmin}, street, true},
		{"same-level admin may not", Principal{Name: "a", Role: AccessAdmin, Scope: "330212001"}, street, false},
		{"admin of another district", Principal{Name: "a", Role: AccessAdmin, Scope: "330203"}, street, false},
		{"a dispatcher may not", Principal{Name: "a", Role: AccessDispatcher}, street, false},
		{"the requester may not", Principal{Name: "disp", Role: AccessAdmin}, street, false},
		{"another unlimited admin approves the top's request", Principal{Name: "a", Role: AccessAdmin}, top, true},
		{"a district admin may not approve the top's", Principal{Name: "a", Role: AccessAdmin, Scope: "330212"}, top, false},
		{"the top may not approve its own", Principal{Name: "boss", Role: AccessAdmin}, top, false},
	} {
		err := MayApproveExport(c.p, c.e)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestRegisterRules(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	e := RegisterExport{Approval: Approval{State: ExportApproved, ExpiresAt: &exp}}
	if e.StateAt(now) != ExportApproved || e.StateAt(exp) != ExportExpired {
		t.Fatal("expiry")
	}
	for _, c := range []struct {
		reason string
		ok     bool
	}{{"", false}, {" 访 ", false}, {"走访", true}, {strings.Repeat("查", 501), false}} {
		if _, err := CheckReason(c.reason); (err == nil) != c.ok {
			t.Errorf("reason %q: %v", c.reason, err)
		}
	}
	m := ResidentRecord{Name: "王小明", IDNumber: "330203199003071234", Phone: "13900000000", BirthDate: "1990-03-07"}.Masked()
	if m != (ResidentRecord{Name: "王*明", IDNumber: "330203********1234", Phone: "139****0000", BirthDate: "1990"}) {
		t.Fatalf("masked %+v", m)
	}
	for _, c := range []struct {
		p  Principal
		ok bool
	}{{Principal{Role: AccessAdmin}, true}, {Principal{Role: AccessDispatcher, Scope: "330212001"}, true},
		{Principal{Role: AccessWorker, Scope: "330212001001"}, true}, {Principal{Role: AccessWorker}, false},
		{Principal{Role: AccessViewer, Scope: "330212"}, false}, {Principal{Role: AccessGIS}, false}} {
		if err := MayReveal(c.p); (err == nil) != c.ok {
			t.Errorf("reveal by %+v: %v", c.p, err)
		}
	}
	if err := MayRequestExport(Principal{Role: AccessViewer}, "330212"); err == nil {
		t.Fatal("a viewer may request an export")
	}
	if err := MayRequestExport(Principal{Role: AccessDispatcher, Scope: "330212001"}, "330212002"); err == nil {
		t.Fatal("a request outside the scope")
	}
	if RowErrors("f.csv", nil, 0) != nil {
		t.Fatal("no errors is an error")
	}
	err := RowErrors("f.csv", []RowError{{Line: 3, Column: "column E (身份证号)", Message: "bad"}}, 4)
	if got := ErrorMessage(err); got != "f.csv: line 3, column E (身份证号): bad (and 3 more rows with errors; nothing was loaded)" {
		t.Fatalf("message %q", got)
	}
}
