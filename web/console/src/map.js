// The grid centre's map: the four levels of the active generation as vector
// tiles from this server, styled by the server's /tiles/style.json (layer
// ids grids-fill, communities-fill, {level}-line, grids-selected,
// dept-{code}-line), no internet basemap. On top of it, this module adds
// hover and selection outlines driven by feature-state (feature ids are
// the numeric area codes), the incidents layer (/tiles/incidents, one
// point per case coloured by its deadline), an area search box, the area
// panel with drill-down, and the layer switcher.
//
// Other modules talk to the map through ctx.bus: 'select-area' {code}
// selects an area, 'incidents-changed' refreshes the incidents layer,
// 'incident-filter' {state, category, area} filters it; the map sends
// 'area-selected' {area} and 'incident-click' {id}.
import * as maplibregl from 'maplibre-gl';
import { api } from './api.js';
import { addMessages, onLang, t } from './i18n.js';
import { h as el } from './el.js';
import { styleBounds } from './extent.js';
import { buildingHit, buildingsSection, countFacts, flyToBuilding, mountBuildings, searchBuildings } from './buildings.js';
import { registerSection } from './register.js';

addMessages({
  zh: {
    'level.district': '区', 'level.street': '街道/镇', 'level.community': '社区/村', 'level.grid': '网格',
    'panel.outside': '不在网格覆盖范围内', 'panel.close': '关闭', 'layers': '图层',
    'layers.levels': '层级', 'layers.depts': '部门原始图层', 'layers.incidents': '案件',
    'search.placeholder': '搜索网格编码、名称或门牌地址', 'search.none': '没有匹配的区域或楼栋',
    'area.size': '面积', 'area.households': '户数', 'area.population': '人口', 'area.open': '在办案件', 'area.overdue': '超期',
    'area.people': '责任人', 'area.nobody': '尚未配置责任人', 'area.children': '下级区域', 'area.filter': '只看本区域案件',
    'person.onduty': '在岗', 'person.offduty': '不在岗', 'post.A': 'A岗', 'post.B': 'B岗',
    'dept.zongzhi': '综治', 'dept.chengguan': '城管', 'dept.gongan': '公安', 'dept.dangjian': '党建', 'dept.shichang': '市场监管', 'dept.yingji': '应急',
  },
  en: {
    'level.district': 'District', 'level.street': 'Street/town', 'level.community': 'Community', 'level.grid': 'Grid',
    'panel.outside': 'Outside the coverage', 'panel.close': 'Close', 'layers': 'Layers',
    'layers.levels': 'Levels', 'layers.depts': 'Department layers', 'layers.incidents': 'Incidents',
    'search.placeholder': 'Search a grid code, name or address', 'search.none': 'No matching area or building',
    'area.size': 'Area', 'area.households': 'Households', 'area.population': 'Population', 'area.open': 'Open cases', 'area.overdue': 'Overdue',
    'area.people': 'Responsible', 'area.nobody': 'Nobody is responsible yet', 'area.children': 'Areas below', 'area.filter': 'Only this area’s cases',
    'person.onduty': 'on duty', 'person.offduty': 'off duty', 'post.A': 'primary', 'post.B': 'backup',
    'dept.zongzhi': 'Social governance', 'dept.chengguan': 'City management', 'dept.gongan': 'Police', 'dept.dangjian': 'Party building', 'dept.shichang': 'Market regulation', 'dept.yingji': 'Emergency',
  },
});

const LEVELS = ['district', 'street', 'community', 'grid'];
const PLURAL = { district: 'districts', street: 'streets', community: 'communities', grid: 'grids' };
const LEVEL_OF_LEN = { 6: 'district', 9: 'street', 12: 'community', 15: 'grid' };
// Deadline colours: within 80 % of the time limit, past it, overdue.
export const DUE_COLOURS = { ok: '#2f9e44', warn: '#f08c00', overdue: '#e03131' };


function debounce(f, ms) {
  let h;
  return (...a) => {
    clearTimeout(h);
    h = setTimeout(() => f(...a), ms);
  };
}

