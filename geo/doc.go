// Package geo holds gridd's domain: the four levels of the unified grid and
// their codes, generations, departmental layers, the error type every other
// package speaks, and the small interfaces the adapters (PostGIS, HTTP,
// importers, tiles) implement or consume. It depends on nothing but the
// geometry library, so every rule here can be tested without a database.
package geo
