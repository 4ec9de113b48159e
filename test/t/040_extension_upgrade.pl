# ALTER EXTENSION flag_eval UPDATE on a populated database, on a primary and its streaming standby.
#
# The oldest kept install script (sql/flag_eval--0.1.0.sql, as released) is installed on a primary
# with a standby, and filled: deploy/sample_data.sql (a team, 50 flags, persons with distinct ids,
# groups, dynamic and static cohorts) and experience-continuity keys. Then the extension is updated
# to the default version, and:
# - on the primary and on the standby, every row of every table of the extension is still there,
#   unchanged, and decide(), definitions() and preview() give the same answers as before;
# - the updated database has exactly the objects of a fresh install of the default version
#   (functions with their properties and bodies, tables, columns, indexes, constraints, triggers,
#   grants, what pg_dump keeps), so an upgrade script cannot drift from the install script;
# - the updated extension keeps working: a flag added on the primary reaches the standby's answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;

my $OLDEST = '0.1.0';
my $TOKEN  = 'phc_demo';

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
my $current = $primary->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'flag_eval'");
isnt($current, $OLDEST, "the default version ($current) is newer than $OLDEST");
is( $primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension_update_paths('flag_eval') "
		  . "WHERE source = '$OLDEST' AND target = '$current' AND path IS NOT NULL"),
	'1',
	"an update path leads from $OLDEST to $current");
$primary->safe_psql('postgres', "CREATE EXTENSION flag_eval VERSION '$OLDEST'");

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# ---- a populated database ----
my $sample = FlagEval::Test::DecideService::repository() . '/deploy/sample_data.sql';
$primary->command_ok(
	[ 'psql', '-X', '-q', '-v', 'persons=500', '-d', $primary->connstr('postgres'), '-f', $sample ],
	"deploy/sample_data.sql loads into $OLDEST");
# Continuity keys: the anonymous id each person had before identifying.
$primary->safe_psql('postgres',
	"SELECT flag_eval.record_hash_key_overrides('$TOKEN', 'user-' || i, 'anon-' || i) FROM generate_series(1, 40) i");
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM flag_eval.hash_key_overrides'),
	'>', 0, 'continuity keys recorded');
$primary->wait_for_catchup($standby, 'replay');

# Every table of the extension, from the catalog, with its columns before the update (a column
# the update adds is checked on its own below).
my %columns_before = map { split /\|/, $_, 2 } split /\n/, $primary->safe_psql('postgres',
	"SELECT c.oid::regclass, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) "
	  . "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
	  . "WHERE c.relnamespace = 'flag_eval'::regnamespace AND c.relkind = 'r' GROUP BY c.oid ORDER BY 1");

# Each table's row count and a digest of its rows, over those columns.
sub table_contents
{
	my ($node) = @_;
	return { map {
			my $columns = $columns_before{$_};
			$_ => $node->safe_psql('postgres',
				"SELECT count(*) || ' rows, ' || md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) "
				  . "FROM (SELECT ROW($columns) AS r FROM $_) t")
	} keys %columns_before };
}

# What the table-backed functions answer: decide() for persons, an anonymous visitor, an
# identified one with a continuity key, and group members; definitions(); preview() of a new flag
# and of each stored flag (rollouts, variants, dynamic, nested and static cohorts, group flags,
# continuity, dependencies, super groups): 0.1.0's preview() was plpgsql, the current one runs
# through the engine, and both must count the same.
my $PREVIEW_FLAG = encode_json(
	{
		key     => 'upgrade-preview',
		filters => {
			groups => [
				{
					properties => [ { key => 'plan', type => 'person', operator => 'exact', value => [ 'pro', 'enterprise' ] } ],
					rollout_percentage => 60
				}
			]
		}
	});
my @requests = (
	(map { "'user-$_', '{}'" } 1 .. 25),
	"'device-5', '{}'",
	"'never-seen', '{\"plan\": \"enterprise\"}'",
	"'user-3', '{}', '{\"organization\": \"org-3\", \"company\": \"company-7\"}'",
	"'user-12', '{}', '{}', '{}', 'anon-12'");

