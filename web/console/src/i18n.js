// Interface strings in 简体中文 (the default) and English. Each module
// registers its own strings with addMessages; elements carrying
// data-i18n="key" (text) or data-i18n-attr="attr:key" are translated by
// applyI18n. The choice is kept in localStorage.
const messages = { zh: {}, en: {} };
const listeners = [];
let current = (() => {
  try {
    return localStorage.getItem('gridd.lang') === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
})();

export function addMessages(dict) {
  for (const l of Object.keys(messages)) Object.assign(messages[l], dict[l] || {});
}

export function lang() {
  return current;
}

// t returns the string for key in the current language, with {name}
// placeholders filled from vars; a missing English string falls back to
// Chinese, a missing key to the key itself (visible, so it gets fixed).
export function t(key, vars) {
  let s = messages[current][key] ?? messages.zh[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export function applyI18n(root = document) {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr, t(key));
    }
  }
}

// setLang switches the language, re-translates the page and tells the
// modules that render strings themselves (onLang).
export function setLang(l) {
  current = l === 'en' ? 'en' : 'zh';
  try {
    localStorage.setItem('gridd.lang', current);
  } catch {
    // private mode: the choice lasts for the page
  }
  applyI18n();
  for (const f of listeners) f(current);
}

export function onLang(f) {
  listeners.push(f);
}
