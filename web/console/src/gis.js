// The GIS workspace (issue 8): upload a departmental layer with the
// importer's options and follow its job to the import report; merge the
// layers into a draft generation (多网合一) and review its report and the
// pieces the merge changed on a map (before/after, coloured by kind);
// activate the draft after a confirmation; compare two generations.
// Everything goes through the JSON API (docs/api.md): POST /layers,
// GET /jobs/{id}, POST /merges, GET /generations[/{gen}/report|pieces|
// check|compare], POST /generations/{gen}/activate.
import * as maplibregl from 'maplibre-gl';
import { api } from './api.js';
import { addMessages, applyI18n, onLang, t } from './i18n.js';
import { fmt, h, when } from './el.js';
import { shiftGeoJSON } from './gcj02.js';
import { extentOptions } from './extent.js';
import { renderSizes, sizeBody, sizeFields } from './sizes.js';
import { disputesBox } from './disputes.js';
import { approvalForm, pendingActivations } from './activation.js';

// Piece kinds of GET /generations/{gen}/pieces and their colours.
const KINDS = [
  ['overlap', '#e03131'],
  ['gap', '#1c7ed6'],
  ['sliver', '#f59f00'],
  ['uncovered', '#868e96'],
  ['new_grid', '#2f9e44'],
  ['split', '#ae3ec9'],
  ['bad_code', '#212529'],
  ['duplicate_code', '#d6336c'],
];
// The departments gridd ships with (migration 0001); others can be typed.
const DEPTS = ['zongzhi', 'chengguan', 'gongan', 'dangjian', 'shichang', 'yingji'];
const LEVELS = ['grid', 'community', 'street', 'district'];

