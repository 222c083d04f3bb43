package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// allRoutesServer registers every route: each optional dependency is set
// to a value that only satisfies its interface.
func allRoutesServer() *Server {
	return NewServer(Config{}, Deps{Incidents: routesOnlyIncidents{}, Casework: routesOnlyCasework{},
		Areas: routesOnlyAreas{}, Buildings: routesOnlyBuildings{}, IncidentTiles: routesOnlyTiles{}, Duplicates: routesOnlyDuplicates{}, Verdicts: routesOnlyVerdicts{}, Summons: routesOnlySummons{}, Disputes: routesOnlyDisputes{}, Register: routesOnlyRegister{}})
}

// muxVar matches a gorilla/mux variable with its pattern, {id:[0-9]+}.
var muxVar = regexp.MustCompile(`\{([a-zA-Z_]+):[^}]*\}`)

// apiOperations lists "METHOD /path" of every /api/v1 route, with mux's
// patterns dropped so that they read as OpenAPI templates.
func apiOperations(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	ops := map[string]bool{}
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || route.GetHandler() == nil || !strings.HasPrefix(tpl, "/api/v1/") {
			return nil
		}
		ms, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s answers every method: give it Methods()", tpl)
			return nil
		}
		for _, m := range ms {
			ops[m+" "+muxVar.ReplaceAllString(strings.TrimPrefix(tpl, "/api/v1"), "{$1}")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := allRoutesServer()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]map[string]struct {
			Summary     string `json:"summary"`
			OperationID string `json:"operationId"`
			Responses   map[string]any
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("openapi %q servers %v: want 3.1.0 on /api/v1", doc.OpenAPI, doc.Servers)
	}
	documented := map[string]bool{}
	ids := map[string]string{}
	for path, methods := range doc.Paths {
		for m, op := range methods {
			k := strings.ToUpper(m) + " " + path
			documented[k] = true
			if op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s: no summary or no responses", k)
			}
			if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
				t.Errorf("%s: operationId %q empty or also used by %s", k, op.OperationID, prev)
			}
			ids[op.OperationID] = k
		}
	}
	routes := apiOperations(t, s)
	if len(routes) < 30 {
		t.Fatalf("only %d API routes found: the walk is broken", len(routes))
	}
	var missing, invented []string
	for k := range routes {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routes[k] {
			invented = append(invented, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(invented)
	for _, k := range missing {
		t.Errorf("route %s is not in web/openapi.json", k)
	}
	for _, k := range invented {
		t.Errorf("web/openapi.json documents %s, which no route serves", k)
	}
}
