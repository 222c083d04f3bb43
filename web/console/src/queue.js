// The incident queue next to the map: the caller's cases (the server
// scopes the list and the stream), kept live from the Server-Sent Events
// stream /api/v1/events — each event re-reads its case. Rows are coloured
// by deadline: green before 80 % of the time limit (the case's warn_at),
// yellow until the deadline, red once overdue. Filters by state, category
// and area; clicking a row opens the case drawer (case.js).
import { api } from './api.js';
import { addMessages, onLang, t } from './i18n.js';
import { h as el } from './el.js';
import { mountCase } from './case.js';
import { mountSummonsQueue } from './summonsqueue.js';

export const STATES = ['reported', 'registered', 'dispatched', 'accepted', 'extension_requested', 'returned',
  'handled', 'verified', 'suspended', 'closed', 'cancelled'];
const OPEN_STATES = STATES.filter((s) => s !== 'closed' && s !== 'cancelled');
// The states in which the time limit runs (geo.ClockStates).
const CLOCK_STATES = ['reported', 'registered', 'dispatched', 'accepted', 'extension_requested', 'returned'];

addMessages({
  zh: {
    'queue.title': '案件队列', 'queue.state': '状态', 'queue.category': '类别', 'queue.area': '区域',
    'queue.open': '在办', 'queue.all': '全部', 'queue.allcats': '全部类别', 'queue.anywhere': '全部区域', 'queue.clear': '清除',
    'queue.empty': '没有符合条件的案件', 'queue.live': '实时', 'queue.offline': '重连中…',
    'queue.left': '剩余 {t}', 'queue.over': '超期 {t}', 'queue.unassigned': '未分派',
    'due.ok': '正常', 'due.warn': '即将超期', 'due.overdue': '已超期',
    'dur.m': '{n}分钟', 'dur.h': '{n}小时', 'dur.d': '{n}天',
    'state.reported': '待受理', 'state.registered': '已立案', 'state.dispatched': '已派遣', 'state.accepted': '处置中',
    'state.extension_requested': '延期申请', 'state.returned': '已回退', 'state.handled': '待核查', 'state.verified': '已核查',
    'state.closed': '已结案', 'state.suspended': '挂账', 'state.cancelled': '已作废',
  },
  en: {
    'queue.title': 'Incident queue', 'queue.state': 'State', 'queue.category': 'Category', 'queue.area': 'Area',
    'queue.open': 'Open', 'queue.all': 'All', 'queue.allcats': 'All categories', 'queue.anywhere': 'Everywhere', 'queue.clear': 'Clear',
    'queue.empty': 'No cases match', 'queue.live': 'live', 'queue.offline': 'reconnecting…',
    'queue.left': '{t} left', 'queue.over': '{t} overdue', 'queue.unassigned': 'unassigned',
    'due.ok': 'on time', 'due.warn': 'due soon', 'due.overdue': 'overdue',
    'dur.m': '{n} min', 'dur.h': '{n} h', 'dur.d': '{n} d',
    'state.reported': 'Reported', 'state.registered': 'Registered', 'state.dispatched': 'Dispatched', 'state.accepted': 'In hand',
    'state.extension_requested': 'Extension asked', 'state.returned': 'Returned', 'state.handled': 'Handled', 'state.verified': 'Verified',
    'state.closed': 'Closed', 'state.suspended': 'Suspended', 'state.cancelled': 'Cancelled',
  },
});

// dueOf tells where a case is against its time limit: 'ok', 'warn' (past
// 80 %) or 'overdue', measured now while its clock runs, else when it was
// handled.
export function dueOf(inc, now = Date.now()) {
  const at = CLOCK_STATES.includes(inc.state) ? now : Date.parse(inc.handled_at || inc.closed_at || inc.updated_at);
  if (inc.alert === 'overdue' || at >= Date.parse(inc.deadline_at)) return 'overdue';
  if (at >= Date.parse(inc.warn_at)) return 'warn';
  return 'ok';
}

export function duration(ms) {
  const m = Math.max(1, Math.round(Math.abs(ms) / 60000));
  if (m < 60) return t('dur.m', { n: m });
  if (m < 48 * 60) return t('dur.h', { n: Math.round(m / 60) });
  return t('dur.d', { n: Math.round(m / 1440) });
}

