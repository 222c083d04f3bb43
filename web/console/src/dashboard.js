// The dashboard (统计研判 / 社情研判): the casework figures of GET
// /api/v1/metrics — received, closed, on-time closure rate, overdue,
// rework — for an area and period: key figures, a bar chart by area, a
// chart by period and a map colouring the areas by any of the figures
// (MapLibre feature-state on the level's vector tiles, whose feature ids
// are the area codes). Charts are plain SVG: no charting dependency.
import * as maplibregl from 'maplibre-gl';
import { api } from './api.js';
import { addMessages, applyI18n, onLang, t } from './i18n.js';
import { fmt, h, pct } from './el.js';
import { extentOptions, styleBounds } from './extent.js';

// The figures: key in the metrics answer, whether it is a rate, the map's
// colour ramp (light → dark).
const METRICS = [
  { k: 'received', ramp: ['#e7f5ff', '#1864ab'] },
  { k: 'closed', ramp: ['#ebfbee', '#2b8a3e'] },
  { k: 'on_time_rate', rate: true, ramp: ['#fff5f5', '#2b8a3e'] },
  { k: 'overdue', ramp: ['#fff5f5', '#c92a2a'] },
  { k: 'reworked', ramp: ['#fff4e6', '#d9480f'] },
  { k: 'rework_rate', rate: true, ramp: ['#fff4e6', '#d9480f'] },
  { k: 'satisfaction_rate', rate: true, ramp: ['#f3f0ff', '#5f3dc4'] },
];
const PERIODS = [7, 30, 90, 365]; // days
const BUCKETS = { 7: 7, 30: 6, 90: 9, 365: 12 }; // bars of the period chart
const LEVEL_LAYERS = { street: 'streets', community: 'communities', grid: 'grids' };
const DAY = 86400000;

addMessages({
  zh: {
    'dash.area': '区域',
    'dash.by': '按',
    'dash.period': '时段',
    'dash.days': '近 {n} 天',
    'dash.metric': '指标',
    'm.received': '受理',
    'm.closed': '结案',
    'm.on_time_rate': '按期结案率',
    'm.overdue': '超期',
    'm.reworked': '返工',
    'm.rework_rate': '返工率',
    'm.mean_handling_hours': '平均办结时长（小时）',
    'm.satisfaction_rate': '群众满意率',
    'm.verdicts': '群众评价',
    'dash.byarea': '{metric}（按{level}）',
    'dash.byperiod': '受理与结案（按时段）',
    'dash.map': '社情研判：{metric}',
    'dash.none': '该时段没有案件',
    'dash.noaccess': '统计数据需要 admin、dispatcher 或 viewer 角色。',
    'dash.refresh': '刷新',
  },
  en: {
    'dash.area': 'Area',
    'dash.by': 'By',
    'dash.period': 'Period',
    'dash.days': 'last {n} days',
    'dash.metric': 'Figure',
    'm.received': 'Received',
    'm.closed': 'Closed',
    'm.on_time_rate': 'Closed on time',
    'm.overdue': 'Overdue',
    'm.reworked': 'Reworked',
    'm.rework_rate': 'Rework rate',
    'm.mean_handling_hours': 'Mean time to close (h)',
    'm.satisfaction_rate': 'Citizens satisfied',
    'm.verdicts': 'Citizen verdicts',
    'dash.byarea': '{metric} by {level}',
    'dash.byperiod': 'Received and closed by period',
    'dash.map': 'Map: {metric}',
    'dash.none': 'No cases in this period',
    'dash.noaccess': 'The figures need the admin, dispatcher or viewer role.',
    'dash.refresh': 'Refresh',
  },
});

const metricOf = (k) => METRICS.find((m) => m.k === k);
const show = (k, v) => (metricOf(k)?.rate ? pct(v) : fmt(v));

// bars draws a horizontal bar chart: items [{id, label, value}].
function bars(items, metric) {
  const rowH = 20;
  const labelW = 150;
  const W = 560;
  const max = Math.max(...items.map((i) => i.value), metric.rate ? 1 : 1e-9);
  const H = items.length * rowH + 6;
  return h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart bars', role: 'img', 'data-metric': metric.k },
    items.map((it, i) => {
      const w = ((W - labelW - 60) * it.value) / max;
      const y = i * rowH + 3;
      return h('g', { 'data-area': it.id, 'data-value': it.value },
        h('title', { text: `${it.label} ${it.id}: ${show(metric.k, it.value)}` }),
        h('text', { x: labelW - 6, y: y + 13, 'text-anchor': 'end', class: 'lbl', text: it.label.length > 12 ? it.label.slice(0, 11) + '…' : it.label }),
        h('rect', { x: labelW, y: y + 2, width: Math.max(w, 0.5), height: rowH - 6, fill: metric.ramp[1], rx: 2 }),
        h('text', { x: labelW + w + 5, y: y + 13, class: 'val', text: show(metric.k, it.value) }));
    }));
}

