// Disputed borders (插花地, issue 17 §4) in the GIS workspace: the pieces of
// overlaps and gaps between admin areas that a merge gave to one of several
// areas, each with its areas, size and the rule that decided, and the
// GIS staff's decision — confirm, reassign to another of its areas, or hand
// it over from a date (属地移交). A leaf module: gis.js imports it, it
// imports only the shared helpers.
import { api } from './api.js';
import { addMessages, t } from './i18n.js';
import { fmt, h } from './el.js';

addMessages({
  zh: {
    'disp.title': '插花地与争议边界',
    'disp.summary': '共 {total} 处，待处理 {open} 处',
    'disp.none': '本次合并没有争议边界',
    'disp.areas': '涉及区域',
    'disp.given': '划归',
    'disp.rule': '依据',
    'disp.state': '状态',
    'disp.to': '改划给',
    'disp.date': '移交日期',
    'disp.show': '定位',
    'disp.confirm': '确认',
    'disp.reassign': '改划',
    'disp.transfer': '移交',
    'disp.remerge': '需重新合并后生效',
    'disp.state.open': '待处理',
    'disp.state.confirmed': '已确认',
    'disp.state.reassigned': '已改划',
    'disp.state.transferred': '已移交',
    'disp.state.transfer_pending': '待移交',
    'disp.rule.home': '主体所在',
    'disp.rule.larger_share': '覆盖较多',
    'disp.rule.longer_border': '接壤较长',
    'disp.rule.smaller_code': '编码较小',
    'disp.rule.longest_border': '接壤最长',
    'disp.rule.only_neighbour': '唯一相邻',
    'disp.rule.decision': '既有裁定',
    'disp.kind.overlap': '重叠',
    'disp.kind.gap': '空隙',
  },
  en: {
    'disp.title': 'Disputed borders (插花地)',
    'disp.summary': '{total} in all, {open} open',
    'disp.none': 'This merge left no disputed border',
    'disp.areas': 'Areas',
    'disp.given': 'Given to',
    'disp.rule': 'Rule',
    'disp.state': 'State',
    'disp.to': 'Reassign to',
    'disp.date': 'Transfer on',
    'disp.show': 'Show',
    'disp.confirm': 'Confirm',
    'disp.reassign': 'Reassign',
    'disp.transfer': 'Transfer',
    'disp.remerge': 'applies from the next merge',
    'disp.state.open': 'open',
    'disp.state.confirmed': 'confirmed',
    'disp.state.reassigned': 'reassigned',
    'disp.state.transferred': 'transferred',
    'disp.state.transfer_pending': 'transfer pending',
    'disp.rule.home': 'at home there',
    'disp.rule.larger_share': 'larger share',
    'disp.rule.longer_border': 'longer border',
    'disp.rule.smaller_code': 'smaller code',
    'disp.rule.longest_border': 'longest border',
    'disp.rule.only_neighbour': 'only neighbour',
    'disp.rule.decision': 'standing decision',
    'disp.kind.overlap': 'overlap',
    'disp.kind.gap': 'gap',
  },
});

// disputesBox is the section listing generation gen's disputes; onShow
// (bbox) zooms the review map to a piece. mayEdit: the caller may decide.
export function disputesBox(gen, { mayEdit, onShow }) {
  const box = h('section', { id: 'gis-disputes', 'data-gen': gen });
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  let list = [];

  const stateText = (d) => t('disp.state.' + d.state) +
    (d.decision && !d.applied && d.state !== 'transfer_pending' ? ` · ${t('disp.remerge')}` : '') +
    (d.state === 'transfer_pending' ? ` · ${d.decision.effective_on}` : '');

  function row(d) {
    const to = h('select', { class: 'disp-to', 'aria-label': t('disp.to') },
      d.areas.filter((a) => a !== d.given_to).map((a) => h('option', { value: a, text: a })));
    const date = h('input', { type: 'date', class: 'disp-date', 'aria-label': t('disp.date') });
    const act = (action) => h('button', { type: 'button', class: 'small', 'data-action': action, text: t('disp.' + action),
      onclick: () => decide(d, action, to.value, date.value) });
    const actions = mayEdit ? [act('confirm'), to, act('reassign'), date, act('transfer')] : [];
    return h('tr', { 'data-id': d.id, 'data-state': d.state, 'data-applied': String(d.applied), 'data-level': d.level },
      h('td', { text: `${t('level.' + d.level)} · ${t('disp.kind.' + d.kind)}` }),
      h('td', {}, h('b', { text: d.given_to }), d.areas.length > 1 ? ' / ' + d.areas.slice(1).join(', ') : ''),
      h('td', { class: 'n', text: fmt(d.area_m2) }),
      h('td', { text: t('disp.rule.' + d.rule) }),
      h('td', { class: 'disp-state', text: stateText(d) }),
      h('td', { class: 'disp-actions' },
        d.bbox ? h('button', { type: 'button', class: 'small', 'data-action': 'show', text: t('disp.show'), onclick: () => onShow?.(d.bbox) }) : null,
        ...actions));
  }

  function render() {
    const open = list.filter((d) => d.state === 'open').length;
    box.replaceChildren(h('h3', { text: t('disp.title') }),
      h('p', { id: 'gis-disputes-summary', 'data-total': list.length, 'data-open': open,
        text: list.length ? t('disp.summary', { total: list.length, open }) : t('disp.none') }),
      list.length ? h('table', { class: 'tbl', id: 'gis-disputes-table' },
        h('thead', {}, h('tr', {}, ['col.level', 'disp.areas', 'gis.piece.area', 'disp.rule', 'disp.state', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
        h('tbody', {}, list.map(row))) : null,
      status);
  }

  async function decide(d, action, to, date) {
    const body = { action };
    if (action !== 'confirm') body.to = to;
    if (action === 'transfer') body.effective_on = date;
    try {
      const got = await api(`/api/v1/disputes/${d.id}/resolution`, { method: 'POST', body });
      list = list.map((x) => (x.id === got.id ? got : x));
      status.textContent = '';
      render();
    } catch (e) {
      status.textContent = e.message || String(e);
      status.className = 'status error';
    }
  }

  (async () => {
    try {
      list = (await api(`/api/v1/generations/${gen}/disputes`)).disputes || [];
      render();
    } catch (e) {
      box.replaceChildren(h('p', { class: 'error', role: 'alert', text: e.message || String(e) }));
    }
  })();
  return box;
}