// areaCode is the deepest code of a case's location ('' outside).
export function areaCode(inc) {
  const l = inc.location || {};
  return (l.grid || l.community || l.street || l.district || {}).code || '';
}


export function mountQueue(root, ctx) {
  if (!['admin', 'dispatcher', 'worker', 'viewer'].includes(ctx.me.role)) {
    root.hidden = true;
    return;
  }
  root.hidden = false;
  document.getElementById('view-map').classList.add('with-queue');
  mountCase(ctx);

  const filter = { state: 'open', category: '', area: '' };
  const cases = new Map(); // id → incident
  let categories = [];

  const count = el('span', { class: 'count', id: 'queue-count' });
  const live = el('span', { class: 'live', id: 'queue-live' });
  const stateSel = el('select', { id: 'queue-state' });
  const catSel = el('select', { id: 'queue-category' });
  const areaChip = el('span', { class: 'chip', id: 'queue-area' });
  const list = el('ol', { id: 'queue-list' });
  const heading = el('h2', {});
  const labels = { state: el('span', {}), category: el('span', {}), area: el('span', {}) };
  root.replaceChildren(
    el('header', {}, heading, count, live),
    el('div', { class: 'filters' },
      el('label', {}, labels.state, stateSel),
      el('label', {}, labels.category, catSel),
      el('div', { class: 'area' }, labels.area, areaChip)),
    list);

  function renderFilters() {
    heading.textContent = t('queue.title');
    labels.state.textContent = t('queue.state');
    labels.category.textContent = t('queue.category');
    labels.area.textContent = t('queue.area');
    stateSel.replaceChildren(el('option', { value: 'open' }, t('queue.open')), el('option', { value: '' }, t('queue.all')),
      ...STATES.map((s) => el('option', { value: s }, t('state.' + s))));
    stateSel.value = filter.state;
    catSel.replaceChildren(el('option', { value: '' }, t('queue.allcats')),
      ...categories.map((c) => el('option', { value: c.code }, `${c.name} ${c.code}`)));
    catSel.value = filter.category;
    areaChip.replaceChildren(filter.area ? el('code', {}, filter.area) : t('queue.anywhere'));
    if (filter.area) areaChip.append(' ', el('button', { type: 'button', class: 'link', id: 'queue-area-clear', onclick: () => setFilter({ area: '' }) }, t('queue.clear')));
  }

  const statesOf = () => (filter.state === 'open' ? OPEN_STATES : filter.state ? [filter.state] : STATES);
  const matches = (inc) => statesOf().includes(inc.state) && (!filter.category || inc.category === filter.category) &&
    (!filter.area || areaCode(inc).startsWith(filter.area));

  function row(inc) {
    const due = dueOf(inc);
    const left = Date.parse(inc.deadline_at) - Date.now();
    const where = inc.location?.grid ? `${inc.location.grid.name} ${inc.location.grid.code}` : inc.address || (inc.location?.district?.name ?? '');
    return el('li', { 'data-id': String(inc.id), 'data-state': inc.state, 'data-due': due, class: 'due-' + due, tabindex: '0',
      onclick: () => open(inc), onkeydown: (e) => { if (e.key === 'Enter') open(inc); } },
      el('div', { class: 'line1' }, el('strong', {}, `#${inc.id}`), ' ', inc.category_name,
        el('span', { class: 'state' }, t('state.' + inc.state))),
      el('div', { class: 'line2' }, where),
      el('div', { class: 'line3' },
        el('span', {}, inc.assignee ? inc.assignee.name : t('queue.unassigned')),
        el('span', { class: 'due', title: t('due.' + due) }, CLOCK_STATES.includes(inc.state) ? t(left >= 0 ? 'queue.left' : 'queue.over', { t: duration(left) }) : t('due.' + due))));
  }

  function render() {
    const rows = [...cases.values()].filter(matches).sort((a, b) => b.id - a.id);
    count.textContent = String(rows.length);
    list.replaceChildren(...(rows.length ? rows.map(row) : [el('li', { class: 'empty' }, t('queue.empty'))]));
  }

  function open(inc) {
    ctx.bus.dispatchEvent(new CustomEvent('incident-click', { detail: { id: inc.id, fly: true } }));
  }

  let loadSeq = 0;
  const touched = new Set(); // cases changed while a load was under way
  async function load() {
    const seq = ++loadSeq;
    touched.clear();
    const q = new URLSearchParams({ limit: '500', state: statesOf().join(',') });
    if (filter.category) q.set('category', filter.category);
    if (filter.area) q.set('area', filter.area);
    let body;
    try {
      body = await api('/api/v1/incidents?' + q);
    } catch (e) {
      list.replaceChildren(el('li', { class: 'empty' }, e.message));
      return;
    }
    if (seq !== loadSeq) return;
    cases.clear();
    for (const inc of body.incidents) cases.set(inc.id, inc);
    render();
    for (const id of touched) refreshOne(id); // the list may predate them
  }

  function setFilter(f) {
    Object.assign(filter, f);
    renderFilters();
    ctx.bus.dispatchEvent(new CustomEvent('incident-filter', {
      detail: { state: filter.state === 'open' ? '' : filter.state || STATES.join(','), category: filter.category, area: filter.area },
    }));
    load();
  }
  stateSel.addEventListener('change', () => setFilter({ state: stateSel.value }));
  catSel.addEventListener('change', () => setFilter({ category: catSel.value }));
  ctx.bus.addEventListener('filter-area', (e) => setFilter({ area: e.detail.area || '' }));

  // One case changed: read it again (it may have left the caller's view).
  const latest = new Map(); // id → newest version seen, against reordered answers
  async function refreshOne(id) {
    touched.add(id);
    let inc = null;
    try {
      inc = await api('/api/v1/incidents/' + id);
    } catch {
      // gone from view (scope, a worker's reassigned case)
    }
    if (inc && (latest.get(id) ?? 0) > inc.version) return;
    if (inc) latest.set(id, inc.version);
    if (inc && matches(inc)) cases.set(id, inc);
    else cases.delete(id);
    render();
    ctx.bus.dispatchEvent(new CustomEvent('incident-updated', { detail: { id, incident: inc } }));
  }

  // Events come in bursts (a scheduler pass, a busy hour): the cases
  // changed within 50 ms are read together, and a big burst reloads the
  // list in one request instead.
  const pending = new Set();
  let flushTimer = null;
  function flush() {
    flushTimer = null;
    const ids = [...pending];
    pending.clear();
    if (ids.length > 30) {
      load();
      for (const id of ids) ctx.bus.dispatchEvent(new CustomEvent('incident-updated', { detail: { id } }));
    } else for (const id of ids) refreshOne(id);
    ctx.bus.dispatchEvent(new Event('incidents-changed'));
  }

  // The live stream. EventSource reconnects by itself and sends
  // Last-Event-ID, so the server replays what was missed.
  function connect() {
    const es = new EventSource('/api/v1/events');
    let broken = false;
    es.addEventListener('open', () => {
      live.textContent = '● ' + t('queue.live');
      live.className = 'live on';
      if (broken) load(); // a long outage may outrun the replay
      broken = false;
    });
    es.addEventListener('error', () => {
      broken = true;
      live.textContent = t('queue.offline');
      live.className = 'live off';
    });
    es.addEventListener('incident', (m) => {
      const ev = JSON.parse(m.data);
      pending.add(ev.incident_id);
      if (!flushTimer) flushTimer = setTimeout(flush, 50);
      ctx.bus.dispatchEvent(new CustomEvent('incident-event', { detail: ev }));
    });
    // An activation anywhere (this console, another, the CLI): the maps
    // follow it to its extent and attribution.
    es.addEventListener('generation', (m) => {
      const { generation } = JSON.parse(m.data);
      if (generation) ctx.bus.dispatchEvent(new CustomEvent('generation', { detail: generation }));
    });
  }

  // Colours move with the clock.
  setInterval(render, 30000);
  onLang(() => {
    renderFilters();
    render();
    live.textContent = live.classList.contains('on') ? '● ' + t('queue.live') : t('queue.offline');
  });

  renderFilters();
  connect();
  load();
  mountSummonsQueue(root, ctx);
  api('/api/v1/categories').then((b) => {
    categories = b.categories;
    renderFilters();
  }).catch(() => {});
}
