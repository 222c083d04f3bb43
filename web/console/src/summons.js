// The case drawer's 吹哨报到 (issue 17 §1): the departments summoned on the
// case, each with its state, person, deadline and whether it is late; for
// the centre, a form to summon more. A leaf of case.js (and of
// summonsqueue.js, which shares the labels).
import { api } from './api.js';
import { addMessages, t } from './i18n.js';
import { h as el } from './el.js';

addMessages({
  zh: {
    'summons.title': '吹哨报到', 'summons.none': '尚未吹哨', 'summons.task': '任务', 'summons.summon': '吹哨',
    'summons.pick': '请选择要吹哨的部门', 'summons.late': '逾期', 'summons.until': '期限 {t}', 'summons.unassigned': '待指派',
    'summons.queue': '部门吹哨任务', 'summons.note': '说明', 'summons.case': '案件 {id}',
    'sstate.dispatched': '待报到', 'sstate.accepted': '已报到', 'sstate.extension_requested': '延期申请', 'sstate.returned': '已退回',
    'sstate.handled': '已办结', 'sstate.cancelled': '已撤销',
    'saction.accept': '报到', 'saction.return': '退回', 'saction.request_extension': '申请延期', 'saction.approve_extension': '批准延期',
    'saction.reject_extension': '驳回延期', 'saction.handle': '办结', 'saction.rework': '返工', 'saction.redispatch': '改派', 'saction.cancel': '撤销',
    'action.summon': '吹哨', 'action.summons_accept': '部门报到', 'action.summons_return': '部门退回', 'action.summons_request_extension': '部门申请延期',
    'action.summons_approve_extension': '部门延期批准', 'action.summons_reject_extension': '部门延期驳回', 'action.summons_handle': '部门办结',
    'action.summons_rework': '部门返工', 'action.summons_redispatch': '部门改派', 'action.summons_cancel': '撤销吹哨',
    'action.summons_approaching': '部门任务即将超期', 'action.summons_overdue': '部门任务超期', 'action.summons_escalate': '部门任务督办',
  },
  en: {
    'summons.title': 'Departments summoned', 'summons.none': 'No department summoned', 'summons.task': 'Task', 'summons.summon': 'Summon',
    'summons.pick': 'Choose the departments to summon', 'summons.late': 'late', 'summons.until': 'due {t}', 'summons.unassigned': 'unassigned',
    'summons.queue': 'Department summons', 'summons.note': 'Note', 'summons.case': 'case {id}',
    'sstate.dispatched': 'Summoned', 'sstate.accepted': 'Reported', 'sstate.extension_requested': 'Extension asked', 'sstate.returned': 'Returned',
    'sstate.handled': 'Done', 'sstate.cancelled': 'Cancelled',
    'saction.accept': 'Report', 'saction.return': 'Return', 'saction.request_extension': 'Ask for time', 'saction.approve_extension': 'Grant time',
    'saction.reject_extension': 'Refuse time', 'saction.handle': 'Done', 'saction.rework': 'Rework', 'saction.redispatch': 'Redispatch', 'saction.cancel': 'Cancel',
    'action.summon': 'Summoned', 'action.summons_accept': 'Department reported', 'action.summons_return': 'Department returned', 'action.summons_request_extension': 'Department asked for time',
    'action.summons_approve_extension': 'Department time granted', 'action.summons_reject_extension': 'Department time refused', 'action.summons_handle': 'Department done',
    'action.summons_rework': 'Department rework', 'action.summons_redispatch': 'Department redispatched', 'action.summons_cancel': 'Summons cancelled',
    'action.summons_approaching': 'Department due soon', 'action.summons_overdue': 'Department overdue', 'action.summons_escalate': 'Department escalated',
  },
});

// Case states in which departments can be summoned (geo.SummonableStates).
const SUMMONABLE = ['registered', 'dispatched', 'accepted', 'extension_requested', 'returned', 'handled'];
let departments = null;

// loadSummons reads a case's summons and, once, the departments; nulls
// when the server has no summons (or the caller may not see them).
export async function loadSummons(id) {
  try {
    const [list, depts] = await Promise.all([api(`/api/v1/incidents/${id}/summons`).then((b) => b.summons),
      departments ? Promise.resolve(departments) : api('/api/v1/departments').then((b) => b.departments)]);
    departments = depts;
    return list;
  } catch {
    return null;
  }
}

const when = (s) => new Date(s).toLocaleString(document.documentElement.lang, { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });

// summonsItem is one summons as a list item: department, state, person,
// deadline, late.
export function summonsItem(s, ...extra) {
  const a = s.assignee;
  return el('li', { 'data-id': s.id, 'data-dept': s.dept, 'data-state': s.state, 'data-late': String(s.late) },
    el('strong', {}, s.dept_name), ' ', el('span', { class: 'state' }, t('sstate.' + s.state)),
    s.late ? el('span', { class: 'due due-overdue' }, ' ' + t('summons.late')) : null,
    el('div', { class: 'muted' }, a ? `${a.name} · ${t('role.' + a.role)}` : t('summons.unassigned'), ' · ',
      t('summons.until', { t: when(s.deadline_at) }), s.supervisor ? ` · ${s.supervisor.name}` : ''),
    s.answer ? el('q', {}, s.answer) : null, ...extra);
}

// summonsSection renders the case's summons and, for the centre on a
// case that can take them, the form; reload re-reads the drawer.
export function summonsSection(inc, list, me, reload) {
  if (list === null) return null;
  const sec = el('section', { id: 'case-summons' }, el('h3', {}, t('summons.title')));
  sec.append(list.length ? el('ul', { id: 'summons-list' }, list.map((s) => summonsItem(s))) : el('p', { class: 'muted' }, t('summons.none')));
  const centre = ['admin', 'dispatcher'].includes(me?.role);
  if (!centre || !SUMMONABLE.includes(inc.state) || !departments) return sec;
  const open = new Set(list.filter((s) => !['handled', 'cancelled'].includes(s.state)).map((s) => s.dept));
  const boxes = departments.filter((d) => !open.has(d.code)).map((d) =>
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'summons-dept', value: d.code }), ' ' + d.name));
  const task = el('input', { type: 'text', id: 'summons-task', maxlength: 2000, placeholder: t('summons.task') });
  const err = el('p', { role: 'alert', class: 'error', hidden: true });
  const button = el('button', { type: 'button', id: 'summon', onclick: async () => {
    const depts = [...sec.querySelectorAll('input[name=summons-dept]:checked')].map((i) => i.value);
    if (!depts.length) {
      err.textContent = t('summons.pick');
      err.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      await api(`/api/v1/incidents/${inc.id}/summons`, { method: 'POST', body: { depts, task: task.value, version: inc.version } });
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      button.disabled = false;
      return;
    }
    reload();
  } }, t('summons.summon'));
  sec.append(el('div', { class: 'summons-form' }, ...boxes), task, ' ', button, err);
  return sec;
}
