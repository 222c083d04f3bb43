// Buildings (楼栋): a layer on the map from zoom 14, coloured by
// households, read for the view's extent from the OGC API collection of
// buildings (the same data as the API, no tiles of their own: at zoom 14
// a view holds a few thousand at most); and the area panel's list of an
// area's buildings with their households.
import { api } from './api.js';
import { addMessages, t } from './i18n.js';
import { h, fmt } from './el.js';
import { shiftGeoJSON, wgs84ToGcj02 } from './gcj02.js';

addMessages({
  zh: {
    'bld.title': '楼栋', 'bld.households': '户', 'bld.none': '本区域没有楼栋数据', 'bld.more': '另有 {n} 栋',
    'bld.hit': '楼栋', 'src.register': '据实有人口登记', 'src.data': '据楼栋数据', 'src.attribute': '据部门属性', 'area.buildings': '楼栋数', 'area.residents': '实有人口',
  },
  en: {
    'bld.title': 'Buildings', 'bld.households': 'hh', 'bld.none': 'No building data in this area', 'bld.more': '{n} more',
    'bld.hit': 'building', 'src.register': 'from the register', 'src.data': 'counted from buildings', 'src.attribute': 'a department’s attribute', 'area.buildings': 'Buildings', 'area.residents': 'Residents',
  },
});

export const BUILDINGS_MINZOOM = 14;
const MAX_FEATURES = 5000;
const EMPTY = { type: 'FeatureCollection', features: [] };

// Households per building → colour, light to dark.
const COLOUR = ['step', ['coalesce', ['get', 'households'], 0], '#fde0c5', 20, '#facba6', 60, '#f59e72', 120, '#e8613c', 250, '#b1361e'];

// mountBuildings adds the buildings layer to map (again after each style
// load) and keeps it filled for the view.
export function mountBuildings(map) {
  let seq = 0;
  const gcj = () => map.getStyle()?.metadata?.['gridd:datum'] === 'gcj02';
  function add() {
    if (map.getSource('buildings')) return;
    map.addSource('buildings', { type: 'geojson', data: EMPTY });
    const before = map.getLayer('incidents-points') ? 'incidents-points' : undefined;
    map.addLayer({ id: 'buildings-fill', type: 'fill', source: 'buildings', minzoom: BUILDINGS_MINZOOM, filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': COLOUR, 'fill-opacity': 0.8, 'fill-outline-color': '#7a3b1d' } }, before);
    map.addLayer({ id: 'buildings-points', type: 'circle', source: 'buildings', minzoom: BUILDINGS_MINZOOM, filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-color': COLOUR, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 14, 2.5, 17, 6], 'circle-stroke-color': '#7a3b1d', 'circle-stroke-width': 0.6 } }, before);
    load();
  }
  async function load() {
    const src = map.getSource('buildings');
    if (!src || map.getZoom() < BUILDINGS_MINZOOM) return;
    const mine = ++seq;
    // On a GCJ-02 basemap the view is shifted by some hundred metres from
    // the data's WGS 84: widen the box by 0.01° and shift what comes back.
    const b = map.getBounds();
    const m = gcj() ? 0.01 : 0;
    const bbox = [b.getWest() - m, b.getSouth() - m, b.getEast() + m, b.getNorth() + m].map((v) => v.toFixed(6)).join(',');
    try {
      const fc = await api(`/ogc/collections/buildings/items?bbox=${bbox}&limit=${MAX_FEATURES}&properties=id,address,households,grid`);
      if (mine !== seq) return; // a later move asked again
      src.setData(gcj() ? shiftGeoJSON(fc) : fc);
    } catch {
      src.setData(EMPTY); // no buildings loaded, or none visible to this account
    }
  }
  map.on('style.load', add);
  if (map.isStyleLoaded()) add();
  map.on('moveend', load);
}

// countFacts are the panel's figures counted from data, each with where it
// comes from: households (data or attribute), buildings, residents.
export function countFacts(d) {
  const out = [];
  if (d.households != null) {
    const src = d.households_source ? h('small', { class: 'muted', id: 'panel-households-source', 'data-source': d.households_source }, ' · ', t('src.' + d.households_source)) : null;
    out.push(h('dt', {}, t('area.households')), h('dd', { id: 'panel-households' }, fmt(d.households), src));
  }
  if (d.buildings != null) out.push(h('dt', {}, t('area.buildings')), h('dd', { id: 'panel-buildings' }, fmt(d.buildings)));
  if (d.residents != null) {
    const src = d.residents_source ? h('small', { class: 'muted', id: 'panel-residents-source', 'data-source': d.residents_source }, ' · ', t('src.' + d.residents_source)) : null;
    out.push(h('dt', {}, t('area.residents')), h('dd', { id: 'panel-residents' }, fmt(d.residents), src));
  }
  return out;
}

// buildingsSection lists an area's buildings (the first 50, by id) with
// their households; a click flies the map to one.
export function buildingsSection(d, map) {
  const list = h('ul', { class: 'buildings', id: 'panel-building-list' });
  const sec = h('section', { id: 'panel-buildings-section' }, h('h3', {}, t('bld.title')), list);
  api(`/api/v1/buildings?area=${encodeURIComponent(d.code)}&limit=50`).then((fc) => {
    if (!fc.features.length) {
      list.replaceWith(h('p', { class: 'muted' }, t('bld.none')));
      return;
    }
    for (const f of fc.features) {
      const p = f.properties || {};
      list.append(h('li', { 'data-id': p.id },
        h('button', { type: 'button', class: 'link', onclick: () => flyToBuilding(map, f) }, p.address || p.name || p.id),
        ' ', h('small', {}, `${fmt(p.households)} ${t('bld.households')}`)));
    }
    const total = fc.numberMatched ?? fc.matched;
    if (total > fc.features.length) list.append(h('li', { class: 'muted' }, t('bld.more', { n: fmt(total - fc.features.length) })));
  }).catch(() => sec.remove());
  return sec;
}

// buildingCentre is where a building is on the map: a point's own place, a
// footprint's box centre, shifted onto a GCJ-02 basemap.
function buildingCentre(map, f) {
  const g = f.geometry;
  let c = null;
  if (g.type === 'Point') c = g.coordinates;
  else {
    const xs = [], ys = [];
    const walk = (a) => (typeof a[0] === 'number' ? (xs.push(a[0]), ys.push(a[1])) : a.forEach(walk));
    walk(g.coordinates);
    if (xs.length) c = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  }
  if (c && map.getStyle()?.metadata?.['gridd:datum'] === 'gcj02') c = wgs84ToGcj02(c[0], c[1]);
  return c;
}

// flyToBuilding shows a building close enough to see it among its
// neighbours (the buildings layer starts at zoom 14).
export function flyToBuilding(map, f) {
  const c = buildingCentre(map, f);
  if (c) map.flyTo({ center: c, zoom: Math.max(map.getZoom(), 17) });
}

// searchBuildings finds buildings by a part of their address (门牌), name
// or id, within the caller's scope: the search box's second kind of hit.
export async function searchBuildings(q, limit = 8) {
  const fc = await api(`/api/v1/buildings?limit=${limit}&q=${encodeURIComponent(q)}`).catch(() => null);
  return fc ? fc.features : [];
}

// buildingHit is a building's line in the search results.
export function buildingHit(f, onPick) {
  const p = f.properties || {};
  return h('li', { class: 'building-hit' }, h('button', { type: 'button', 'data-building': p.id, onclick: () => onPick(f) },
    p.address || p.name || p.id, ' ', p.grid ? h('code', {}, p.grid) : null, ' ', h('small', {}, t('bld.hit'))));
}