// columns draws the period chart: grouped columns of received and closed
// per bucket, with the on-time rate as a line on its own 0–100 % scale.
function columns(buckets) {
  const W = 560;
  const H = 220;
  const top = 18;
  const bottom = 36;
  const left = 36;
  const ch = H - top - bottom;
  const max = Math.max(1, ...buckets.flatMap((b) => [b.m.received, b.m.closed]));
  const bw = (W - left - 36) / buckets.length;
  const y = (v) => top + ch - (ch * v) / max;
  const out = [h('line', { x1: left, x2: W - 36, y1: top + ch, y2: top + ch, stroke: '#adb5bd' }),
    h('text', { x: left - 4, y: top + 4, 'text-anchor': 'end', class: 'axis', text: fmt(max) }),
    h('text', { x: W - 32, y: top + 4, class: 'axis', text: '100%' })];
  const pts = [];
  buckets.forEach((b, i) => {
    const x = left + i * bw;
    const cw = Math.min(22, (bw - 8) / 2);
    const cx = x + bw / 2;
    for (const [j, k, c] of [[0, 'received', '#1c7ed6'], [1, 'closed', '#2f9e44']]) {
      const v = b.m[k];
      const rx = cx - cw + j * cw;
      out.push(h('g', { 'data-bucket': i, 'data-k': k, 'data-value': v },
        h('title', { text: `${b.label} ${t('m.' + k)}: ${fmt(v)}` }),
        h('rect', { x: rx, y: y(v), width: cw - 2, height: top + ch - y(v), fill: c, rx: 1 }),
        v ? h('text', { x: rx + (cw - 2) / 2, y: y(v) - 3, 'text-anchor': 'middle', class: 'val', text: fmt(v) }) : null));
    }
    if (b.m.closed) pts.push(`${cx},${top + ch - ch * b.m.on_time_rate}`);
    out.push(h('text', { x: cx, y: H - bottom + 14, 'text-anchor': 'middle', class: 'axis', text: b.label }));
  });
  if (pts.length > 1) out.push(h('polyline', { points: pts.join(' '), fill: 'none', stroke: '#f08c00', 'stroke-width': 2 }));
  for (const p of pts) {
    const [cx, cy] = p.split(',');
    out.push(h('circle', { cx, cy, r: 3, fill: '#f08c00' }));
  }
  const key = (x, c, k) => [h('rect', { x, y: H - 14, width: 10, height: 10, fill: c }), h('text', { x: x + 14, y: H - 5, class: 'axis', text: t(k) })];
  out.push(...key(left, '#1c7ed6', 'm.received'), ...key(left + 110, '#2f9e44', 'm.closed'), ...key(left + 220, '#f08c00', 'm.on_time_rate'));
  return h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart cols', role: 'img' }, out);
}

