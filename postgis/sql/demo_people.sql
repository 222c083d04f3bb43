-- The demo city's people (定人定岗定责), synthetic: for every grid of the
-- generation a 网格长 and two 专职网格员 (the A post on office hours, the B
-- post covering the rest, so that a case finds someone at any hour); for
-- every community its 社区民警 and supervisor; for every street the
-- departments' people who serve it (城管 A and B, 市场监管) and its
-- supervisor, and each department's supervisor (部门督办人: 城管, 市场监管,
-- 公安) there; the district's supervisor. Names are drawn from common
-- surnames and given names by a hash of the seed and the post, so the same
-- seed gives the same people; phone numbers are of the form 199…, drawn
-- like the names. Reads gridd.generation and gridd.seed (set_config).

CREATE TEMP TABLE demo_posts ON COMMIT DROP AS
WITH p (level, role, post, dept, office) AS (VALUES
    ('grid',      'grid_chief',           'A', 'zongzhi',   false),
    ('grid',      'full_time',            'A', 'zongzhi',   true),
    ('grid',      'full_time',            'B', 'zongzhi',   false),
    ('community', 'police',               'A', 'gongan',    false),
    ('community', 'community_supervisor', 'A', 'zongzhi',   false),
    ('street',    'chengguan',            'A', 'chengguan', true),
    ('street',    'chengguan',            'B', 'chengguan', false),
    ('street',    'market',               'A', 'shichang',  false),
    ('street',    'street_supervisor',    'A', 'zongzhi',   false),
    ('street',    'dept_supervisor',      'A', 'chengguan', false),
    ('street',    'dept_supervisor',      'A', 'shichang',  false),
    ('street',    'dept_supervisor',      'A', 'gongan',    false),
    ('district',  'district_supervisor',  'A', 'zongzhi',   false)),
posts AS (
    SELECT a.code AS area_code, p.role, p.post, p.dept, p.office,
           row_number() OVER (ORDER BY a.code, p.role, p.post, p.dept) AS n,
           current_setting('gridd.seed') || ':' || a.code || ':' || p.role || ':' || p.post || CASE WHEN p.role = 'dept_supervisor' THEN ':' || p.dept ELSE '' END AS k
    FROM areas a JOIN p ON p.level = a.level
    WHERE a.generation = current_setting('gridd.generation')::int),
names AS (
    SELECT '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹熊白孟秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤' AS sn,
           '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰萍红建国文斌宇浩凯鹏俊峰琳雪梅燕飞林鑫波辉宁晨欣怡佳琪海亮忠诚慧颖' AS gn)
SELECT posts.area_code, posts.role, posts.post, posts.dept, posts.office,
       '199' || lpad((posts.n + 100000 * (current_setting('gridd.seed')::bigint % 900))::text, 8, '0') AS phone,
       substr(sn, 1 + (hashtext(k || 's')::bigint & 2147483647)::int % char_length(sn), 1)
       || substr(gn, 1 + (hashtext(k || 'g')::bigint & 2147483647)::int % char_length(gn), 1)
       || CASE WHEN (hashtext(k || 'l')::bigint & 2147483647) % 3 > 0
               THEN substr(gn, 1 + (hashtext(k || 'h')::bigint & 2147483647)::int % char_length(gn), 1) ELSE '' END AS name
FROM posts, names;

CREATE TEMP TABLE demo_people ON COMMIT DROP AS
WITH ins AS (
    INSERT INTO people (name, phone, dept_code)
    SELECT name, phone, dept FROM demo_posts ORDER BY phone
    RETURNING id, phone)
SELECT ins.id, d.* FROM ins JOIN demo_posts d USING (phone);

INSERT INTO assignments (person_id, area_code, role, post)
SELECT id, area_code, role, post FROM demo_people;

-- 08:30–17:30, Monday to Friday, for the A posts that keep office hours.
INSERT INTO duty_windows (person_id, weekday, start_min, end_min)
SELECT id, wd, 510, 1050 FROM demo_people, generate_series(1, 5) wd WHERE office;
