-- bench/field/unleash_bench.sh: one team's flags, cohorts and group types as one JSON document, the
-- input of bench/field/unleash/translate_flags.mjs.
--   psql -X -At -d app -v token=phc_demo -f bench/field/unleash/export_flags.sql > flags.json
-- A static cohort lists one distinct id per member (the first in sort order).
\set ON_ERROR_STOP 1
SELECT jsonb_build_object(
  'token', :'token',
  'flags', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', f.key, 'active', f.active, 'definition', f.definition)
                                      ORDER BY f.id), '[]')
              FROM flag_eval.flags f WHERE f.team_id = t.id AND NOT f.deleted),
  'group_types', (SELECT coalesce(jsonb_object_agg(g.group_type_index::text, g.group_type), '{}')
                    FROM flag_eval.group_type_mappings g WHERE g.team_id = t.id),
  'cohorts', (SELECT coalesce(jsonb_object_agg(c.id::text, jsonb_build_object(
                        'name', c.name, 'is_static', c.is_static, 'filters', c.filters,
                        'members', CASE WHEN c.is_static THEN
                            (SELECT coalesce(jsonb_agg(d.distinct_id ORDER BY d.distinct_id), '[]')
                               FROM flag_eval.cohort_members m
                               CROSS JOIN LATERAL (SELECT min(distinct_id) AS distinct_id
                                                     FROM flag_eval.person_distinct_ids
                                                    WHERE team_id = t.id AND person_id = m.person_id) d
                              WHERE m.cohort_id = c.id AND d.distinct_id IS NOT NULL)
                          ELSE '[]' END)), '{}')
                FROM flag_eval.cohorts c WHERE c.team_id = t.id))
FROM flag_eval.teams t WHERE t.api_token = :'token';
