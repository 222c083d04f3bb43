// Grid sizes in the GIS workspace (issue 13 §3): the size rules and the
// rebalance switch of the merge form, and the households-per-grid
// histogram of a merge report (before and after a rebalance) with the
// grids the rebalance could not bring in range. A leaf module: gis.js
// imports it, it imports only the shared helpers.
import { addMessages, t } from './i18n.js';
import { fmt, h } from './el.js';

addMessages({
  zh: {
    'size.rules': '规模规则（户）',
    'size.grid': '网格',
    'size.community': '社区',
    'size.min': '下限',
    'size.max': '上限',
    'size.rebalance': '按楼栋户数拆分/合并网格（草稿）',
    'size.title': '每个网格的户数',
    'size.source.data': '来自楼栋数据',
    'size.source.attribute': '来自部门属性',
    'size.before': '调整前',
    'size.after': '调整后',
    'size.summary': '网格超上限 {over}，低于下限 {under}；社区超上限 {cover}，低于下限 {cunder}',
    'size.done': '拆分 {split} 个网格，合并 {joined} 个',
    'size.unsolved': '未能调整',
    'size.range': '户数',
    'size.grids': '网格数',
  },
  en: {
    'size.rules': 'Size rules (households)',
    'size.grid': 'Grid',
    'size.community': 'Community',
    'size.min': 'min',
    'size.max': 'max',
    'size.rebalance': 'Rebalance: split and join grids by their buildings’ households (a draft)',
    'size.title': 'Households per grid',
    'size.source.data': 'counted from buildings',
    'size.source.attribute': 'from department attributes',
    'size.before': 'before',
    'size.after': 'after',
    'size.summary': 'Grids over the rule {over}, under {under}; communities over {cover}, under {cunder}',
    'size.done': '{split} grids split, {joined} joined',
    'size.unsolved': 'Not brought in range',
    'size.range': 'Households',
    'size.grids': 'Grids',
  },
});

const num = (name, ph) => h('input', { name, type: 'number', step: '1', min: '0', placeholder: ph, class: 'size-num' });

// sizeFields is the merge form's size part: min and max per level, and
// the rebalance switch.
export function sizeFields() {
  const pair = (key, prefix, lo, hi) => h('label', { class: 'size-pair' },
    h('span', { 'data-i18n': key, text: t(key) }),
    num(prefix + '_min', lo), '–', num(prefix + '_max', hi));
  return h('fieldset', { class: 'wide sizes', id: 'gis-sizes' },
    h('legend', { 'data-i18n': 'size.rules', text: t('size.rules') }),
    pair('size.grid', 'grid_households', '300', '500'),
    pair('size.community', 'community_households', '3000', '5000'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'rebalance', id: 'gis-rebalance' }), ' ',
      h('span', { 'data-i18n': 'size.rebalance', text: t('size.rebalance') })));
}

// sizeBody adds the size part of the form to a merge request body; an
// empty pair keeps the server's default.
export function sizeBody(form, body) {
  const f = form.elements;
  for (const k of ['grid_households', 'community_households']) {
    const lo = f[k + '_min'].value, hi = f[k + '_max'].value;
    if (lo !== '' || hi !== '') body[k] = { min: Number(lo || 0), max: Number(hi || 0) };
  }
  if (f.rebalance.checked) body.rebalance = true;
  return body;
}

// renderSizes draws a report's households-per-grid histogram: one row per
// bin, the bar before (when the merge rebalanced) above the bar after;
// bins outside the grid rule are marked.
export function renderSizes(s) {
  if (!s) return null;
  const before = s.before || [];
  const after = s.after || [];
  const bins = after.length >= before.length ? after : before; // both start at 0, one bar width
  const top = Math.max(1, ...before.map((b) => b.grids), ...after.map((b) => b.grids));
  const bar = (b, cls) => h('div', { class: 'bar ' + cls, style: `width:${(100 * (b?.grids || 0)) / top}%`, title: fmt(b?.grids || 0) });
  const rule = s.grid_households || {};
  const rows = bins.map((b, i) => {
    const out = b.to <= rule.min || b.from > rule.max;
    return h('tr', { 'data-from': b.from, 'data-to': b.to, class: out ? 'out' : '' },
      h('th', { text: `${fmt(b.from)}–${fmt(b.to)}` }),
      h('td', { class: 'bars' }, before.length ? bar(before[i], 'before') : null, bar(after[i], 'after')),
      h('td', { class: 'n', text: before.length ? `${fmt(before[i]?.grids || 0)} → ${fmt(after[i]?.grids || 0)}` : fmt(after[i]?.grids || 0) }));
  });
  const parts = [
    h('h3', { text: `${t('size.title')} (${t('size.source.' + (s.source || 'attribute'))})` }),
    h('p', { id: 'gis-size-summary', text: t('size.summary', { over: s.grids_over, under: s.grids_under, cover: s.communities_over, cunder: s.communities_under }) }),
  ];
  if (before.length) {
    parts.push(h('p', { id: 'gis-size-done', class: 'ok', text: t('size.done', { split: s.grids_split || 0, joined: s.grids_joined || 0 }) }));
    parts.push(h('p', { class: 'legend-line' }, h('span', { class: 'swatch before' }), ' ', t('size.before'), '  ', h('span', { class: 'swatch after' }), ' ', t('size.after')));
  }
  parts.push(h('table', { class: 'tbl histogram', id: 'gis-histogram' },
    h('thead', {}, h('tr', {}, h('th', { text: t('size.range') }), h('th', {}), h('th', { text: t('size.grids') }))),
    h('tbody', {}, rows)));
  if (s.unsolved?.length) {
    parts.push(h('details', { id: 'gis-size-unsolved' }, h('summary', { text: `${t('size.unsolved')} (${s.unsolved.length})` }),
      h('ul', {}, s.unsolved.map((u) => h('li', { text: u })))));
  }
  return h('section', { id: 'gis-size', class: 'sizes-report' }, ...parts);
}
