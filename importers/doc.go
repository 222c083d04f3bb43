// Package importers reads the boundary files GIS staff bring — GeoJSON
// today; Shapefile, GeoPackage, KML and CSV as they are added — into
// geo.Features, one at a time, so a file of any size streams through in
// constant memory. It knows formats, encodings and attribute names; it does
// not reproject or repair (PostGIS does that on the way in).
package importers
