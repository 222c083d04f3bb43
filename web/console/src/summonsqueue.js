// A department's queue of summons (吹哨报到): what the centre asked of the
// caller's department (a worker linked to a department's person), open
// ones first by deadline, with the actions the caller may take on each —
// 报到, 办结 with a note, 退回. Shown under the incident queue when there is
// anything in it. A leaf of queue.js.
import { api } from './api.js';
import { onLang, t } from './i18n.js';
import { h as el } from './el.js';
import { summonsItem } from './summons.js';

const NEEDS_NOTE = ['handle', 'return', 'rework'];

export function mountSummonsQueue(root, ctx) {
  const sec = el('section', { id: 'summons-queue', hidden: true });
  root.append(sec);
  let list = [];
  let error = '';

  async function load() {
    try {
      list = (await api('/api/v1/summons?state=open')).summons;
      error = '';
    } catch (e) {
      list = [];
      error = e.status === 403 || e.status === 404 ? '' : e.message;
    }
    render();
  }

  async function act(s, action, note) {
    try {
      await api(`/api/v1/summons/${s.id}/transitions`, { method: 'POST', body: { action, version: s.version, note } });
      error = '';
    } catch (e) {
      error = e.message;
    }
    load();
  }

  function render() {
    sec.hidden = !list.length && !error;
    const items = list.map((s) => {
      const note = el('input', { type: 'text', class: 'summons-note', placeholder: t('summons.note'), maxlength: 2000 });
      const buttons = (s.allowed_actions || []).filter((a) => ['accept', 'handle', 'return'].includes(a)).map((a) =>
        el('button', { type: 'button', 'data-action': a, onclick: () => act(s, a, note.value || (NEEDS_NOTE.includes(a) ? t('saction.' + a) : '')) },
          t('saction.' + a)));
      return summonsItem(s, el('div', { class: 'muted' }, t('summons.case', { id: s.incident_id }), ' · ', s.category_name, s.address ? ' · ' + s.address : ''),
        buttons.length ? el('div', {}, note, ...buttons) : null);
    });
    sec.replaceChildren(...[el('h2', {}, t('summons.queue')), error ? el('p', { role: 'alert', class: 'error' }, error) : null,
      el('ol', { id: 'summons-queue-list' }, items)].filter(Boolean));
  }

  ctx.bus.addEventListener('incident-event', (e) => {
    if (String(e.detail.action || '').startsWith('summon')) load();
  });
  setInterval(load, 30000);
  onLang(render);
  load();
}