export function mountDashboard(root, ctx) {
  const st = { roots: [], names: {}, data: null, map: null, layer: null };
  const area = h('select', { id: 'dash-area' });
  const by = h('select', { id: 'dash-by' }, Object.keys(LEVEL_LAYERS).map((l) => h('option', { value: l, 'data-i18n': 'level.' + l, text: t('level.' + l) })));
  const period = h('select', { id: 'dash-period' }, PERIODS.map((n) => h('option', { value: n, selected: n === 30, text: t('dash.days', { n }) })));
  const metric = h('select', { id: 'dash-metric' }, METRICS.map((m) => h('option', { value: m.k, 'data-i18n': 'm.' + m.k, text: t('m.' + m.k) })));
  const lbl = (key, c) => h('label', {}, h('span', { 'data-i18n': key, text: t(key) }), c);
  const kpis = h('div', { id: 'dash-kpis', class: 'kpis' });
  const byArea = h('div', { id: 'dash-byarea', class: 'card chart-card' });
  const byPeriod = h('div', { id: 'dash-byperiod', class: 'card chart-card' });
  const mapTitle = h('h2');
  const mapLegend = h('div', { id: 'dash-legend', class: 'legend' });
  const mapEl = h('div', { id: 'dash-map' });
  const msg = h('div', { id: 'dash-msg' });
  root.replaceChildren(h('div', { class: 'dash' },
    h('form', { class: 'inline dash-controls' }, lbl('dash.area', area), lbl('dash.by', by), lbl('dash.period', period), lbl('dash.metric', metric),
      h('button', { type: 'submit', 'data-i18n': 'dash.refresh', text: t('dash.refresh') })),
    msg, kpis,
    h('div', { class: 'dash-grid' },
      h('div', { class: 'dash-charts' }, byArea, byPeriod),
      h('div', { class: 'card dash-mapcard' }, mapTitle, h('div', { class: 'gis-mapwrap' }, mapEl, mapLegend)))));

  async function areaNames(level) {
    if (st.names[level]) return st.names[level];
    const fc = await api(`/ogc/collections/${LEVEL_LAYERS[level] || 'districts'}/items?limit=10000&properties=code,name`);
    st.names[level] = Object.fromEntries(fc.features.map((f) => [f.properties.code, f.properties.name]));
    return st.names[level];
  }

  // roots: the principal's scope, or the districts of the coverage.
  async function loadRoots() {
    const scope = ctx.me?.scope || '';
    if (scope) {
      st.roots = [{ code: scope, name: scope }];
    } else {
      const names = await areaNames('district');
      st.roots = Object.entries(names).map(([code, name]) => ({ code, name }));
    }
    area.replaceChildren(...st.roots.map((r) => h('option', { value: r.code, text: `${r.name} ${r.code}` })));
    const len = area.value.length;
    for (const o of by.options) o.disabled = { street: 9, community: 12, grid: 15 }[o.value] <= len;
    if (by.selectedOptions[0]?.disabled) by.value = [...by.options].find((o) => !o.disabled)?.value || '';
  }

  async function load() {
    msg.replaceChildren();
    const days = Number(period.value);
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY);
    root.dataset.from = from.toISOString();
    root.dataset.to = to.toISOString();
    const q = (f, tt) => `area=${area.value}&from=${f.toISOString()}&to=${tt.toISOString()}`;
    const n = BUCKETS[days];
    const step = (to - from) / n;
    const bucketRanges = [...Array(n)].map((_, i) => [new Date(from.getTime() + i * step), new Date(from.getTime() + (i + 1) * step)]);
    try {
      const [total, breakdown, names, ...buckets] = await Promise.all([
        api(`/api/v1/metrics?${q(from, to)}`),
        api(`/api/v1/metrics?${q(from, to)}&by=${by.value}`),
        areaNames(by.value).catch(() => ({})),
        ...bucketRanges.map(([f, tt]) => api(`/api/v1/metrics?${q(f, tt)}`)),
      ]);
      st.data = { total: total.metrics[0], breakdown: breakdown.metrics, names, level: by.value,
        buckets: buckets.map((b, i) => ({ m: b.metrics[0], label: `${bucketRanges[i][0].getMonth() + 1}/${bucketRanges[i][0].getDate()}` })) };
      root.dataset.loaded = String(Date.now());
      render();
    } catch (e) {
      st.data = null;
      kpis.replaceChildren();
      byArea.replaceChildren();
      byPeriod.replaceChildren();
      msg.replaceChildren(h('p', { class: 'error', role: 'alert', text: e.status === 403 ? `${t('dash.noaccess')} (${e.message})` : e.message }));
    }
  }

  function render() {
    const d = st.data;
    if (!d) return;
    const m = metricOf(metric.value);
    kpis.replaceChildren(...['received', 'closed', 'on_time_rate', 'overdue', 'reworked', 'rework_rate', 'mean_handling_hours', 'verdicts', 'satisfaction_rate'].map((k) =>
      h('div', { class: 'kpi', 'data-k': k, 'data-value': d.total[k] },
        h('span', { class: 'kpi-v', text: k === 'mean_handling_hours' ? fmt(d.total[k], 1) : show(k, d.total[k]) }), h('span', { class: 'kpi-l', text: t('m.' + k) }))));
    const items = d.breakdown.map((x) => ({ id: x.area, label: d.names[x.area] || x.area, value: x[m.k] }))
      .sort((a, b) => b.value - a.value || a.id.localeCompare(b.id)).slice(0, 25);
    byArea.replaceChildren(h('h2', { text: t('dash.byarea', { metric: t('m.' + m.k), level: t('level.' + d.level) }) }),
      items.length ? bars(items, m) : h('p', { class: 'note', text: t('dash.none') }));
    byPeriod.replaceChildren(h('h2', { text: t('dash.byperiod') }), columns(d.buckets));
    mapTitle.textContent = t('dash.map', { metric: t('m.' + m.k) });
    paintMap().catch((e) => mapLegend.replaceChildren(h('p', { class: 'error', text: e.message })));
  }

  // ---- the map ----
  let ready;
  function mapReady() {
    if (ready) return ready;
    ready = (async () => {
      const style = await api('/tiles/style.json');
      const map = new maplibregl.Map({ container: mapEl, style, ...extentOptions(style), maxZoom: 18, attributionControl: { compact: true } });
      map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
      window.griddDashMap = map; // for the browser tests
      await new Promise((r) => (map.loaded() ? r() : map.once('load', r)));
      for (const id of ['grids-fill', 'communities-fill']) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', 'none');
      st.map = map;
      return map;
    })();
    ready.catch(() => (ready = null)); // try again next time
    return ready;
  }

  async function paintMap() {
    const d = st.data;
    const map = await mapReady();
    if (st.data !== d || !d) return;
    const m = metricOf(metric.value);
    const src = LEVEL_LAYERS[d.level];
    if (st.layer && st.layer !== src) {
      map.removeLayer('dash-fill');
      map.removeFeatureState({ source: st.layer, sourceLayer: st.layer });
    }
    const values = {};
    for (const code of Object.keys(d.names)) values[code] = 0; // areas without cases: 0
    for (const x of d.breakdown) values[x.area] = x[m.k];
    const max = m.rate ? 1 : Math.max(1, ...Object.values(values));
    map.removeFeatureState({ source: src, sourceLayer: src });
    for (const [code, v] of Object.entries(values)) map.setFeatureState({ source: src, sourceLayer: src, id: Number(code) }, { v });
    const fill = ['case', ['<', ['coalesce', ['feature-state', 'v'], -1], 0], 'rgba(0,0,0,0)',
      ['interpolate', ['linear'], ['feature-state', 'v'], 0, m.ramp[0], max, m.ramp[1]]];
    if (!map.getLayer('dash-fill')) {
      const before = map.getLayer('grids-line') ? 'grids-line' : undefined;
      map.addLayer({ id: 'dash-fill', type: 'fill', source: src, 'source-layer': src, paint: { 'fill-color': fill, 'fill-opacity': 0.8 } }, before);
    } else {
      map.setPaintProperty('dash-fill', 'fill-color', fill);
    }
    st.layer = src;
    mapLegend.replaceChildren(h('b', { text: t('m.' + m.k) }),
      h('div', { class: 'ramp', style: `background:linear-gradient(to right,${m.ramp[0]},${m.ramp[1]})` }),
      h('div', { class: 'ramp-l' }, h('span', { text: show(m.k, 0) }), h('span', { text: show(m.k, max) })));
    map.resize();
  }

  // An activation: the map shows the new generation, framed and credited
  // as it opens, with the chosen figures painted again.
  ctx.bus?.addEventListener('generation', async (e) => {
    const gen = Number(e.detail);
    const map = ready && (await ready.catch(() => null));
    if (!map || !gen) return; // a map made later opens on what is active then
    const style = await api(`/tiles/style.json?gen=${gen}`).catch(() => null);
    if (!style) return;
    map.once('style.load', () => {
      for (const id of ['grids-fill', 'communities-fill']) if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', 'none');
      const bounds = styleBounds(style);
      if (bounds) map.fitBounds(bounds, { padding: 30, duration: 0 });
      st.layer = null;
      paintMap();
    });
    map.setStyle(style, { diff: false });
  });

  root.querySelector('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  for (const el of [area, by, period]) el.addEventListener('change', load);
  metric.addEventListener('change', render);
  let started = false;
  ctx.bus?.addEventListener('view', async (e) => {
    if (e.detail !== 'dashboard') return;
    mapReady().then((m) => m.resize()).catch(() => {});
    if (started) return;
    started = true;
    try {
      await loadRoots();
    } catch (err) {
      msg.replaceChildren(h('p', { class: 'error', role: 'alert', text: err.message }));
      return;
    }
    load();
  });
  onLang(() => {
    for (const o of period.options) o.textContent = t('dash.days', { n: o.value });
    applyI18n(root);
    render();
  });
}
