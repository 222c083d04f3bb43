// The register (实有人口) of an area in the area panel: its households
// with their members masked (王*明, 330203********1234, 139****0000), a
// filter by tag (独居老人, 低保户, …), and for those whose role and scope
// allow it the reveal of one resident with a stated reason — every reveal
// is an audit entry on the server, and what it showed is dropped again
// when the panel changes. The centre (dispatcher, admin) may also ask to
// export the area's unmasked register; an admin above decides (分级审批),
// here too, in the list of requests they may decide.
import { actorOf, api } from './api.js';
import { addMessages, t } from './i18n.js';
import { h, fmt, when } from './el.js';

addMessages({
  zh: {
    'reg.title': '实有人口（脱敏）', 'reg.tag': '标签', 'reg.all': '全部', 'reg.matched': '共 {n} 户', 'reg.more': '更多',
    'reg.none': '没有符合条件的户', 'reg.reveal': '查看', 'reg.reason': '查看理由（必填，将记入审计）', 'reg.confirm': '确认查看',
    'reg.cancel': '取消', 'reg.revealed': '已查看，已记入审计', 'reg.address': '地址', 'reg.members': '成员',
    'reg.export': '申请导出本区域明细', 'reg.export.reason': '导出理由（必填）', 'reg.export.send': '提交申请',
    'reg.export.sent': '导出申请 #{id} 已提交，待上级审批', 'reg.approvals': '待我审批的导出申请',
    'reg.approve': '批准', 'reg.refuse': '驳回', 'reg.decided': '已处理',
  },
  en: {
    'reg.title': 'Register (masked)', 'reg.tag': 'Tag', 'reg.all': 'All', 'reg.matched': '{n} households', 'reg.more': 'More',
    'reg.none': 'No household matches', 'reg.reveal': 'Reveal', 'reg.reason': 'Reason (required, audited)', 'reg.confirm': 'Reveal',
    'reg.cancel': 'Cancel', 'reg.revealed': 'Revealed and audited', 'reg.address': 'Address', 'reg.members': 'Members',
    'reg.export': 'Ask to export this area unmasked', 'reg.export.reason': 'Reason (required)', 'reg.export.send': 'Send request',
    'reg.export.sent': 'Export request #{id} sent; someone above you decides', 'reg.approvals': 'Export requests for you to decide',
    'reg.approve': 'Approve', 'reg.refuse': 'Refuse', 'reg.decided': 'Decided',
  },
});

const PAGE = 20;
const MAY_SEE = ['admin', 'dispatcher', 'worker', 'viewer'];
const MAY_REVEAL = ['admin', 'dispatcher', 'worker'];
const MAY_EXPORT = ['admin', 'dispatcher'];

// registerStatus is GET /api/v1/register (loaded?, the tag catalogue),
// asked once a page rather than at every area shown; a failure is asked
// again next time.
let statusAsked = null;
function registerStatus() {
  statusAsked ??= api('/api/v1/register').catch(() => {
    statusAsked = null;
    return null;
  });
  return statusAsked;
}

// registerSection returns the panel's register section for area d, or
// null when the account may not see households or no register is loaded.
export async function registerSection(d, me) {
  if (!MAY_SEE.includes(me.role)) return null;
  const status = await registerStatus();
  if (!status?.loaded) return null;
  const tag = h('select', { id: 'reg-tag' }, h('option', { value: '' }, t('reg.all')), ...status.catalogue.map((c) => h('option', { value: c }, c)));
  const count = h('p', { class: 'muted', id: 'reg-matched' });
  const list = h('div', { id: 'reg-list' });
  const more = h('button', { type: 'button', class: 'link', id: 'reg-more', hidden: true, text: t('reg.more') });
  const sec = h('section', { id: 'panel-register' }, h('h3', {}, t('reg.title')),
    h('label', {}, t('reg.tag'), ' ', tag), count, list, more);
  let offset = 0;
  async function page(reset) {
    if (reset) {
      offset = 0;
      list.replaceChildren();
    }
    const q = new URLSearchParams({ area: d.code, limit: String(PAGE), offset: String(offset) });
    if (tag.value) q.set('tag', tag.value);
    try {
      const p = await api('/api/v1/households?' + q);
      count.textContent = p.matched ? t('reg.matched', { n: fmt(p.matched) }) : t('reg.none');
      for (const hh of p.households) list.append(household(hh, me));
      offset += p.households.length;
      more.hidden = offset >= p.matched;
    } catch (e) {
      count.textContent = e.message;
    }
  }
  tag.addEventListener('change', () => page(true));
  more.addEventListener('click', () => page(false));
  await page(true);
  if (MAY_EXPORT.includes(me.role)) sec.append(exportForm(d), await approvals(me));
  return sec;
}

