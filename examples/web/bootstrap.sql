-- posthog-js's bootstrap for one visitor, from flag_eval.decide() in the app's own database
-- (docs/web.md): what server.mjs builds from flag-decide's answer. Only a complete answer is
-- bootstrapped: with a failed flag, only the identity.
--
--   psql -v token=phc_demo -v distinct_id=user-7 -v identified=true -f bootstrap.sql
SELECT jsonb_build_object('distinctID', :'distinct_id', 'isIdentifiedID', :'identified'::boolean)
       || CASE WHEN (answer ->> 'errorsWhileComputingFlags')::boolean THEN '{}'::jsonb
          ELSE jsonb_build_object(
            -- posthog-js reads a variant, or true / false
            'featureFlags', coalesce(
              (SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(flag -> 'variant') = 'string'
                                                 THEN flag -> 'variant' ELSE flag -> 'enabled' END)
               FROM jsonb_each(answer -> 'flags') AS f(key, flag)), '{}'),
            -- payloads as JSON values (decide() gives their JSON text), for flags that are on
            'featureFlagPayloads', coalesce(
              (SELECT jsonb_object_agg(key, (flag -> 'metadata' ->> 'payload')::jsonb)
               FROM jsonb_each(answer -> 'flags') AS f(key, flag)
               WHERE (flag ->> 'enabled')::boolean AND flag -> 'metadata' ->> 'payload' IS NOT NULL),
              '{}'))
          END AS bootstrap
FROM (SELECT flag_eval.decide(:'token', :'distinct_id', evaluation_runtime => 'client')::jsonb
      AS answer) AS d;
