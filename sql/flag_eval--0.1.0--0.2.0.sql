-- flag_eval 0.1.0 -> 0.2.0: ALTER EXTENSION flag_eval UPDATE.
\echo Use "ALTER EXTENSION flag_eval UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 opens the upgrade path: its objects are those of 0.1.0, unchanged, so there is nothing
-- to alter here. Every later change to the SQL interface is made twice, in the new version's
-- install script and in an upgrade script like this one, and test/t/040_extension_upgrade.pl
-- checks that an updated database has exactly the objects of a fresh install, and every row.
