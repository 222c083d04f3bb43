// Package postgis is gridd's adapter to PostgreSQL with PostGIS: it runs an
// embedded server from the machine's PostgreSQL binaries when no external
// database is given, applies the embedded migrations, and holds every query.
// PostGIS is the geometry engine: repair, overlay, union, reprojection and
// MVT encoding run here, set-based, in SQL.
package postgis