function formatArea(m2) {
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} km²`;
  return `${Math.round(m2).toLocaleString()} m²`;
}

// mountMap shows the map in root (the map view) and returns it.
export function mountMap(root, ctx) {
  // No center of its own: the map opens on the style's, the loaded city's,
  // and frames the generation's extent once the style is there. The
  // attribution is the style sources': what the generation was merged from.
  const map = new maplibregl.Map({
    container: 'map',
    style: '/tiles/style.json',
    maxZoom: 18,
    attributionControl: { compact: true },
  });
  map.addControl(new maplibregl.NavigationControl(), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  window.griddMap = map; // for the browser tests
  mountBuildings(map);
  const seesCases = ['admin', 'dispatcher', 'worker', 'viewer'].includes(ctx.me.role);

  // Incidents: vector tiles of the caller's cases, re-requested on each
  // change (the URL's v= defeats every cache).
  let incidentQuery = {};
  let incidentVersion = 0;
  const incidentTiles = () => {
    const q = new URLSearchParams({ ...incidentQuery, v: String(incidentVersion) });
    return [`${location.origin}/tiles/incidents/{z}/{x}/{y}.mvt?${q}`];
  };
  const refreshIncidents = debounce(() => {
    incidentVersion++;
    const src = map.getSource('incidents');
    if (src) src.setTiles(incidentTiles());
  }, 150);

  // Layers go in as soon as the style is there (not after every first
  // tile, as 'load' would): the queue and search work while tiles load.
  let fitScope = Boolean(ctx.me.scope);
  let framed = ''; // the extent last framed: a new generation's is framed again
  map.on('style.load', () => {
    const bounds = styleBounds(map.getStyle());
    const key = JSON.stringify(bounds);
    if (bounds && key !== framed) {
      framed = key;
      if (ctx.me.scope) fitScope = true; // a scoped account stays on its area
      else map.fitBounds(bounds, { padding: 40, duration: 0 });
    }
    // Hover and selection outlines for every level, by feature-state.
    for (const level of LEVELS) {
      const src = PLURAL[level];
      map.addLayer({
        id: `${src}-hover`, type: 'fill', source: src, 'source-layer': src,
        paint: { 'fill-color': '#1f6feb', 'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.18, 0] },
      });
      map.addLayer({
        id: `${src}-outline`, type: 'line', source: src, 'source-layer': src,
        paint: {
          'line-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#e0301e', '#1f6feb'],
          'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3.5, ['boolean', ['feature-state', 'hover'], false], 2, 0],
        },
      });
    }
    if (seesCases && !map.getSource('incidents')) {
      map.addSource('incidents', { type: 'vector', tiles: incidentTiles(), minzoom: 0, maxzoom: 18 });
      map.addLayer({
        id: 'incidents-points', type: 'circle', source: 'incidents', 'source-layer': 'incidents',
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 3, 14, 6, 17, 9],
          'circle-color': ['match', ['get', 'due'], 'overdue', DUE_COLOURS.overdue, 'warn', DUE_COLOURS.warn, DUE_COLOURS.ok],
          'circle-stroke-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#111', '#fff'],
          'circle-stroke-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 1.2],
        },
      });
    }
    buildSwitcher();
    if (pendingSelect) selectFeature(pendingSelect);
    // A scoped account starts on its area.
    if (fitScope) {
      fitScope = false;
      api('/api/v1/areas/' + ctx.me.scope).then((d) => {
        const [w, s, e, n] = d.bbox;
        map.fitBounds([[w, s], [e, n]], { padding: 40, duration: 0 });
      }).catch(() => {});
    }
  });

  // Layer switcher: levels, each department's original layer, incidents.
  const switcher = document.getElementById('layers');
  function checkbox(labelKey, labelText, checked, layers) {
    const box = el('input', { type: 'checkbox' });
    box.checked = checked;
    box.addEventListener('change', () => {
      for (const id of layers) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none');
    });
    const name = el('span', labelKey ? { 'data-i18n': labelKey } : {}, labelKey ? t(labelKey) : labelText);
    return el('label', { 'data-layer': layers[0] }, box, ' ', name);
  }
  // The entries live in a box of their own in #layers, so that other
  // modules may add theirs (a basemap, say) beside them.
  const mine = el('div', { class: 'map-layers' });
  switcher.prepend(mine);
  function buildSwitcher() {
    mine.replaceChildren();
    const levels = el('fieldset', {}, el('legend', { 'data-i18n': 'layers.levels' }, t('layers.levels')));
    for (const level of [...LEVELS].reverse()) {
      const src = PLURAL[level];
      levels.append(checkbox('level.' + level, null, true, [`${src}-line`, `${src}-fill`, `${src}-hover`, `${src}-outline`]));
    }
    mine.append(levels);
    const depts = map.getStyle().layers.filter((l) => /^dept-.*-line$/.test(l.id));
    if (depts.length) {
      const fs = el('fieldset', {}, el('legend', { 'data-i18n': 'layers.depts' }, t('layers.depts')));
      for (const l of depts) {
        const code = l.id.slice(5, -5);
        const lab = checkbox('dept.' + code, null, false, [l.id]);
        lab.querySelector('span').after(' ', el('code', {}, 'dept/' + code));
        fs.append(lab);
      }
      mine.append(fs);
    }
    if (seesCases) {
      const fs = el('fieldset', {}, checkbox('layers.incidents', null, true, ['incidents-points']));
      mine.append(fs);
    }
  }
  document.getElementById('layers-toggle')?.addEventListener('click', (e) => {
    const open = switcher.hidden;
    switcher.hidden = !open;
    e.currentTarget.setAttribute('aria-expanded', String(open));
  });

  // Hover: the area under the pointer at the finest level drawn.
  let hovered = null;
  const setHover = (f) => {
    if (hovered && (!f || hovered.id !== f.id || hovered.source !== f.source)) {
      map.setFeatureState(hovered, { hover: false });
      hovered = null;
    }
    if (f && !hovered) {
      hovered = { source: f.source, sourceLayer: f.sourceLayer, id: f.id };
      map.setFeatureState(hovered, { hover: true });
    }
  };
  map.on('mousemove', (e) => {
    const inc = seesCases && map.getLayer('incidents-points') ? map.queryRenderedFeatures(e.point, { layers: ['incidents-points'] }) : [];
    const fs = map.queryRenderedFeatures(e.point, { layers: ['grids-fill', 'communities-fill'].filter((l) => map.getLayer(l)) });
    setHover(fs[0]);
    map.getCanvas().style.cursor = inc.length || fs.length ? 'pointer' : '';
  });
  map.on('mouseout', () => setHover(null));

  // Selection: one area at a time, outlined by feature-state.
  let selected = null; // {source, sourceLayer, id}
  let pendingSelect = null; // chosen before the style was there
  let current = null; // the panel's AreaDetail
  const selectFeature = (code) => {
    if (selected) map.setFeatureState(selected, { selected: false });
    selected = null;
    const level = LEVEL_OF_LEN[code?.length];
    // The style's own selection line (grids only) follows too.
    if (map.getLayer('grids-selected')) map.setFilter('grids-selected', ['==', ['get', 'code'], level === 'grid' ? code : '']);
    pendingSelect = null;
    if (!level) return;
    if (!map.getSource(PLURAL[level])) {
      pendingSelect = code;
      return;
    }
    selected = { source: PLURAL[level], sourceLayer: PLURAL[level], id: Number(code) };
    map.setFeatureState(selected, { selected: true });
  };

  // The area panel.
  const panel = document.getElementById('panel');
  const title = document.getElementById('panel-title');
  const chainEl = document.getElementById('panel-chain');
  const body = document.getElementById('panel-body');
  document.getElementById('panel-close').addEventListener('click', () => {
    panel.hidden = true;
    lower = { code: null, nodes: [] }; // what a reveal showed goes with the panel
    current = null;
    selectFeature(null);
    ctx.bus.dispatchEvent(new CustomEvent('area-selected', { detail: { area: null } }));
  });

  function renderPanel(rebuild = false) {
    const d = current;
    if (!d) return;
    title.replaceChildren(d.name || d.code, ' ', el('small', {}, t('level.' + d.level)));
    chainEl.replaceChildren();
    for (const c of d.chain) {
      const level = LEVEL_OF_LEN[c.code.length];
      const link = c.code === d.code ? el('strong', {}, c.name) : el('a', { href: '#', onclick: (e) => { e.preventDefault(); selectArea(c.code); } }, c.name);
      chainEl.append(el('dt', {}, t('level.' + level)), el('dd', {}, link, ' ', el('code', {}, c.code)));
    }
    const facts = el('dl', { class: 'facts' },
      el('dt', {}, t('area.size')), el('dd', {}, formatArea(d.area_m2)));
    facts.append(...countFacts(d));
    if (d.population != null) facts.append(el('dt', {}, t('area.population')), el('dd', {}, d.population.toLocaleString()));
    if (seesCases) {
      facts.append(el('dt', {}, t('area.open')), el('dd', { id: 'panel-open' }, String(d.open_cases)),
        el('dt', {}, t('area.overdue')), el('dd', { id: 'panel-overdue', class: d.overdue_cases ? 'overdue' : '' }, String(d.overdue_cases)));
    }
    const people = el('section', {}, el('h3', {}, t('area.people')));
    if (!d.people.length) people.append(el('p', { class: 'muted' }, t('area.nobody')));
    else {
      const tbl = el('table', { class: 'people' });
      for (const p of d.people) {
        tbl.append(el('tr', {},
          el('td', {}, p.name),
          el('td', {}, p.role_label),
          el('td', {}, t('post.' + p.post)),
          el('td', { class: p.on_duty ? 'on' : 'off' }, t(p.on_duty ? 'person.onduty' : 'person.offduty')),
          el('td', {}, p.phone && !p.phone.includes('*') ? el('a', { href: 'tel:' + p.phone }, p.phone) : p.phone)));
      }
      people.append(tbl);
    }
    const parts = [facts, people];
    if (d.children.length) {
      const list = el('ul', { class: 'children', id: 'panel-children' });
      for (const c of d.children) {
        list.append(el('li', {}, el('button', { type: 'button', 'data-code': c.code, onclick: () => selectArea(c.code) },
          c.name || c.code, ' ', el('code', {}, c.code), c.open_cases ? el('span', { class: 'badge' }, String(c.open_cases)) : null)));
      }
      parts.push(el('section', {}, el('h3', {}, t('area.children'), ' ', el('small', {}, t('level.' + d.children[0].level), ` · ${d.children.length}`)), list));
    }
    if (seesCases) {
      parts.push(el('button', { type: 'button', class: 'link', id: 'panel-filter', onclick: () => ctx.bus.dispatchEvent(new CustomEvent('filter-area', { detail: { area: d.code } })) }, t('area.filter')));
    }
    if (d.level === 'grid' || d.level === 'community') parts.push(...lowerSections(d, rebuild));
    body.replaceChildren(...parts);
  }

  // The buildings and the register of a grid or a community (lists of
  // hundreds, not of a whole district) are made once per area shown: the
  // stream's refreshes of the case counts keep them, a reason being typed
  // and what a reveal showed included.
  let lower = { code: null, nodes: [] };
  function lowerSections(d, rebuild) {
    if (lower.code === d.code && !rebuild) return lower.nodes;
    const mine = { code: d.code, nodes: [] };
    lower = mine;
    if (d.buildings) mine.nodes.push(buildingsSection(d, map));
    registerSection(d, ctx.me).then((sec) => {
      if (!sec || lower !== mine) return;
      mine.nodes.push(sec);
      if (current && current.code === mine.code) body.append(sec);
    });
    return mine.nodes;
  }

  // selectArea shows an area's panel, outlines it and fits the map to it.
  async function selectArea(code, { fit = true } = {}) {
    let d;
    try {
      d = await api('/api/v1/areas/' + encodeURIComponent(code));
    } catch (e) {
      title.textContent = t('panel.outside');
      chainEl.replaceChildren(el('dd', {}, e.message));
      body.replaceChildren();
      panel.hidden = false;
      return;
    }
    current = d;
    renderPanel();
    panel.hidden = false;
    selectFeature(d.code);
    if (fit) {
      const [w, s, e, n] = d.bbox;
      map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 16, duration: 0 });
    }
    ctx.bus.dispatchEvent(new CustomEvent('area-selected', { detail: { area: d } }));
  }

  // Click: a case's point opens it; else the grid under the point.
  map.on('click', async (e) => {
    if (seesCases && map.getLayer('incidents-points')) {
      const hit = map.queryRenderedFeatures(e.point, { layers: ['incidents-points'] });
      if (hit.length) {
        ctx.bus.dispatchEvent(new CustomEvent('incident-click', { detail: { id: Number(hit[0].id) } }));
        return;
      }
    }
    const { lng, lat } = e.lngLat;
    const srs = map.getStyle().metadata?.['gridd:datum'] === 'gcj02' ? '&srs=gcj02' : ''; // on a GCJ-02 basemap
    const res = await fetch(`/api/v1/locate?lon=${lng.toFixed(7)}&lat=${lat.toFixed(7)}${srs}`);
    const loc = await res.json();
    if (!res.ok || !loc.grid) {
      current = null;
      title.textContent = t('panel.outside');
      chainEl.replaceChildren(el('dd', {}, loc.error ? loc.error.message : res.statusText));
      body.replaceChildren();
      panel.hidden = false;
      selectFeature(null);
      return;
    }
    selectArea(loc.grid.code, { fit: false });
  });

  // The search box: code prefix or name, within the caller's scope.
  const input = document.getElementById('area-search');
  const results = document.getElementById('search-results');
  let hits = [];
  let buildingHits = []; // by address (门牌): buildings.js
  const showHits = () => {
    results.replaceChildren();
    if (!input.value.trim()) {
      results.hidden = true;
      return;
    }
    if (!hits.length && !buildingHits.length) results.append(el('li', { class: 'muted' }, t('search.none')));
    for (const h of hits) {
      results.append(el('li', {}, el('button', { type: 'button', 'data-code': h.code, onclick: () => pick(h) },
        h.name || h.code, ' ', el('code', {}, h.code), ' ', el('small', {}, t('level.' + h.level)))));
    }
    for (const f of buildingHits) results.append(buildingHit(f, pickBuilding));
    results.hidden = false;
  };
  let picked = null; // the code just picked: a late answer must not reopen the list
  const pick = (h) => {
    results.hidden = true;
    input.value = picked = h.code;
    selectArea(h.code);
  };
  // A building found by its address: the map flies to it and the panel
  // shows its grid.
  const pickBuilding = (f) => {
    const p = f.properties || {};
    results.hidden = true;
    input.value = picked = p.address || p.name || p.id;
    flyToBuilding(map, f);
    if (p.grid) selectArea(p.grid, { fit: false }); // the building, not its grid, fills the view
  };
  const find = (q) => Promise.all([
    api('/api/v1/areas?limit=12&q=' + encodeURIComponent(q)).then((d) => d.areas).catch(() => []),
    // A building search reads every building of the scope (no index on
    // addresses): one character matches half the city, so it waits for two.
    [...q].length >= 2 ? searchBuildings(q) : [],
  ]);
  const search = debounce(async () => {
    const q = input.value.trim();
    if (!q) {
      hits = buildingHits = [];
      showHits();
      return;
    }
    if (q === picked) return;
    const [a, b] = await find(q);
    if (input.value.trim() !== q || q === picked) return;
    [hits, buildingHits] = [a, b];
    showHits();
  }, 150);
  input.addEventListener('input', search);
  input.addEventListener('keydown', async (e) => {
    if (e.key === 'Escape') results.hidden = true;
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    [hits, buildingHits] = await find(q);
    if (hits.length) pick(hits[0]);
    else if (buildingHits.length) pickBuilding(buildingHits[0]);
    else showHits();
  });

  ctx.bus.addEventListener('select-area', (e) => selectArea(e.detail.code));
  // After an activation (the GIS workspace's, or any other the event
  // stream tells of) the map shows the new generation, framed on its extent
  // and credited with its sources (style.load). Its style is asked for by
  // ?gen=, so its level and label tiles are too: no tile of the old one
  // cached by the browser (max-age 60 s) is shown again, and a server
  // whose catalog has not yet seen the activation answers for it all the same.
  let shownGen = 0;
  ctx.bus.addEventListener('generation', async (e) => {
    const gen = Number(e.detail);
    if (!gen || gen === shownGen) return;
    const style = await api(`/tiles/style.json?gen=${gen}`).catch(() => null);
    if (!style || gen === shownGen) return;
    shownGen = gen;
    map.setStyle(style, { diff: false });
  });
  // The panel's case counts follow the stream too.
  const refreshPanel = debounce(async () => {
    if (!current || panel.hidden) return;
    const code = current.code;
    const d = await api('/api/v1/areas/' + code).catch(() => null);
    if (d && current && current.code === code) {
      current = d;
      renderPanel();
    }
  }, 500);
  ctx.bus.addEventListener('incidents-changed', () => {
    refreshIncidents();
    refreshPanel();
  });
  ctx.bus.addEventListener('incident-filter', (e) => {
    incidentQuery = Object.fromEntries(Object.entries(e.detail).filter(([, v]) => v));
    refreshIncidents();
  });
  // The case the drawer shows is ringed on the map.
  let selectedIncident = null;
  ctx.bus.addEventListener('incident-open', (e) => {
    if (!map.getSource('incidents')) return;
    if (selectedIncident) map.setFeatureState(selectedIncident, { selected: false });
    selectedIncident = e.detail.id ? { source: 'incidents', sourceLayer: 'incidents', id: e.detail.id } : null;
    if (selectedIncident) map.setFeatureState(selectedIncident, { selected: true });
  });
  onLang(() => {
    renderPanel(true);
    input.placeholder = t('search.placeholder');
  });
  input.placeholder = t('search.placeholder');
  return map;
}
