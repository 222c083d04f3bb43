// The case drawer's citizen verdict (群众签单, issue 17 §2): the verdict of
// a closed citizen case when there is one; before it, for the centre, a
// signed link to hand to the reporter (SMS, the app), who answers on a
// page of its own without an account. A leaf of case.js.
import { api } from './api.js';
import { addMessages, t } from './i18n.js';
import { h as el } from './el.js';

addMessages({
  zh: {
    'verdict.title': '群众签单', 'verdict.satisfied': '满意', 'verdict.unsatisfied': '不满意', 'verdict.reopened': '已退回返工',
    'verdict.none': '尚未评价', 'verdict.link': '生成评价链接', 'verdict.expires': '有效期至 {t}', 'verdict.staff': '工作人员上报，无群众评价',
    'action.verdict': '群众签单', 'action.reopen': '群众不满意，返工',
  },
  en: {
    'verdict.title': 'Citizen verdict', 'verdict.satisfied': 'Satisfied', 'verdict.unsatisfied': 'Not satisfied', 'verdict.reopened': 'sent back for rework',
    'verdict.none': 'No verdict yet', 'verdict.link': 'Make a verdict link', 'verdict.expires': 'valid until {t}', 'verdict.staff': 'Reported by staff: no citizen verdict',
    'action.verdict': 'Citizen verdict', 'action.reopen': 'Reopened by the citizen',
  },
});

const CITIZEN = ['hotline', 'app', 'open311'];

// loadVerdict reads a case's verdict; null when it has none (or the
// server takes none).
export async function loadVerdict(inc) {
  if (!CITIZEN.includes(inc.source)) return null;
  try {
    return await api(`/api/v1/incidents/${inc.id}/verdict`);
  } catch {
    return null;
  }
}

// verdictSection renders the verdict, or for a closed citizen case without
// one the link button (the server refuses callers who may not make it).
export function verdictSection(inc, v) {
  if (!CITIZEN.includes(inc.source)) return null;
  const sec = el('section', { id: 'case-verdict' }, el('h3', {}, t('verdict.title')));
  if (v) {
    sec.append(el('p', { 'data-satisfied': String(v.satisfied) },
      el('strong', {}, t(v.satisfied ? 'verdict.satisfied' : 'verdict.unsatisfied')),
      v.reopened ? ` · ${t('verdict.reopened')}` : '', v.comment ? el('q', {}, v.comment) : null));
    return sec;
  }
  if (inc.state !== 'closed') return null;
  const out = el('p', { id: 'verdict-link-out', hidden: true });
  const err = el('p', { role: 'alert', class: 'error', hidden: true });
  const button = el('button', { type: 'button', id: 'verdict-link', onclick: async () => {
    button.disabled = true;
    try {
      const l = await api(`/api/v1/incidents/${inc.id}/verdict-link`, { method: 'POST' });
      out.replaceChildren(el('input', { type: 'text', readonly: true, value: l.url, size: 40, onfocus: (e) => e.target.select() }),
        ' ', el('span', { class: 'muted' }, t('verdict.expires', { t: new Date(l.expires_at).toLocaleString(document.documentElement.lang) })));
      out.hidden = false;
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      button.disabled = false;
    }
  } }, t('verdict.link'));
  sec.append(el('p', { class: 'muted' }, t('verdict.none')), button, out, err);
  return sec;
}
