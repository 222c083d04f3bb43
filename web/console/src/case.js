// The case drawer: one case's details and history, and the actions the
// signed-in user may take on it now (the API's allowed_actions: the
// server decides by role and state), posted to
// /api/v1/incidents/{id}/transitions at the version shown — a conflict
// reloads the case. Opened by 'incident-click' {id, fly} on ctx.bus;
// refreshed by 'incident-updated' for its case.
import { api } from './api.js';
import { addMessages, onLang, t } from './i18n.js';
import { h as el } from './el.js';
import { dueOf, duration } from './queue.js';
import { duplicatesSection, loadDuplicates } from './duplicates.js';
import { loadVerdict, verdictSection } from './verdict.js';
import { loadSummons, summonsSection } from './summons.js';

addMessages({
  zh: {
    'case.title': '案件 #{id}', 'case.close': '关闭', 'case.category': '类别', 'case.where': '位置', 'case.address': '地址',
    'case.description': '描述', 'case.source': '来源', 'case.reporter': '上报人', 'case.dept': '责任部门', 'case.assignee': '处置人',
    'case.reason': '分派依据', 'case.supervisor': '督办人', 'case.limit': '处置时限', 'case.warn': '预警时间', 'case.deadline': '截止时间',
    'case.created': '上报时间', 'case.history': '处理过程', 'case.actions': '办理', 'case.note': '意见', 'case.to': '派遣给',
    'case.auto': '按规则自动分派', 'case.suggested': '（建议）', 'case.hours': '延期（工作小时）', 'case.none': '当前角色无可办理操作',
    'case.rework': '返工 {n} 次', 'case.escalations': '督办 {n} 次',
    'limit.work_hours': '{n} 工作小时', 'limit.work_days': '{n} 个工作日', 'limit.hours': '{n} 小时',
    'source.grid_worker': '网格员', 'source.hotline': '热线', 'source.camera': '视频', 'source.app': '应用', 'source.open311': 'Open311', 'source.api': '接口',
    'action.register': '立案', 'action.cancel': '作废', 'action.dispatch': '派遣', 'action.accept': '签收', 'action.return': '回退',
    'action.request_extension': '申请延期', 'action.approve_extension': '批准延期', 'action.reject_extension': '驳回延期',
    'action.handle': '处置反馈', 'action.verify': '核查通过', 'action.rework': '核查不通过', 'action.close': '结案',
    'action.suspend': '挂账', 'action.resume': '恢复', 'action.report': '上报', 'action.approaching': '临近时限',
    'action.overdue': '超期', 'action.escalate': '超时督办',
    'role.grid_chief': '网格长', 'role.full_time': '专职网格员', 'role.part_time': '兼职网格员', 'role.police': '社区民警',
    'role.chengguan': '城管队员', 'role.market': '市场监管员', 'role.community_supervisor': '社区督办人',
    'role.street_supervisor': '街道督办人', 'role.district_supervisor': '区督办人', 'role.dept_supervisor': '部门督办人', 'role.operator': '指挥中心值班员', 'role.system': '系统',
  },
  en: {
    'case.title': 'Case #{id}', 'case.close': 'Close', 'case.category': 'Category', 'case.where': 'Location', 'case.address': 'Address',
    'case.description': 'Description', 'case.source': 'Source', 'case.reporter': 'Reporter', 'case.dept': 'Department', 'case.assignee': 'Handler',
    'case.reason': 'Routing', 'case.supervisor': 'Supervisor', 'case.limit': 'Time limit', 'case.warn': 'Warning at', 'case.deadline': 'Deadline',
    'case.created': 'Reported', 'case.history': 'History', 'case.actions': 'Actions', 'case.note': 'Note', 'case.to': 'Dispatch to',
    'case.auto': 'Route by the rules', 'case.suggested': ' (suggested)', 'case.hours': 'Extension (working hours)', 'case.none': 'Nothing your role may do now',
    'case.rework': 'reworked {n}×', 'case.escalations': 'escalated {n}×',
    'limit.work_hours': '{n} working hours', 'limit.work_days': '{n} working days', 'limit.hours': '{n} hours',
    'source.grid_worker': 'grid worker', 'source.hotline': 'hotline', 'source.camera': 'camera', 'source.app': 'app', 'source.open311': 'Open311', 'source.api': 'API',
    'action.register': 'Register', 'action.cancel': 'Cancel', 'action.dispatch': 'Dispatch', 'action.accept': 'Accept', 'action.return': 'Return',
    'action.request_extension': 'Ask for more time', 'action.approve_extension': 'Approve extension', 'action.reject_extension': 'Reject extension',
    'action.handle': 'Report handled', 'action.verify': 'Verify', 'action.rework': 'Send back', 'action.close': 'Close case',
    'action.suspend': 'Suspend', 'action.resume': 'Resume', 'action.report': 'Reported', 'action.approaching': 'Deadline near',
    'action.overdue': 'Overdue', 'action.escalate': 'Escalated',
    'role.grid_chief': 'grid chief', 'role.full_time': 'full-time grid worker', 'role.part_time': 'part-time grid worker', 'role.police': 'community police',
    'role.chengguan': 'city inspector', 'role.market': 'market inspector', 'role.community_supervisor': 'community supervisor',
    'role.street_supervisor': 'street supervisor', 'role.district_supervisor': 'district supervisor', 'role.dept_supervisor': 'department supervisor', 'role.operator': 'centre operator', 'role.system': 'system',
  },
});

