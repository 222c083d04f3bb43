// Package importers reads the boundary files GIS staff bring — GeoJSON,
// shapefiles (a .shp, a folder or a zip), GeoPackage, KML/KMZ and CSV — into
// geo.Features, one at a time, so a file of any size streams through in
// bounded memory. It knows formats, text encodings (UTF-8, GBK, GB18030),
// coordinate system definitions (WKT to EPSG codes) and attribute names; it
// does not reproject or repair (PostGIS does that on the way in). Hostile
// files are refused with limits on vertices per feature, features per file
// and file size, and zips are read in place, never extracted.
package importers