addMessages({
  zh: {
    'gis.upload': '导入图层',
    'gis.file': '文件',
    'gis.level': '层级',
    'gis.dept': '部门',
    'gis.name': '名称',
    'gis.encoding': '编码',
    'gis.encoding.auto': '自动识别',
    'gis.srs': '坐标系',
    'gis.srs.hint': '自动（.prj）/ EPSG:4490 / gcj02',
    'gis.attribution': '数据来源（地图署名）', 'gis.attribution.hint': '例如：网格: 北仑区综治中心 2024',
    'gis.code_field': '编码字段',
    'gis.name_field': '名称字段',
    'gis.parent_field': '上级编码字段',
    'gis.households_field': '户数字段',
    'gis.population_field': '人口字段',
    'gis.auto': '自动',
    'gis.dry_run': '仅检查（不入库）',
    'gis.allow_outside': '允许在辖区外',
    'gis.skip_bad': '跳过无法修复的要素',
    'gis.more': '更多选项',
    'gis.submit_upload': '上传并导入',
    'gis.job': '导入任务 #{id}：{state}',
    'state.queued': '排队中',
    'state.running': '导入中',
    'state.done': '完成',
    'state.failed': '失败',
    'state.draft': '草案',
    'state.active': '现行',
    'state.retired': '已退役',
    'rep.format': '格式',
    'rep.srs': '坐标系',
    'rep.encoding': '编码',
    'rep.read': '读取要素',
    'rep.features': '入库要素',
    'rep.repaired': '修复',
    'rep.dropped': '丢弃',
    'rep.skipped': '跳过',
    'rep.version': '图层版本',
    'rep.area': '面积（km²）',
    'rep.mapping': '字段对应',
    'rep.unchanged': '与最新版本相同，未导入',
    'rep.dry_run': '仅检查，未入库',
    'rep.issues': '问题要素',
    'rep.fid': '序号',
    'rep.code': '编码',
    'rep.kind': '类型',
    'rep.detail': '说明',
    'issue.repaired': '已修复',
    'issue.dropped': '已丢弃',
    'issue.not_polygon': '非面要素',
    'gis.merge': '多网合一',
    'gis.base': '底图部门（按优先级）',
    'gis.strategy': '策略',
    'gis.strategy.base': '以底图部门网格为准',
    'gis.strategy.overlay': '叠加细分（各部门边界共同细分）',
    'gis.sliver_area': '碎片面积（m²）',
    'gis.sliver_width': '碎片宽度（m）',
    'gis.gap_new_area': '新网格最小空隙（m²）',
    'gis.match_share': '编码沿用重叠比例',
    'gis.note': '备注',
    'gis.submit_merge': '合并生成草案',
    'gis.merging': '合并中…',
    'gis.draft': '第 {gen} 代（{state}）',
    'gis.report.levels': '各层级',
    'col.level': '层级',
    'col.areas': '数量',
    'col.overlaps': '重叠',
    'col.overlap_m2': '重叠面积 m²',
    'col.gaps': '空隙填补',
    'col.slivers': '碎片吸收',
    'col.uncovered': '未覆盖',
    'col.new_grids': '新网格',
    'col.split': '跨界拆分',
    'col.bad_codes': '编码错误',
    'gis.codes': '网格编码',
    'codes.kept': '沿用',
    'codes.source': '部门原编码',
    'codes.new': '新编',
    'gis.lineage': '变化（相对现行代）',
    'lin.kept': '不变',
    'lin.reshaped': '调整',
    'lin.split': '拆分',
    'lin.merged': '合并',
    'lin.retired': '撤销',
    'lin.new': '新增',
    'gis.crosswalk': '部门网格对照',
    'cw.dept': '部门',
    'cw.grids': '网格数',
    'cw.one_to_one': '一一对应',
    'cw.within_one': '落在一个网格内',
    'cw.split': '跨多个网格',
    'cw.outside_m2': '覆盖外面积 m²',
    'gis.review': '待复核 {n} 项',
    'gis.check': '质量检查',
    'gis.check.ok': '检查通过：无拓扑或编码问题',
    'gis.check.bad': '检查发现 {n} 个问题',
    'gis.activate': '激活此代',
    'gis.confirm': '激活第 {gen} 代后，定位、派单和地图都改用它，现行的第 {active} 代将退役。确定激活吗？',
    'gis.confirm.first': '激活第 {gen} 代后，定位、派单和地图都使用它。确定激活吗？',
    'gis.confirm.ok': '确定激活',
    'gis.cancel': '取消',
    'gis.activated': '第 {gen} 代已激活',
    'gis.pieces': '变化图斑',
    'kind.overlap': '重叠',
    'kind.gap': '空隙',
    'kind.sliver': '碎片',
    'kind.uncovered': '未覆盖',
    'kind.new_grid': '新网格',
    'kind.split': '拆分',
    'kind.bad_code': '编码错误',
    'kind.duplicate_code': '重复编码',
    'kind.households_over': '户数超上限',
    'kind.households_under': '户数低于下限',
    'gis.before': '现行（合并前）',
    'gis.after': '草案（合并后）',
    'gis.gens': '版本（代）',
    'col.gen': '代',
    'col.state': '状态',
    'col.created': '生成时间',
    'col.note': '备注',
    'gis.show': '查看',
    'gis.compare': '比较',
    'gis.compare.from': '从',
    'gis.compare.to': '到',
    'gis.compare.title': '第 {from} 代 → 第 {to} 代',
    'diff.kept': '不变',
    'diff.reshaped': '形状变化',
    'diff.added': '新增',
    'diff.removed': '删除',
    'diff.renamed': '改名',
    'diff.reparented': '改隶属',
    'gis.piece.other': '原属',
    'gis.piece.area': '面积 m²',
    'gis.needrole': 'GIS 工作台需要 gis 或 admin 角色；你可以查看版本，但不能导入、合并或激活。',
  },
  en: {
    'gis.upload': 'Import a layer',
    'gis.file': 'File',
    'gis.level': 'Level',
    'gis.dept': 'Department',
    'gis.name': 'Name',
    'gis.encoding': 'Encoding',
    'gis.encoding.auto': 'detect',
    'gis.srs': 'Coordinate system',
    'gis.srs.hint': 'auto (.prj) / EPSG:4490 / gcj02',
    'gis.attribution': 'Source (credited on maps)', 'gis.attribution.hint': 'e.g. Grids: district social governance centre, 2024',
    'gis.code_field': 'Code field',
    'gis.name_field': 'Name field',
    'gis.parent_field': 'Parent code field',
    'gis.households_field': 'Households field',
    'gis.population_field': 'Population field',
    'gis.auto': 'auto',
    'gis.dry_run': 'Check only (dry run)',
    'gis.allow_outside': 'Allow outside the district',
    'gis.skip_bad': 'Skip features that cannot be repaired',
    'gis.more': 'More options',
    'gis.submit_upload': 'Upload and import',
    'gis.job': 'Import job #{id}: {state}',
    'state.queued': 'queued',
    'state.running': 'running',
    'state.done': 'done',
    'state.failed': 'failed',
    'state.draft': 'draft',
    'state.active': 'active',
    'state.retired': 'retired',
    'rep.format': 'Format',
    'rep.srs': 'Coordinate system',
    'rep.encoding': 'Encoding',
    'rep.read': 'Features read',
    'rep.features': 'Features stored',
    'rep.repaired': 'Repaired',
    'rep.dropped': 'Dropped',
    'rep.skipped': 'Skipped',
    'rep.version': 'Layer version',
    'rep.area': 'Area (km²)',
    'rep.mapping': 'Field mapping',
    'rep.unchanged': 'Identical to the latest version: nothing imported',
    'rep.dry_run': 'Dry run: nothing stored',
    'rep.issues': 'Features with issues',
    'rep.fid': '#',
    'rep.code': 'Code',
    'rep.kind': 'Kind',
    'rep.detail': 'Detail',
    'issue.repaired': 'repaired',
    'issue.dropped': 'dropped',
    'issue.not_polygon': 'not a polygon',
    'gis.merge': 'Merge (多网合一)',
    'gis.base': 'Base departments (priority order)',
    'gis.strategy': 'Strategy',
    'gis.strategy.base': 'grids of the base department',
    'gis.strategy.overlay': 'overlay (common refinement)',
    'gis.sliver_area': 'Sliver area (m²)',
    'gis.sliver_width': 'Sliver width (m)',
    'gis.gap_new_area': 'Smallest gap for a new grid (m²)',
    'gis.match_share': 'Code kept from overlap share',
    'gis.note': 'Note',
    'gis.submit_merge': 'Merge into a draft',
    'gis.merging': 'Merging…',
    'gis.draft': 'Generation {gen} ({state})',
    'gis.report.levels': 'Levels',
    'col.level': 'Level',
    'col.areas': 'Areas',
    'col.overlaps': 'Overlaps',
    'col.overlap_m2': 'Overlap m²',
    'col.gaps': 'Gaps filled',
    'col.slivers': 'Slivers absorbed',
    'col.uncovered': 'Uncovered',
    'col.new_grids': 'New grids',
    'col.split': 'Split at border',
    'col.bad_codes': 'Bad codes',
    'gis.codes': 'Grid codes',
    'codes.kept': 'kept',
    'codes.source': 'department\'s',
    'codes.new': 'new',
    'gis.lineage': 'Changes (from the active generation)',
    'lin.kept': 'kept',
    'lin.reshaped': 'reshaped',
    'lin.split': 'split',
    'lin.merged': 'merged',
    'lin.retired': 'retired',
    'lin.new': 'new',
    'gis.crosswalk': 'Department crosswalk',
    'cw.dept': 'Department',
    'cw.grids': 'Grids',
    'cw.one_to_one': 'One to one',
    'cw.within_one': 'Within one',
    'cw.split': 'Split',
    'cw.outside_m2': 'Outside m²',
    'gis.review': '{n} decisions to review',
    'gis.check': 'Check',
    'gis.check.ok': 'Check passed: no topology or code problems',
    'gis.check.bad': 'The check found {n} problems',
    'gis.activate': 'Activate',
    'gis.confirm': 'Once generation {gen} is active, locating, routing and the maps use it and generation {active} is retired. Activate it?',
    'gis.confirm.first': 'Once generation {gen} is active, locating, routing and the maps use it. Activate it?',
    'gis.confirm.ok': 'Activate',
    'gis.cancel': 'Cancel',
    'gis.activated': 'Generation {gen} is active',
    'gis.pieces': 'Changed pieces',
    'kind.overlap': 'overlap',
    'kind.gap': 'gap',
    'kind.sliver': 'sliver',
    'kind.uncovered': 'uncovered',
    'kind.new_grid': 'new grid',
    'kind.split': 'split',
    'kind.bad_code': 'bad code',
    'kind.duplicate_code': 'duplicate code',
    'kind.households_over': 'too many households',
    'kind.households_under': 'too few households',
    'gis.before': 'Active (before)',
    'gis.after': 'Draft (after)',
    'gis.gens': 'Generations',
    'col.gen': 'Gen.',
    'col.state': 'State',
    'col.created': 'Created',
    'col.note': 'Note',
    'gis.show': 'Show',
    'gis.compare': 'Compare',
    'gis.compare.from': 'From',
    'gis.compare.to': 'To',
    'gis.compare.title': 'Generation {from} → {to}',
    'diff.kept': 'kept',
    'diff.reshaped': 'reshaped',
    'diff.added': 'added',
    'diff.removed': 'removed',
    'diff.renamed': 'renamed',
    'diff.reparented': 'moved',
    'gis.piece.other': 'Taken from',
    'gis.piece.area': 'Area m²',
    'gis.needrole': 'The GIS workspace needs the gis or admin role: you can look at generations but not import, merge or activate.',
  },
});

