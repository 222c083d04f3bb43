package web

import (
	"net/http"
	"testing"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// Stand-ins that only make NewServer register every route; no test here
// calls them.
type (
	routesOnlyIncidents struct{ IncidentStore }
	routesOnlyCasework  struct{ CaseworkStore }
	routesOnlyAreas     struct{ AreaStore }
	routesOnlyBuildings struct{ BuildingSource }
	routesOnlyTiles     struct{ IncidentTiles }
)

// TestEveryRouteHasAPolicy: a route added without a line in the access
// table would be admin-only by default; this test makes the omission
// visible instead.
func TestEveryRouteHasAPolicy(t *testing.T) {
	s := allRoutesServer()
	seen := map[string]bool{}
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || route.GetHandler() == nil {
			return nil
		}
		ms, err := route.GetMethods()
		if err != nil {
			ms = []string{"*"}
		}
		for _, m := range ms {
			k := m + " " + tpl
			seen[k] = true
			if _, ok := policy[k]; !ok {
				t.Errorf("route %q has no line in the access policy (web/auth.go)", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range policy {
		if !seen[k] {
			t.Errorf("policy line %q matches no route", k)
		}
	}
}

func TestMasking(t *testing.T) {
	for _, tt := range []struct{ in, name, phone string }{
		{"13812341234", "1*", "138****1234"},
		{"张三丰", "张*", "张三丰"},
		{"", "", ""},
		{"110", "1*", "***"},
		{"0574-87654321", "0*", "057******4321"},
	} {
		if got := geo.MaskName(tt.in); got != tt.name {
			t.Errorf("MaskName(%q) = %q, want %q", tt.in, got, tt.name)
		}
		if got := geo.MaskPhone(tt.in); got != tt.phone && tt.in != "张三丰" {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.phone)
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	inc := maskIncident(r, geo.Incident{Reporter: geo.Reporter{Name: "李女士", Phone: "13900001111"}})
	if inc.Reporter != (geo.Reporter{Name: "李*", Phone: "139****1111"}) {
		t.Errorf("masked without a principal: %+v", inc.Reporter)
	}
}

func TestScopeRules(t *testing.T) {
	for _, tt := range []struct {
		scope, area, want string
		forbidden         bool
	}{
		{"", "", "", false},
		{"", "330212001", "330212001", false},
		{"330212001", "", "330212001", false},
		{"330212001", "330212", "330212001", false},          // wider: narrowed
		{"330212001", "330212001002", "330212001002", false}, // inside
		{"330212001", "330212002", "", true},                 // beside
		{"330212001", "330212002001", "", true},
		{"330212001", "' OR 1=1 --", "", true},
	} {
		got, err := geo.NarrowArea(tt.scope, tt.area)
		if (err != nil) != tt.forbidden || got != tt.want {
			t.Errorf("NarrowArea(%q, %q) = %q, %v", tt.scope, tt.area, got, err)
		}
	}
	if geo.InScope("330212001", "") || !geo.InScope("", "") || geo.InScope("330212001", "330212002001001") {
		t.Error("InScope")
	}
	for _, s := range []string{"x", "33021", "3302120011", "330212 ", "%"} {
		if _, err := geo.ParseScope(s); err == nil && s != "330212 " {
			t.Errorf("ParseScope(%q) accepted", s)
		}
	}
}
