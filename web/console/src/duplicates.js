// The case drawer's duplicates (issue 17 §3): the open cases this one may
// repeat (same category, near, recent: flagged by the server when it was
// reported), the newer reports flagged against it, and for a dispatcher
// the merge of this case into the one it repeats. A leaf of case.js.
import { api } from './api.js';
import { addMessages, t } from './i18n.js';
import { fmt, h as el } from './el.js';

addMessages({
  zh: {
    'dup.title': '疑似重复', 'dup.candidates': '可能与以下在办案件重复', 'dup.flagged': '以下新上报可能与本案重复',
    'dup.merge': '并入 #{id}', 'dup.merged_into': '已作为重复件并入 #{id}', 'dup.merged': '已并入本案：{ids}',
    'dup.away': '相距 {m} 米', 'dup.note': '同一问题，重复上报',
  },
  en: {
    'dup.title': 'Possible duplicates', 'dup.candidates': 'May repeat these open cases', 'dup.flagged': 'Newer reports that may repeat this case',
    'dup.merge': 'Merge into #{id}', 'dup.merged_into': 'Merged as a duplicate into #{id}', 'dup.merged': 'Merged into this case: {ids}',
    'dup.away': '{m} m away', 'dup.note': 'the same problem reported again',
  },
});

// loadDuplicates reads a case's duplicates; null when the server has none
// to say (no duplicate store, or not the caller's).
export async function loadDuplicates(id) {
  try {
    return await api(`/api/v1/incidents/${id}/duplicates`);
  } catch {
    return null;
  }
}

// duplicatesSection renders them; open(id) shows another case, and after a
// merge the survivor.
export function duplicatesSection(inc, d, open) {
  if (!d) return null;
  const merged = d.merged || [];
  if (!d.candidates?.length && !d.flagged_by?.length && !d.merged_into && !merged.length) return null;
  const link = (id) => el('a', { href: '#', onclick: (e) => { e.preventDefault(); open(id); } }, '#' + id);
  const item = (c, withMerge) => el('li', { 'data-id': c.id },
    link(c.id), ' ', c.category_name || c.category, ' · ', t('dup.away', { m: fmt(c.distance_m) }),
    c.address ? el('span', { class: 'muted' }, ' · ' + c.address) : null,
    c.description ? el('div', { class: 'muted' }, c.description) : null,
    withMerge ? el('button', { type: 'button', class: 'dup-merge', 'data-into': c.id, onclick: (e) => merge(e.target, c.id) }, t('dup.merge', { id: c.id })) : null);
  const err = el('p', { role: 'alert', class: 'error', hidden: true });
  async function merge(button, into) {
    button.disabled = true;
    try {
      await api(`/api/v1/incidents/${inc.id}/merge-into`, { method: 'POST', body: { into, version: inc.version, note: t('dup.note') } });
      open(into);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      button.disabled = false;
    }
  }
  const sec = el('section', { id: 'case-duplicates' }, el('h3', {}, t('dup.title')));
  if (d.merged_into) sec.append(el('p', { id: 'dup-merged-into' }, t('dup.merged_into', { id: d.merged_into }), ' ', link(d.merged_into)));
  if (d.candidates?.length) {
    sec.append(el('p', {}, t('dup.candidates')), el('ul', { class: 'dup-list', id: 'dup-candidates' }, d.candidates.map((c) => item(c, d.can_merge))));
  }
  if (d.flagged_by?.length) sec.append(el('p', {}, t('dup.flagged')), el('ul', { class: 'dup-list', id: 'dup-flagged' }, d.flagged_by.map((c) => item(c, false))));
  if (merged.length) sec.append(el('p', { id: 'dup-merged' }, t('dup.merged', { ids: merged.map((id) => '#' + id).join(', ') })));
  sec.append(err);
  return sec;
}