sub answers
{
	my ($node) = @_;
	my %out = map { ("decide($_)" => $node->safe_psql('postgres', "SELECT flag_eval.decide('$TOKEN', $_)::jsonb")) }
	  @requests;
	# (the updated feed also says the team's property matching version, checked below)
	$out{definitions} = $node->safe_psql('postgres',
		"SELECT flag_eval.definitions('$TOKEN')::jsonb - 'property_matching_version'");
	$out{preview} = $node->safe_psql('postgres',
		"SELECT json_agg(p ORDER BY p::text) FROM flag_eval.preview('$TOKEN', '$PREVIEW_FLAG') p");
	for my $line (split /\n/, $node->safe_psql('postgres',
		"SELECT f.key || ' ' || json_agg(p ORDER BY p::text) FROM flag_eval.flags f "
		  . "CROSS JOIN LATERAL flag_eval.preview('$TOKEN', f.definition || jsonb_build_object('key', f.key)) p "
		  . "WHERE NOT f.deleted GROUP BY f.key"))
	{
		my ($key, $rows) = split / /, $line, 2;
		$out{"preview($key)"} = $rows;
	}
	return \%out;
}

my %before = (primary => table_contents($primary), standby => table_contents($standby));
my $answers_before = answers($primary);
is_deeply($before{standby}, $before{primary}, 'before the update the standby has the primary\'s rows');
cmp_ok(scalar keys %{ $before{primary} }, '>=', 9, scalar(keys %{ $before{primary} }) . ' tables of the extension');
is_deeply(answers($standby), $answers_before, 'before the update the standby answers as the primary');

# ---- the update ----
$primary->safe_psql('postgres', 'ALTER EXTENSION flag_eval UPDATE');
is($primary->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'"),
	$current, "updated to $current on the primary");
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'"),
	$current, "the standby replayed the update to $current");

for my $node ($primary, $standby)
{
	my $name = $node->name;
	is_deeply(table_contents($node), $before{primary}, "$name: every row of every table survived the update");
	is($node->safe_psql('postgres', 'SELECT string_agg(DISTINCT property_matching_version::text, \',\') FROM flag_eval.teams'),
		'1', "$name: every team keeps PostHog's default property matching version (1)");
	is($node->safe_psql('postgres', "SELECT flag_eval.definitions('$TOKEN') -> 'property_matching_version'"),
		'1', "$name: the updated feed says it");
	is_deeply(answers($node), $answers_before,
		"$name: decide(), definitions() and preview() answer as before the update");
}

# ---- the updated database has the objects of a fresh install ----
# One line per object of the extension with what defines it; compared as text between the
# updated database and a fresh one.
my $catalog_sql = q{
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT format('function %s returns %s lang %s volatility %s parallel %s strict %s secdef %s cost %s rows %s config %s acl %s body %s comment %s',
                p.oid::regprocedure, pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proparallel,
                p.proisstrict, p.prosecdef, p.procost, p.prorows, p.proconfig, p.proacl, md5(p.prosrc || coalesce(p.probin, '')),
                obj_description(p.oid, 'pg_proc')) AS line
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
  WHERE p.pronamespace = 'flag_eval'::regnamespace
  UNION ALL
  SELECT format('relation %s kind %s acl %s comment %s', c.oid::regclass, c.relkind, c.relacl, obj_description(c.oid, 'pg_class'))
  FROM pg_class c WHERE c.relnamespace = 'flag_eval'::regnamespace
  UNION ALL
  SELECT format('column %s.%s %s not null %s default %s identity %s generated %s', c.oid::regclass, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = 'flag_eval'::regnamespace AND c.relkind IN ('r', 'v', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'flag_eval'::regnamespace
  UNION ALL
  SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = 'flag_eval'::regnamespace
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = 'flag_eval'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT format('extension %s config %s', extversion, ARRAY(SELECT x::regclass::text FROM unnest(extconfig) x ORDER BY 1))
  FROM pg_extension WHERE extname = 'flag_eval'
  UNION ALL
  SELECT format('member %s', pg_describe_object(classid, objid, objsubid))
  FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'flag_eval')
) objects};
$primary->safe_psql('postgres', 'CREATE DATABASE fresh');
$primary->safe_psql('fresh', 'CREATE EXTENSION flag_eval');
my $updated = $primary->safe_psql('postgres', $catalog_sql);
my $fresh   = $primary->safe_psql('fresh',    $catalog_sql);
cmp_ok(scalar(split /\n/, $fresh), '>', 50, 'the catalog comparison sees the extension\'s objects');
is($updated, $fresh, "the updated database has exactly the objects of a fresh $current install");

