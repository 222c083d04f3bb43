// WGS84 → GCJ-02, the same public forward formula as geo.WGS84ToGCJ02 in
// Go: when the map's tiles are in GCJ-02 (a GCJ-02 basemap, see
// serve --basemap-datum), GeoJSON from the API (WGS84) is shifted with it
// so that it sits on the tiles.
const A = 6378245.0;
const EE = 0.00669342162296594323;

function inChina(lon, lat) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const x = lon - 105.0;
  const y = lat - 35.0;
  const s = Math.sqrt(Math.abs(x));
  const common = ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  const mLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * s + common +
    ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0 +
    ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320.0 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  const mLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * s + common +
    ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0 +
    ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * Math.PI;
  const sin = Math.sin(radLat);
  const magic = 1 - EE * sin * sin;
  const sq = Math.sqrt(magic);
  const dLat = (mLat * 180.0) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  const dLon = (mLon * 180.0) / ((A / sq) * Math.cos(radLat) * Math.PI);
  return [lon + dLon, lat + dLat];
}

// shiftGeoJSON shifts every coordinate of a FeatureCollection in place.
export function shiftGeoJSON(fc) {
  const walk = (c) => (typeof c[0] === 'number' ? wgs84ToGcj02(c[0], c[1]) : c.map(walk));
  for (const f of fc.features || []) {
    if (f.geometry && f.geometry.coordinates) f.geometry.coordinates = walk(f.geometry.coordinates);
  }
  return fc;
}
