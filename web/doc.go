// Package web is gridd's HTTP face: the JSON API under /api/v1, vector
// tiles under /tiles, and the operators' console, whose front-end is built
// from web/console with npm at build time and embedded from web/dist. It
// depends on small interfaces, not on the database adapter; cmd/gridd wires
// them. Errors become HTTP statuses in exactly one place, writeError.
package web
