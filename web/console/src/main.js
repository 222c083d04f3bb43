// The grid centre console: log in, then three views — the map with the
// incident queue (operators), the GIS workspace (import, merge, activate)
// and the dashboard (社情研判). Each view is a module with a mount
// function, given the shared context: the signed-in principal, the map,
// and the event bus.
import { api } from './api.js';
import { addMessages, applyI18n, lang, setLang, t } from './i18n.js';
import { mountMap } from './map.js';
import { mountQueue } from './queue.js';
import { mountGis } from './gis.js';
import { mountDashboard } from './dashboard.js';

addMessages({
  zh: {
    'app.title': '网格化服务管理',
    'nav.map': '地图',
    'nav.gis': 'GIS 工作台',
    'nav.dashboard': '统计研判',
    'login.title': '登录',
    'login.user': '账号',
    'login.password': '密码',
    'login.submit': '登录',
    'login.failed': '登录失败',
    'logout': '退出',
    'lang.switch': 'English',
  },
  en: {
    'app.title': 'Grid management',
    'nav.map': 'Map',
    'nav.gis': 'GIS workspace',
    'nav.dashboard': 'Dashboard',
    'login.title': 'Sign in',
    'login.user': 'Account',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.failed': 'Sign-in failed',
    'logout': 'Sign out',
    'lang.switch': '中文',
  },
});
applyI18n();

// The API needs an account: log in first (POST /api/v1/login sets the
// session cookie that tiles and API calls then carry).
async function login() {
  try {
    return await api('/api/v1/me');
  } catch {
    // not signed in
  }
  const form = document.getElementById('login');
  form.hidden = false;
  document.getElementById('login-user').focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('/api/v1/login', {
          method: 'POST',
          body: {
            login: document.getElementById('login-user').value,
            password: document.getElementById('login-pass').value,
          },
        });
        form.hidden = true;
        resolve(await api('/api/v1/me'));
      } catch (e) {
        document.getElementById('login-error').textContent = e.message || t('login.failed');
      }
    });
  });
}

const me = await login();
document.getElementById('me').textContent = `${me.display_name || me.name} · ${me.role} · ${me.scope || '*'}`;
document.getElementById('logout').addEventListener('click', async () => {
  await api('/api/v1/logout', { method: 'POST' }).catch(() => {});
  location.reload();
});
document.getElementById('lang').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));

// Views: the nav buttons carry data-view; the URL hash keeps the choice.
const bus = new EventTarget();
const ctx = { me, bus, map: null };
ctx.map = mountMap(document.getElementById('view-map'), ctx);
mountQueue(document.getElementById('queue'), ctx);
mountGis(document.getElementById('view-gis'), ctx);
mountDashboard(document.getElementById('view-dashboard'), ctx);

function show(view) {
  for (const b of document.querySelectorAll('nav [data-view]')) b.setAttribute('aria-current', String(b.dataset.view === view));
  for (const v of document.querySelectorAll('main > section')) v.hidden = v.id !== 'view-' + view;
  document.querySelector('.layers-menu').hidden = view !== 'map'; // the map's layers

  if (view === 'map') ctx.map.resize();
  bus.dispatchEvent(new CustomEvent('view', { detail: view }));
}
for (const b of document.querySelectorAll('nav [data-view]')) {
  b.addEventListener('click', () => {
    location.hash = b.dataset.view;
  });
}
addEventListener('hashchange', () => show(location.hash.slice(1) || 'map'));
show(location.hash.slice(1) || 'map');