function household(hh, me) {
  const where = [hh.address || hh.building_id, hh.unit, hh.room].filter(Boolean).join(' ');
  const tbl = h('table', { class: 'register' });
  for (const m of hh.members) tbl.append(member(m, me));
  return h('div', { class: 'household', 'data-id': hh.id },
    h('p', {}, h('strong', {}, where), ' ', ...hh.tags.map((x) => h('span', { class: 'badge' }, x))), tbl);
}

function member(m, me) {
  const cells = () => [h('td', { class: 'name' }, m.name), h('td', { class: 'idno' }, m.id_number), h('td', { class: 'phone' }, m.phone || ''),
    h('td', {}, ...m.tags.map((x) => h('span', { class: 'badge' }, x)))];
  const row = h('tr', { 'data-resident': m.id }, ...cells());
  if (!MAY_REVEAL.includes(me.role)) return row;
  const action = h('td', {});
  const open = h('button', { type: 'button', class: 'link reveal', text: t('reg.reveal') });
  action.append(open);
  row.append(action);
  open.addEventListener('click', () => {
    const reason = h('input', { type: 'text', class: 'reveal-reason', placeholder: t('reg.reason'), maxlength: '500' });
    const msg = h('small', { class: 'error' });
    const go = h('button', { type: 'button', class: 'reveal-confirm', text: t('reg.confirm') });
    const cancel = h('button', { type: 'button', class: 'link', text: t('reg.cancel'), onclick: () => action.replaceChildren(open) });
    go.addEventListener('click', async () => {
      try {
        const r = await api(`/api/v1/residents/${m.id}/reveal`, { method: 'POST', body: { reason: reason.value } });
        m.name = r.name;
        m.id_number = r.id_number;
        m.phone = r.phone;
        row.replaceChildren(...cells(), h('td', {}, h('small', { class: 'muted' }, t('reg.revealed'))));
        row.classList.add('revealed');
      } catch (e) {
        msg.textContent = e.message;
      }
    });
    action.replaceChildren(reason, go, cancel, msg);
    reason.focus();
  });
  return row;
}

function exportForm(d) {
  const reason = h('input', { type: 'text', id: 'reg-export-reason', placeholder: t('reg.export.reason'), maxlength: '500' });
  const msg = h('p', { id: 'reg-export-msg', class: 'muted' });
  const send = h('button', { type: 'button', id: 'reg-export-send', text: t('reg.export.send') });
  send.addEventListener('click', async () => {
    try {
      const e = await api('/api/v1/register/exports', { method: 'POST', body: { area: d.code, reason: reason.value } });
      msg.textContent = t('reg.export.sent', { id: e.id });
      msg.dataset.id = e.id;
    } catch (e) {
      msg.textContent = e.message;
    }
  });
  return h('details', { id: 'reg-export' }, h('summary', {}, t('reg.export')), reason, send, msg);
}

// approvals lists the pending export requests this account may decide
// (the server lists a user's own and those they may decide).
async function approvals(me) {
  const sec = h('div', { id: 'reg-approvals' });
  let list = [];
  try {
    list = (await api('/api/v1/register/exports')).exports.filter((e) => e.state === 'pending' && e.requested_by !== actorOf(me));
  } catch {
    return sec;
  }
  if (!list.length || me.role !== 'admin') return sec;
  sec.append(h('h4', {}, t('reg.approvals')));
  for (const e of list) {
    const li = h('p', { 'data-export': e.id }, `#${e.id} ${e.area} · ${e.requested_by} · ${when(e.requested_at)} · ${e.reason} `);
    const decide = (approve) => async () => {
      try {
        await api(`/api/v1/register/exports/${e.id}/decision`, { method: 'POST', body: { approve } });
        li.replaceChildren(`#${e.id} ${t('reg.decided')}: ${t(approve ? 'reg.approve' : 'reg.refuse')}`);
      } catch (err) {
        li.append(h('small', { class: 'error' }, err.message));
      }
    };
    li.append(h('button', { type: 'button', class: 'approve', onclick: decide(true), text: t('reg.approve') }), ' ',
      h('button', { type: 'button', class: 'link refuse', onclick: decide(false), text: t('reg.refuse') }));
    sec.append(li);
  }
  return sec;
}