const HANDLER_ROLES = ['grid_chief', 'full_time', 'part_time', 'police', 'chengguan', 'market'];
const WITH_ASSIGNEE = ['dispatch', 'resume'];


const when = (s) => (s ? new Date(s).toLocaleString(document.documentElement.lang) : '');

export function mountCase(ctx) {
  const drawer = el('aside', { id: 'case', hidden: true, 'aria-live': 'polite' });
  document.getElementById('view-map').append(drawer);
  let inc = null;
  let events = [];
  let dups = null; // the case's possible duplicates (duplicates.js)
  let verdict = null; // the reporter's verdict (verdict.js)
  let summons = null; // the departments summoned (summons.js)
  let people = null; // candidates for dispatch, loaded once per case
  let error = '';
  let busy = false;

  // Each opening is numbered: only the latest one renders, so a refresh of
  // the case on screen that the stream triggers cannot land after, and
  // undo, the opening of another case (a merge opens the surviving case
  // while the stream announces the merged one).
  let opening = 0;
  let wanted = null; // the case being opened or shown
  async function openCase(id, { fly = false } = {}) {
    const mine = ++opening;
    wanted = id;
    if (!inc || inc.id !== id) {
      people = null;
      error = '';
    }
    try {
      const got = await Promise.all([api('/api/v1/incidents/' + id), api(`/api/v1/incidents/${id}/events`).then((b) => b.events),
        loadDuplicates(id), loadSummons(id)]);
      const v = got[1].some((e) => e.action === 'verdict') ? await loadVerdict(got[0]) : null;
      if (mine !== opening) return;
      [inc, events, dups, summons] = got;
      verdict = v;
    } catch (e) {
      if (mine !== opening) return;
      inc = null;
      drawer.replaceChildren(el('p', { role: 'alert' }, e.message));
      drawer.hidden = false;
      return;
    }
    if ((inc.allowed_actions || []).some((a) => WITH_ASSIGNEE.includes(a)) && people === null) await loadPeople();
    if (mine !== opening) return;
    render();
    drawer.hidden = false;
    ctx.bus.dispatchEvent(new CustomEvent('incident-open', { detail: { id } }));
    if (fly && ctx.map) ctx.map.easeTo({ center: [inc.lon, inc.lat], zoom: Math.max(ctx.map.getZoom(), 14), duration: 300 });
  }

  // Whom a case may be dispatched to: the handlers responsible on its
  // community (its grids included), the routed assignee first.
  async function loadPeople() {
    const loc = inc.location || {};
    const area = (loc.community || loc.street || loc.district || {}).code || '';
    people = [];
    try {
      const body = await api('/api/v1/people' + (area ? '?area=' + area : ''));
      people = body.people.filter((p) => p.active && p.responsibilities.some((r) => HANDLER_ROLES.includes(r.role)));
    } catch {
      // no candidates: the rules decide
    }
  }

  function closeDrawer() {
    drawer.hidden = true;
    inc = null;
    wanted = null;
    opening++; // an opening under way no longer shows
    ctx.bus.dispatchEvent(new CustomEvent('incident-open', { detail: { id: null } }));
  }

  function field(label, ...value) {
    return [el('dt', {}, t(label)), el('dd', {}, ...value)];
  }

  function actionForm() {
    const allowed = inc.allowed_actions || [];
    const sec = el('section', { class: 'actions' }, el('h3', {}, t('case.actions')));
    if (!allowed.length) {
      sec.append(el('p', { class: 'muted' }, t('case.none')));
      return sec;
    }
    const form = el('form', { id: 'case-form' });
    if (allowed.some((a) => WITH_ASSIGNEE.includes(a))) {
      const sel = el('select', { id: 'case-assignee', name: 'assignee' });
      const suggested = inc.assignee?.id;
      sel.append(el('option', { value: '' }, t('case.auto')));
      const list = [...(people || [])];
      if (suggested && !list.some((p) => p.id === suggested)) list.unshift({ id: suggested, name: inc.assignee.name, responsibilities: [{ role: inc.assignee.role, code: inc.assignee.code, post: inc.assignee.post || 'A' }] });
      list.sort((a, b) => (b.id === suggested) - (a.id === suggested));
      for (const p of list) {
        const r = p.responsibilities.find((x) => HANDLER_ROLES.includes(x.role)) || p.responsibilities[0] || {};
        sel.append(el('option', { value: String(p.id) },
          `${p.name} · ${t('role.' + r.role)} · ${r.code || ''}${r.post ? ' · ' + t('post.' + r.post) : ''}${p.id === suggested ? t('case.suggested') : ''}`));
      }
      sel.value = suggested ? String(suggested) : '';
      form.append(el('label', {}, t('case.to'), sel));
    }
    if (allowed.includes('request_extension')) {
      form.append(el('label', {}, t('case.hours'), el('input', { id: 'case-hours', type: 'number', min: '1', max: '2000', step: '1', value: '8' })));
    }
    form.append(el('label', {}, t('case.note'), el('textarea', { id: 'case-note', rows: '2', maxlength: '2000' })));
    const buttons = el('div', { class: 'buttons' });
    for (const a of allowed) {
      buttons.append(el('button', { type: 'button', 'data-action': a, class: ['cancel', 'rework', 'return', 'reject_extension'].includes(a) ? 'secondary' : 'primary',
        disabled: busy, onclick: () => act(a) }, t('action.' + a)));
    }
    form.append(buttons);
    if (error) form.append(el('p', { role: 'alert', class: 'error' }, error));
    sec.append(form);
    return sec;
  }

  async function act(action) {
    const body = { action, version: inc.version, note: drawer.querySelector('#case-note')?.value || '' };
    if (WITH_ASSIGNEE.includes(action)) {
      const v = drawer.querySelector('#case-assignee')?.value;
      if (v) body.assignee_id = Number(v);
    }
    if (action === 'request_extension') body.extend_hours = Number(drawer.querySelector('#case-hours')?.value || 0);
    busy = true;
    error = '';
    render();
    try {
      inc = await api(`/api/v1/incidents/${inc.id}/transitions`, { method: 'POST', body });
    } catch (e) {
      error = e.message;
    }
    busy = false;
    await openCase(inc.id); // the history and a fresh version, conflict or not
  }

  function render() {
    if (!inc) return;
    const due = dueOf(inc);
    const loc = inc.location || {};
    const chain = ['district', 'street', 'community', 'grid'].filter((l) => loc[l]).map((l) => loc[l]);
    const where = chain.length
      ? chain.map((a, i) => [i ? ' › ' : '', el('a', { href: '#', onclick: (e) => { e.preventDefault(); ctx.bus.dispatchEvent(new CustomEvent('select-area', { detail: { code: a.code } })); } }, a.name)]).flat()
      : [t('panel.outside')];
    if (loc.grid) where.push(' ', el('code', {}, loc.grid.code));
    const a = inc.assignee;
    const dl = el('dl', {},
      ...field('case.category', `${inc.category_name} `, el('code', {}, inc.category)),
      ...field('case.where', ...where),
      ...(inc.address ? field('case.address', inc.address) : []),
      ...(inc.description ? field('case.description', inc.description) : []),
      ...field('case.source', t('source.' + inc.source)),
      ...(inc.reporter?.name || inc.reporter?.phone ? field('case.reporter', [inc.reporter.name, inc.reporter.phone].filter(Boolean).join(' ')) : []),
      ...field('case.dept', inc.dept_name),
      ...field('case.assignee', a ? `${a.name} · ${t('role.' + a.role)}${a.post ? ' · ' + t('post.' + a.post) : ''} · ${t('level.' + a.level)} ${a.code}` : t('queue.unassigned'),
        a?.phone ? el('span', { class: 'muted' }, ' ' + a.phone) : null),
      ...(inc.assign_reason ? field('case.reason', el('small', {}, inc.assign_reason)) : []),
      ...(inc.supervisor ? field('case.supervisor', `${inc.supervisor.name} · ${t('role.' + inc.supervisor.role)}`) : []),
      ...field('case.limit', t('limit.' + inc.limit.unit, { n: inc.limit.value }),
        inc.rework_count ? el('span', { class: 'muted' }, ' · ' + t('case.rework', { n: inc.rework_count })) : null,
        inc.escalations ? el('span', { class: 'muted' }, ' · ' + t('case.escalations', { n: inc.escalations })) : null),
      ...field('case.warn', when(inc.warn_at)),
      ...field('case.deadline', when(inc.deadline_at)),
      ...field('case.created', when(inc.created_at)));
    const left = Date.parse(inc.deadline_at) - Date.now();
    const history = el('ol', { class: 'history', id: 'case-history' });
    for (const e of events) {
      history.append(el('li', { 'data-action': e.action },
        el('time', {}, when(e.at)), ' ', el('strong', {}, t('action.' + e.action)),
        e.from_state ? el('span', { class: 'muted' }, ` ${t('state.' + e.from_state)} → ${t('state.' + e.to_state)}`) : null,
        el('div', {}, e.actor, e.role ? ` (${t('role.' + e.role)})` : '', e.note ? el('q', {}, e.note) : null)));
    }
    drawer.replaceChildren(...[ // sections that have nothing to show are null
      el('header', {},
        el('h2', {}, t('case.title', { id: inc.id })),
        el('span', { class: 'state', id: 'case-state', 'data-state': inc.state }, t('state.' + inc.state)),
        el('span', { class: 'due due-' + due }, ['closed', 'cancelled'].includes(inc.state) ? t('due.' + due)
          : t(left >= 0 ? 'queue.left' : 'queue.over', { t: duration(left) })),
        el('button', { type: 'button', class: 'x', 'aria-label': t('case.close'), onclick: closeDrawer }, '×')),
      dl,
      actionForm(),
      duplicatesSection(inc, dups, (id) => openCase(id, { fly: true })),
      verdictSection(inc, verdict),
      summonsSection(inc, summons, ctx.me, () => openCase(inc.id)),
      el('section', {}, el('h3', {}, t('case.history')), history)].filter(Boolean));
  }

  ctx.bus.addEventListener('incident-click', (e) => openCase(e.detail.id, { fly: e.detail.fly }));
  ctx.bus.addEventListener('incident-updated', (e) => {
    if (inc && e.detail.id === wanted && e.detail.id === inc.id && !busy && (!e.detail.incident || e.detail.incident.version !== inc.version)) openCase(inc.id);
  });
  onLang(render);
}