// label wraps a form control with its translated caption.
function label(key, control, cls) {
  return h('label', { class: cls }, h('span', { 'data-i18n': key, text: t(key) }), control);
}

function opt(value, key) {
  return h('option', { value, 'data-i18n': key, text: t(key) });
}

// kv renders [key, value] pairs as a definition list; keys are i18n keys.
function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v, id]) => [h('dt', { text: t(k) }), h('dd', { 'data-k': id || k.split('.').pop(), text: v })]));
}

function table(cols, rows, attrs = {}) {
  return h('table', { class: 'tbl', ...attrs },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { text: t(c) })))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs || {}, r.cells.map((c) => (c instanceof Node ? h('td', {}, c) : h('td', { text: c })))))));
}

function errorBox(e) {
  return h('p', { class: 'error', role: 'alert', text: e.message || String(e) });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function mountGis(root, ctx) {
  const st = { job: null, report: null, gens: [], compare: null, pieces: null, map: null, datum: 'wgs84', hiddenKinds: new Set() };
  const mayEdit = ['admin', 'gis'].includes(ctx.me?.role);

  // ---- the import form ----
  const fileInput = h('input', { type: 'file', id: 'gis-file', name: 'file', required: true, accept: '.geojson,.json,.zip,.gpkg,.kml,.kmz,.csv' });
  const level = h('select', { id: 'gis-level', name: 'level' }, LEVELS.map((l) => opt(l, 'level.' + l)));
  const dept = h('input', { id: 'gis-dept', name: 'dept', list: 'gis-depts', value: 'zongzhi', autocomplete: 'off' });
  const depts = h('datalist', { id: 'gis-depts' }, DEPTS.map((d) => h('option', { value: d })));
  const encoding = h('select', { id: 'gis-encoding', name: 'encoding' }, opt('', 'gis.encoding.auto'), ['UTF-8', 'GBK', 'GB18030'].map((e) => h('option', { value: e, text: e })));
  const srs = h('input', { id: 'gis-srs', name: 'srs', 'data-i18n-attr': 'placeholder:gis.srs.hint', placeholder: t('gis.srs.hint') });
  const text = (name) => h('input', { name, 'data-i18n-attr': 'placeholder:gis.auto', placeholder: t('gis.auto') });
  const check = (name, key) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name }), ' ', h('span', { 'data-i18n': key, text: t(key) }));
  const jobBox = h('div', { id: 'gis-job', 'aria-live': 'polite' });
  const uploadForm = h('form', { id: 'gis-upload', class: 'form' },
    label('gis.file', fileInput, 'wide'),
    label('gis.level', level),
    label('gis.dept', dept), depts,
    label('gis.encoding', encoding),
    label('gis.srs', srs),
    h('details', { class: 'wide' }, h('summary', { 'data-i18n': 'gis.more', text: t('gis.more') }),
      h('div', { class: 'form' },
        label('gis.name', h('input', { name: 'name' })),
        label('gis.attribution', h('input', { id: 'gis-attribution', name: 'attribution', maxlength: 300, 'data-i18n-attr': 'placeholder:gis.attribution.hint', placeholder: t('gis.attribution.hint') }), 'wide'),
        label('gis.code_field', text('code_field')),
        label('gis.name_field', text('name_field')),
        label('gis.parent_field', text('parent_field')),
        label('gis.households_field', text('households_field')),
        label('gis.population_field', text('population_field')),
        check('dry_run', 'gis.dry_run'), check('allow_outside', 'gis.allow_outside'), check('skip_bad', 'gis.skip_bad'))),
    h('button', { type: 'submit', class: 'primary wide', 'data-i18n': 'gis.submit_upload', text: t('gis.submit_upload'), disabled: !mayEdit }));

  // ---- the merge form ----
  const num = (name, ph) => h('input', { name, type: 'number', step: 'any', min: '0', placeholder: ph });
  const mergeForm = h('form', { id: 'gis-merge', class: 'form' },
    label('gis.base', h('input', { id: 'gis-base', name: 'base', value: 'zongzhi', list: 'gis-depts' }), 'wide'),
    label('gis.strategy', h('select', { name: 'strategy' }, opt('base', 'gis.strategy.base'), opt('overlay', 'gis.strategy.overlay')), 'wide'),
    label('gis.sliver_area', num('sliver_area_m2', '1000')),
    label('gis.sliver_width', num('sliver_width_m', '20')),
    label('gis.gap_new_area', num('gap_new_area_m2', '50000')),
    label('gis.match_share', num('match_share', '0.5')),
    sizeFields(),
    label('gis.note', h('input', { name: 'note' })),
    h('button', { type: 'submit', class: 'primary wide', 'data-i18n': 'gis.submit_merge', text: t('gis.submit_merge'), disabled: !mayEdit }),
    h('p', { id: 'gis-merge-status', class: 'wide status' }));

  // ---- generations ----
  const gensBox = h('div', { id: 'gis-gens' });
  const cmpFrom = h('select', { id: 'gis-cmp-from' });
  const cmpTo = h('select', { id: 'gis-cmp-to' });
  const cmpBox = h('div', { id: 'gis-compare' });
  const cmpForm = h('form', { class: 'inline' }, label('gis.compare.from', cmpFrom), label('gis.compare.to', cmpTo),
    h('button', { type: 'submit', id: 'gis-cmp-go', 'data-i18n': 'gis.compare', text: t('gis.compare') }));

  // ---- the map and the merge report ----
  const mapEl = h('div', { id: 'gis-map' });
  const legend = h('div', { id: 'gis-legend', class: 'legend' });
  const reportBox = h('div', { id: 'gis-report' });
  const confirmText = h('p');
  const confirmDlg = h('dialog', { id: 'gis-confirm' }, confirmText,
    h('form', { method: 'dialog', class: 'buttons' },
      h('button', { value: 'cancel', 'data-i18n': 'gis.cancel', text: t('gis.cancel') }),
      h('button', { value: 'ok', id: 'gis-confirm-ok', class: 'primary', 'data-i18n': 'gis.confirm.ok', text: t('gis.confirm.ok') })));

  const card = (key, ...body) => h('section', { class: 'card' }, h('h2', { 'data-i18n': key, text: t(key) }), ...body);
  root.replaceChildren(h('div', { class: 'gis' },
    h('div', { class: 'gis-side' },
      mayEdit ? null : h('p', { class: 'note', 'data-i18n': 'gis.needrole', text: t('gis.needrole') }),
      card('gis.upload', uploadForm, jobBox),
      card('gis.merge', mergeForm),
      card('gis.gens', gensBox, cmpForm, cmpBox)),
    h('div', { class: 'gis-main' }, h('div', { class: 'gis-mapwrap' }, mapEl, legend), reportBox),
    confirmDlg));

  // ---- import ----
  uploadForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData();
    for (const el of uploadForm.elements) {
      if (!el.name || el.type === 'file') continue;
      if (el.type === 'checkbox') {
        if (el.checked) fd.append(el.name, 'true');
      } else if (el.value.trim() !== '') fd.append(el.name, el.value.trim());
    }
    fd.append('file', fileInput.files[0]); // last: the server reads the fields before the file
    const button = uploadForm.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      st.job = await api('/api/v1/layers', { method: 'POST', body: fd });
      renderJob();
      while (st.job.state === 'queued' || st.job.state === 'running') {
        await sleep(400);
        st.job = await api('/api/v1/jobs/' + st.job.id);
        renderJob();
      }
    } catch (e) {
      jobBox.replaceChildren(errorBox(e));
    } finally {
      button.disabled = false;
    }
  });

  function renderJob() {
    const j = st.job;
    if (!j) return;
    const out = [h('p', { class: 'status', 'data-state': j.state, text: t('gis.job', { id: j.id, state: t('state.' + j.state) }) })];
    if (j.state === 'failed') out.push(errorBox({ message: j.error }));
    const r = j.report;
    if (j.state === 'done' && r) {
      if (r.unchanged) out.push(h('p', { class: 'note', text: t('rep.unchanged') }));
      if (r.dry_run) out.push(h('p', { class: 'note', text: t('rep.dry_run') }));
      out.push(kv([
        ['rep.format', r.format], ['rep.srs', r.srs], ['rep.encoding', r.encoding],
        ['rep.read', fmt(r.read)], ['rep.features', fmt(r.features)], ['rep.repaired', fmt(r.repaired)],
        ['rep.dropped', fmt(r.dropped)], ['rep.skipped', fmt(r.skipped)], ['rep.version', r.version ? `${j.request.dept || ''} v${r.version}` : '–'],
        ['rep.area', fmt((r.area_m2 || 0) / 1e6, 2)],
        ['rep.mapping', Object.entries(r.mapping || {}).map(([k, v]) => `${k}←${v}`).join(', ')],
      ]));
      if (r.issues?.length) {
        out.push(h('h3', { text: t('rep.issues') }));
        out.push(table(['rep.fid', 'rep.code', 'gis.name', 'rep.kind', 'rep.detail'],
          r.issues.slice(0, 100).map((i) => ({ attrs: { 'data-kind': i.kind }, cells: [i.fid, i.code || '', i.name || '', t('issue.' + i.kind), i.detail] })),
          { id: 'gis-issues' }));
      }
    }
    jobBox.replaceChildren(...out);
  }

  // ---- merge ----
  mergeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = mergeForm.elements;
    const body = { base: f.base.value.split(/[,，\s]+/).filter(Boolean), strategy: f.strategy.value, note: f.note.value.trim() };
    for (const k of ['sliver_area_m2', 'sliver_width_m', 'gap_new_area_m2', 'match_share']) {
      if (f[k].value !== '') body[k] = Number(f[k].value);
    }
    sizeBody(mergeForm, body);
    const status = document.getElementById('gis-merge-status');
    const button = mergeForm.querySelector('button[type=submit]');
    button.disabled = true;
    status.replaceChildren(t('gis.merging'));
    try {
      const rep = await api('/api/v1/merges', { method: 'POST', body });
      status.replaceChildren();
      await loadGenerations();
      await showGeneration(rep.generation, rep);
    } catch (e) {
      status.replaceChildren(errorBox(e));
    } finally {
      button.disabled = false;
    }
  });

  // showGeneration shows a generation's report and its pieces on the map.
  async function showGeneration(gen, rep) {
    try {
      st.report = rep || (await api(`/api/v1/generations/${gen}/report`));
      st.check = null;
      st.disputes = disputesBox(gen, { mayEdit, onShow: showBox });
      renderReport();
    } catch (e) {
      reportBox.replaceChildren(errorBox(e));
      return;
    }
    try {
      await mapReady(gen);
      const fc = await api(`/api/v1/generations/${gen}/pieces`);
      st.pieces = st.datum === 'gcj02' ? shiftGeoJSON(fc) : fc;
      showPieces(gen);
      renderLegend();
    } catch (e) {
      legend.replaceChildren(errorBox(e));
    }
  }

  // showBox zooms the review map to a WGS-84 bbox (shifted like the pieces
  // under a GCJ-02 basemap).
  function showBox(b) {
    let fc = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'LineString', coordinates: [[b[0], b[1]], [b[2], b[3]]] } }] };
    if (st.datum === 'gcj02') fc = shiftGeoJSON(fc);
    st.map?.fitBounds(bbox(fc), { padding: 60, maxZoom: 17, duration: 0 });
  }

  function genState(gen) {
    return st.gens.find((g) => g.id === gen)?.state || 'draft';
  }

  function renderReport() {
    const r = st.report;
    if (!r) return;
    const state = genState(r.generation);
    const lv = r.levels || {};
    const out = [h('h2', { id: 'gis-report-title', 'data-gen': r.generation, 'data-state': state,
      text: t('gis.draft', { gen: r.generation, state: t('state.' + state) }) + (r.params?.base ? ` · ${r.params.base.join(' > ')} · ${r.params.strategy || 'base'}` : '') })];
    const buttons = h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'gis-check', text: t('gis.check'), onclick: runCheck }),
      state === 'draft' && mayEdit ? h('button', { type: 'button', id: 'gis-activate', class: 'primary', text: t('gis.activate'), onclick: activate }) : null);
    out.push(buttons);
    if (st.check) {
      out.push(h('p', { id: 'gis-check-result', class: st.check.ok ? 'ok' : 'error',
        text: st.check.ok ? t('gis.check.ok') : t('gis.check.bad', { n: st.check.violations.length }) }));
    }
    if (st.activated) out.push(h('p', { class: 'ok', id: 'gis-activated', text: t('gis.activated', { gen: st.activated }) }));
    out.push(h('h3', { text: t('gis.report.levels') }));
    out.push(table(['col.level', 'col.areas', 'col.overlaps', 'col.overlap_m2', 'col.gaps', 'col.slivers', 'col.uncovered', 'col.new_grids', 'col.split', 'col.bad_codes'],
      LEVELS.filter((l) => lv[l]).map((l) => ({ attrs: { 'data-level': l }, cells: [t('level.' + l), fmt(lv[l].areas), fmt(lv[l].overlaps), fmt(lv[l].overlap_m2),
        fmt(lv[l].gaps_filled), fmt(lv[l].slivers_absorbed), fmt(lv[l].uncovered), fmt(lv[l].new_grids || 0), fmt(lv[l].split_at_border || 0), fmt(lv[l].bad_codes || 0)] })),
      { id: 'gis-levels' }));
    const counts = (title, prefix, obj, keys, id) => h('div', { class: 'counts', id },
      h('h3', { text: t(title) }), h('ul', {}, keys.map((k) => h('li', { 'data-k': k }, h('b', { text: fmt(obj?.[k] || 0) }), ' ', t(prefix + k)))));
    out.push(h('div', { class: 'row' },
      counts('gis.codes', 'codes.', r.grid_codes, ['kept', 'source', 'new'], 'gis-codes'),
      counts('gis.lineage', 'lin.', r.lineage, ['kept', 'reshaped', 'split', 'merged', 'retired', 'new'], 'gis-lineage')));
    out.push(renderSizes(r.sizes));
    if (st.disputes) out.push(st.disputes);
    const cw = Object.entries(r.crosswalk || {});
    if (cw.length) {
      out.push(h('h3', { text: t('gis.crosswalk') }));
      out.push(table(['cw.dept', 'cw.grids', 'cw.one_to_one', 'cw.within_one', 'cw.split', 'cw.outside_m2'],
        cw.map(([d, s]) => ({ cells: [d, fmt(s.grids), fmt(s.one_to_one), fmt(s.within_one), fmt(s.split), fmt(s.outside_m2)] }))));
    }
    const review = r.review || [];
    out.push(h('details', {}, h('summary', { text: t('gis.review', { n: review.length }) }),
      table(['rep.kind', 'col.level', 'rep.code', 'gis.piece.other', 'gis.piece.area', 'col.note'],
        review.slice(0, 200).map((i) => ({ cells: [t('kind.' + i.kind), t('level.' + i.level), i.code || '', i.other || '', fmt(i.area_m2), i.note || (i.households != null ? `${fmt(i.households)} ${t('size.range')}` : '')] })))));
    reportBox.replaceChildren(...out);
  }

  async function runCheck() {
    try {
      st.check = await api(`/api/v1/generations/${st.report.generation}/check`);
      renderReport();
    } catch (e) {
      reportBox.prepend(errorBox(e));
    }
  }

  async function activate() {
    const gen = st.report.generation;
    const active = st.gens.find((g) => g.state === 'active')?.id;
    confirmText.textContent = active ? t('gis.confirm', { gen, active }) : t('gis.confirm.first', { gen });
    confirmDlg.returnValue = '';
    confirmDlg.showModal();
    await new Promise((r) => confirmDlg.addEventListener('close', r, { once: true }));
    if (confirmDlg.returnValue !== 'ok') return;
    try {
      await api(`/api/v1/generations/${gen}/activate`, { method: 'POST' });
      st.activated = gen;
      await loadGenerations();
      renderReport();
      ctx.bus?.dispatchEvent(new CustomEvent('generation', { detail: gen }));
    } catch (e) {
      // 403 here is the approval rule (the role was checked before the
      // button was offered): say why and offer to ask.
      reportBox.prepend(e.status === 403 ? approvalForm(gen, e) : errorBox(e));
    }
  }

  // ---- generations and comparison ----
  async function loadGenerations() {
    try {
      st.gens = (await api('/api/v1/generations')).generations;
    } catch (e) {
      gensBox.replaceChildren(errorBox(e));
      return;
    }
    gensBox.replaceChildren(table(['col.gen', 'col.state', 'col.created', 'col.note', ''],
      st.gens.map((g) => ({ attrs: { 'data-gen': g.id, 'data-state': g.state },
        cells: [String(g.id), h('span', { class: 'badge ' + g.state, text: t('state.' + g.state) }), when(g.created_at), g.note || '',
          h('button', { type: 'button', class: 'small', text: t('gis.show'), onclick: () => showGeneration(g.id) })] })),
      { id: 'gis-gens-table' }));
    pendingActivations(ctx.me).then((box) => gensBox.append(box));
    const keep = [cmpFrom.value, cmpTo.value];
    for (const sel of [cmpFrom, cmpTo]) sel.replaceChildren(...st.gens.map((g) => h('option', { value: g.id, text: `${g.id} · ${t('state.' + g.state)}` })));
    const active = st.gens.find((g) => g.state === 'active');
    cmpFrom.value = keep[0] || (active ? active.id : st.gens[st.gens.length - 1]?.id);
    cmpTo.value = keep[1] || st.gens[0]?.id;
  }

  cmpForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      st.compare = await api(`/api/v1/generations/${cmpTo.value}/compare?with=${cmpFrom.value}`);
      renderCompare();
    } catch (e) {
      cmpBox.replaceChildren(errorBox(e));
    }
  });

  function renderCompare() {
    const d = st.compare;
    if (!d) return;
    const keys = ['kept', 'reshaped', 'added', 'removed', 'renamed', 'reparented'];
    cmpBox.replaceChildren(h('h3', { text: t('gis.compare.title', { from: d.from, to: d.to }) }),
      table(['col.level', ...keys.map((k) => 'diff.' + k)],
        LEVELS.map((l) => ({ attrs: { 'data-level': l }, cells: [t('level.' + l), ...keys.map((k) => fmt(d.levels[l]?.[k] || 0))] })),
        { id: 'gis-compare-table', 'data-from': d.from, 'data-to': d.to }));
  }

  // ---- the review map ----
  // mapReady makes the map once, with the active generation's style or,
  // before any generation is active (a first merge), generation gen's.
  let ready;
  function mapReady(gen) {
    if (ready) return ready;
    ready = (async () => {
      let style;
      try {
        style = await api('/tiles/style.json');
      } catch (e) {
        if (!gen || e.status !== 404) throw e;
        style = await api(`/tiles/style.json?gen=${gen}`);
      }
      st.datum = style.metadata?.['gridd:datum'] || 'wgs84';
      const map = new maplibregl.Map({ container: mapEl, style, ...extentOptions(style), maxZoom: 18, attributionControl: { compact: true } });
      map.addControl(new maplibregl.NavigationControl(), 'top-left');
      map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
      st.map = map;
      window.griddGisMap = map; // for the browser tests
      await new Promise((r) => (map.loaded() ? r() : map.once('load', r)));
      map.addSource('pieces', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      const color = ['match', ['get', 'kind'], ...KINDS.flat(), '#999'];
      map.addLayer({ id: 'pieces-fill', type: 'fill', source: 'pieces', paint: { 'fill-color': color, 'fill-opacity': 0.55 } });
      map.addLayer({ id: 'pieces-line', type: 'line', source: 'pieces', paint: { 'line-color': color, 'line-width': 1.5 } });
      map.on('click', 'pieces-fill', (e) => {
        const p = e.features[0].properties;
        new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(kv([
          ['rep.kind', t('kind.' + p.kind)], ['col.level', t('level.' + p.level)], ['rep.code', p.code || ''],
          ['gis.piece.other', p.other || ''], ['gis.piece.area', fmt(p.area_m2, 1)]])).addTo(map);
      });
      map.on('mouseenter', 'pieces-fill', () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', 'pieces-fill', () => (map.getCanvas().style.cursor = ''));
      return map;
    })();
    ready.catch(() => (ready = null)); // try again next time
    return ready;
  }

  // showPieces puts the pieces on the map and the draft's grids over the
  // active ones (before: the style's lines; after: dashed red).
  function showPieces(gen) {
    const map = st.map;
    map.getSource('pieces').setData(st.pieces);
    applyKindFilter();
    if (map.getLayer('draft-line')) map.removeLayer('draft-line');
    if (map.getSource('draft')) map.removeSource('draft');
    const q = `?gen=${gen}` + (st.datum === 'gcj02' ? '&datum=gcj02' : '');
    map.addSource('draft', { type: 'vector', tiles: [location.origin + '/tiles/grids/{z}/{x}/{y}.mvt' + q], minzoom: 0, maxzoom: 16 });
    map.addLayer({ id: 'draft-line', type: 'line', source: 'draft', 'source-layer': 'grids', minzoom: 10,
      paint: { 'line-color': '#c92a2a', 'line-width': 1.2, 'line-dasharray': [3, 2] } }, 'pieces-fill');
    const b = bbox(st.pieces);
    if (b) map.fitBounds(b, { padding: 40, maxZoom: 14, duration: 0 });
  }

  function applyKindFilter() {
    if (!st.map?.getLayer('pieces-fill')) return;
    const shown = KINDS.map(([k]) => k).filter((k) => !st.hiddenKinds.has(k));
    const filter = ['in', ['get', 'kind'], ['literal', shown]];
    st.map.setFilter('pieces-fill', filter);
    st.map.setFilter('pieces-line', filter);
  }

  function toggleLayers(ids, on) {
    for (const id of ids) if (st.map?.getLayer(id)) st.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }

  function renderLegend() {
    const n = {};
    for (const f of st.pieces?.features || []) n[f.properties.kind] = (n[f.properties.kind] || 0) + 1;
    const toggle = (key, id, ids) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', id, checked: true, onchange: (e) => toggleLayers(ids, e.target.checked) }), ' ', t(key));
    legend.replaceChildren(h('b', { text: t('gis.pieces') }),
      h('ul', {}, KINDS.map(([k, c]) => h('li', { 'data-kind': k, 'data-count': n[k] || 0 },
        h('label', { class: 'check' },
          h('input', { type: 'checkbox', checked: !st.hiddenKinds.has(k), onchange: (e) => {
            if (e.target.checked) st.hiddenKinds.delete(k);
            else st.hiddenKinds.add(k);
            applyKindFilter();
          } }),
          h('i', { class: 'swatch', style: `background:${c}` }), ` ${t('kind.' + k)} `, h('span', { class: 'count', text: fmt(n[k] || 0) }))))),
      toggle('gis.before', 'gis-before', ['grids-line', 'grids-fill', 'communities-fill', 'communities-line']),
      toggle('gis.after', 'gis-after', ['draft-line']));
  }

  ctx.bus?.addEventListener('view', (e) => {
    if (e.detail !== 'gis') return;
    loadGenerations();
    mapReady().then((m) => m.resize()).catch(() => {}); // no active generation yet: the map waits for a merge
  });
  onLang(() => {
    renderJob();
    renderReport();
    renderCompare();
    if (st.pieces) renderLegend();
    if (st.gens.length) loadGenerations();
    applyI18n(root);
  });
}

function bbox(fc) {
  let b = null;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (!b) b = [c[0], c[1], c[0], c[1]];
      else b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(walk);
  };
  for (const f of fc?.features || []) if (f.geometry) walk(f.geometry.coordinates);
  return b && [[b[0], b[1]], [b[2], b[3]]];
}
