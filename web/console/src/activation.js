// Approval of an activation that moves many households (分级审批) in the
// GIS workspace: when the server refuses an activation for want of one,
// the form to ask for it with a reason; for admins, the requests they may
// decide, with approve and refuse. The server checks who may do what.
import { actorOf, api } from './api.js';
import { addMessages, t } from './i18n.js';
import { fmt, h, when } from './el.js';

addMessages({
  zh: {
    'act.reason': '申请理由（必填，将记入审计）', 'act.ask': '申请上级审批', 'act.sent': '激活申请 #{id} 已提交（涉及 {n} 户），待上级审批；批准后再点“激活此代”',
    'act.pending': '待我审批的激活申请', 'act.approve': '批准', 'act.refuse': '驳回', 'act.decided': '已处理',
    'act.row': '#{id} 第 {gen} 代 · {n} 户改变网格 · {by} · {at} · {reason}',
  },
  en: {
    'act.reason': 'Reason (required, audited)', 'act.ask': 'Ask for approval', 'act.sent': 'Activation request #{id} sent ({n} households); activate again once it is approved',
    'act.pending': 'Activation requests for you to decide', 'act.approve': 'Approve', 'act.refuse': 'Refuse', 'act.decided': 'Decided',
    'act.row': '#{id} generation {gen} · {n} households change grid · {by} · {at} · {reason}',
  },
});

// approvalForm shows why the activation of gen was refused and lets the
// user ask for approval.
export function approvalForm(gen, err) {
  const reason = h('input', { type: 'text', id: 'act-reason', placeholder: t('act.reason'), maxlength: '500' });
  const msg = h('p', { id: 'act-msg', class: 'muted' });
  const ask = h('button', { type: 'button', id: 'act-ask', text: t('act.ask') });
  ask.addEventListener('click', async () => {
    try {
      const a = await api(`/api/v1/generations/${gen}/activation-requests`, { method: 'POST', body: { reason: reason.value } });
      msg.textContent = t('act.sent', { id: a.id, n: fmt(a.moving_households) });
      msg.dataset.id = a.id;
      msg.className = 'ok';
    } catch (e) {
      msg.textContent = e.message;
      msg.className = 'error';
    }
  });
  return h('div', { class: 'error-box', id: 'act-needed' }, h('p', { class: 'error', text: err.message }), reason, ask, msg);
}

// pendingActivations lists the requests an admin may decide; empty for
// everyone else.
export async function pendingActivations(me) {
  const box = h('div', { id: 'act-pending' });
  if (me?.role !== 'admin') return box;
  let reqs;
  try {
    reqs = (await api('/api/v1/activation-requests')).requests;
  } catch {
    return box;
  }
  reqs = reqs.filter((a) => a.state === 'pending' && a.requested_by !== actorOf(me));
  if (!reqs.length) return box;
  box.append(h('h3', { text: t('act.pending') }));
  for (const a of reqs) {
    const row = h('p', { 'data-request': a.id },
      t('act.row', { id: a.id, gen: a.generation, n: fmt(a.moving_households), by: a.requested_by, at: when(a.requested_at), reason: a.reason }), ' ');
    const decide = (approve) => async () => {
      try {
        await api(`/api/v1/activation-requests/${a.id}/decision`, { method: 'POST', body: { approve } });
        row.replaceChildren(`#${a.id} ${t('act.decided')}: ${t(approve ? 'act.approve' : 'act.refuse')}`);
      } catch (e) {
        row.append(h('small', { class: 'error', text: e.message }));
      }
    };
    row.append(h('button', { type: 'button', class: 'small approve', text: t('act.approve'), onclick: decide(true) }), ' ',
      h('button', { type: 'button', class: 'small refuse', text: t('act.refuse'), onclick: decide(false) }));
    box.append(row);
  }
  return box;
}