# ---- who could call decide() still can, with its new signature ----
# 0.2.0's decide() takes a device id: the function is replaced, and the update carries its
# privileges over (here PUBLIC's EXECUTE revoked, one role granted it).
my $OLD_DECIDE = 'flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[])';
my $NEW_DECIDE = 'flag_eval.decide(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[])';
$primary->safe_psql('postgres', 'CREATE DATABASE granted');
$primary->safe_psql('granted', "CREATE EXTENSION flag_eval VERSION '$OLDEST'");
$primary->safe_psql('granted',
	"CREATE ROLE decide_caller; CREATE ROLE bystander; REVOKE EXECUTE ON FUNCTION $OLD_DECIDE FROM PUBLIC; "
	  . "GRANT EXECUTE ON FUNCTION $OLD_DECIDE TO decide_caller");
$primary->safe_psql('granted', 'ALTER EXTENSION flag_eval UPDATE');
is( $primary->safe_psql('granted',
		"SELECT has_function_privilege('decide_caller', '$NEW_DECIDE', 'EXECUTE') || ' ' "
		  . "|| has_function_privilege('bystander', '$NEW_DECIDE', 'EXECUTE')"),
	'true false',
	'the updated decide() keeps the old one\'s privileges: granted to one role, revoked from PUBLIC');
my $OUTCOMES = 'flag_eval.decide_outcomes(text, text, jsonb, jsonb, jsonb, text, text[], text, text, text[])';
is( $primary->safe_psql('granted',
		"SELECT has_function_privilege('decide_caller', '$OUTCOMES', 'EXECUTE') || ' ' "
		  . "|| has_function_privilege('bystander', '$OUTCOMES', 'EXECUTE')"),
	'true false',
	'decide_outcomes(), new in 0.2.0, gets decide()\'s privileges too');

# ---- a stored flag 0.2.0 refuses stops the update, named ----
# What 0.1.0's library let through (PostHog's typed-rules format); the current library refuses it,
# so the table's own checks are set aside to store it.
$primary->safe_psql('postgres', 'CREATE DATABASE refused');
$primary->safe_psql('refused', "CREATE EXTENSION flag_eval VERSION '$OLDEST'");
$primary->safe_psql('refused', q{
	INSERT INTO flag_eval.teams (name, api_token, secret_token) VALUES ('old', 'phc_old', 'phs_old');
	ALTER TABLE flag_eval.flags DROP CONSTRAINT flags_definition_valid;
	SET session_replication_role = replica;
	INSERT INTO flag_eval.flags (team_id, key, definition)
	SELECT id, 'typed-rules', '{"filters": {"version": 2, "rules": []}}' FROM flag_eval.teams});
my ($refused_rc, $refused_out, $refused_err) = $primary->psql('refused', 'ALTER EXTENSION flag_eval UPDATE');
isnt($refused_rc, 0, 'a stored flag 0.2.0 refuses: the update stops');
like($refused_err, qr/refuses some stored flags.*flag typed-rules: .*filters\.version/s,
	'and names the flag and its problem');
is($primary->safe_psql('refused', "SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'"),
	$OLDEST, 'nothing was updated');
$primary->safe_psql('refused', q{DELETE FROM flag_eval.flags WHERE key = 'typed-rules'});
$primary->safe_psql('refused', 'ALTER EXTENSION flag_eval UPDATE');
is($primary->safe_psql('refused', "SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'"),
	$current, 'once it is gone, the update goes through');

# ---- the updated extension keeps working, on the standby too ----
my $new_flag = encode_json({ key => 'after-upgrade', filters => { groups => [ { rollout_percentage => 100 } ] } });
$primary->safe_psql('postgres',
	"INSERT INTO flag_eval.flags (team_id, key, definition) "
	  . "SELECT id, 'after-upgrade', '$new_flag' FROM flag_eval.teams WHERE api_token = '$TOKEN'");
$primary->wait_for_catchup($standby, 'replay');
is( $standby->safe_psql('postgres',
		"SELECT flag_eval.decide('$TOKEN', 'user-1')::jsonb #>> '{flags,after-upgrade,enabled}'"),
	'true',
	'a flag added after the update reaches decide() on the standby');
like( $standby->safe_psql('postgres', "SELECT flag_eval.decide_outcomes('$TOKEN', 'user-1')"),
	qr/^after-upgrade\t\d+\tt\tcondition_match\t0\t\\N\t$/m,
	'and decide_outcomes(), the decide service\'s form of it');

$standby->stop;
$primary->stop;
done_testing();
