package web

import (
	_ "embed"
	"net/http"

	"github.com/gorilla/mux"
)

// openAPIDoc is the OpenAPI 3.1 description of /api/v1. It is written by
// hand, next to the handlers, and TestOpenAPIMatchesRoutes holds it to the
// router: every route documented, nothing documented that does not exist.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPIRoutes serves the document at /api/v1/openapi.json.
func (s *Server) openAPIRoutes(api *mux.Router) {
	api.HandleFunc("/openapi.json", s.handleOpenAPI).Methods(http.MethodGet)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDoc)
}
