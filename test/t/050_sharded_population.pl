# Sharded populations on core PostgreSQL: two shard servers and a coordinator with postgres_fdw.
#
# The coordinator has generated persons (bench/inputs/sql/person_properties.sql) twice: in an
# unsharded table persons_local, and in persons, hash-partitioned by distinct id over two foreign
# partitions whose rows live on shard1 and shard2 (the coordinator's INSERT routed them there).
# Its servers carry extensions 'flag_eval' (postgres_fdw may then send the extension's functions
# to the shards) and async_capable 'true' (an Append over both shards scans them at once).
# - Each shard holds exactly the persons of its hash partition, and some of them.
# - For rollouts (xxh3 and sha1), property filters, several condition sets and multivariate flags:
#   the count over persons equals the count over persons_local, with enable_partitionwise_aggregate
#   off and on, and so do the variant breakdowns (GROUP BY flag_variant); every count is above 0
#   and below the population, so that a wrong evaluation shows.
# - The same answers from the form that counts on the shards: one aggregate per foreign partition
#   under UNION ALL. EXPLAIN VERBOSE shows where the work runs: over the parent, the flag is in the
#   Remote SQL of both (async) foreign scans, so the shards evaluate and send back only the rows
#   it keeps; in the per-partition form the count (and GROUP BY flag_variant) is in the Remote SQL
#   too, so each shard returns one row (per variant). On PostgreSQL 15 enable_partitionwise_aggregate
#   alone does not get there: over the parent it splits the count by partition but aggregates
#   on the coordinator, because postgres_fdw pushes no partial aggregate (only a full one, for a
#   GROUP BY that contains the partition key); that is asserted too, as the reason for the form.
# - preview(): the extension's own tables cannot be partitioned, but a foreign table may inherit
#   from one. deploy/sample_data.sql is loaded on each shard, which then keeps only the persons
#   whose first distinct id (byte order, the one preview() buckets with) hashes to it, with their
#   distinct ids and static cohort memberships (ON DELETE CASCADE), and records continuity keys
#   for them. The coordinator holds the team, flags, cohorts and groups (sample_data.sql with 0
#   persons) and, for each shard, foreign tables that INHERIT flag_eval.persons,
#   person_distinct_ids, cohort_members and hash_key_overrides. Its own person tables stay empty,
#   yet preview() of every stored flag (rollouts, variants, every operator, dynamic, nested and
#   static cohorts, group flags, dependencies, continuity) and of a new flag equals preview() on
#   an unsharded database with the same data. (preview() evaluates on the coordinator, over the
#   rows the shards send.)
# - decide() reads through indexes of the coordinator's own tables, so a request goes to the shard
#   that holds its person: there it answers as the unsharded database does.
# (Checked: with 400 extra persons on one shard, every sharded count and breakdown assertion fails;
# with one shard's foreign table of person_distinct_ids dropped, every preview() assertion fails.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;

my $REPO           = FlagEval::Test::DecideService::repository();
my $PERSONS        = 4000;    # generated persons, sharded by distinct id
my $SAMPLE_PERSONS = 2000;    # deploy/sample_data.sql persons, for preview()
my $TOKEN          = 'phc_demo';
my @SHARDS         = ('shard1', 'shard2');
my $N_SHARDS       = scalar @SHARDS;

# ---- three servers, flag_eval in each ----
my %node;
for my $name (@SHARDS, 'coordinator')
{
	$node{$name} = PostgreSQL::Test::Cluster->new($name);
	$node{$name}->init;
	$node{$name}->start;
	$node{$name}->safe_psql('postgres', 'CREATE EXTENSION flag_eval');
}
my $coordinator = $node{coordinator};
my $os_user     = getpwuid($<);

# A SQL literal of a flag (JSON text) as jsonb.
sub jsonb
{
	my ($json) = @_;
	$json =~ s/'/''/g;
	return "'$json'::jsonb";
}

sub flag_file
{
	my ($name) = @_;
	return encode_json(decode_json(slurp_file("$REPO/bench/inputs/flags/$name.json")));
}

# ---- the coordinator: a postgres_fdw server for each shard ----
# extensions: flag_eval's IMMUTABLE functions may be sent to the shard; async_capable: an Append
# over both shards starts both scans before waiting for either; fetch_size: rows per round trip
# when rows do come back; batch_size: rows per INSERT sent while loading.
$coordinator->safe_psql('postgres', 'CREATE EXTENSION postgres_fdw');

sub create_server
{
	my ($server, $shard, $remote_db) = @_;
	$coordinator->safe_psql('postgres', sprintf(
			"CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '%s', port '%d', dbname '%s', "
			  . "extensions 'flag_eval', async_capable 'true', fetch_size '10000', batch_size '1000'); "
			  . "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (user '%s')",
			$server, $node{$shard}->host, $node{$shard}->port, $remote_db, $server, $os_user));
}
create_server($_, $_, 'postgres') for @SHARDS;

# ---- generated persons: unsharded, and hash-partitioned by distinct id over the shards ----
for my $shard (@SHARDS)
{
	$node{$shard}->safe_psql('postgres',
		'CREATE TABLE persons (id bigint PRIMARY KEY, distinct_id text NOT NULL, properties jsonb NOT NULL)');
}
$coordinator->safe_psql('postgres', slurp_file("$REPO/bench/inputs/sql/person_properties.sql") . qq{
CREATE TABLE persons_local AS
SELECT id, md5(id::text)::uuid::text AS distinct_id, pg_temp.person_properties(id) AS properties
FROM generate_series(1, $PERSONS) AS id;
ANALYZE persons_local;
CREATE TABLE persons (id bigint NOT NULL, distinct_id text NOT NULL, properties jsonb NOT NULL)
    PARTITION BY HASH (distinct_id);
});
for my $i (0 .. $#SHARDS)
{
	$coordinator->safe_psql('postgres',
		"CREATE FOREIGN TABLE persons_$SHARDS[$i] PARTITION OF persons "
		  . "FOR VALUES WITH (MODULUS $N_SHARDS, REMAINDER $i) "
		  . "SERVER $SHARDS[$i] OPTIONS (table_name 'persons')");
}
$coordinator->safe_psql('postgres', 'INSERT INTO persons SELECT * FROM persons_local');

# Each shard holds the persons of its partition: compared on the shard itself with the rows of
# persons_local that satisfy the partition's bound (computed on the coordinator, on local rows:
# satisfies_hash_partition takes the coordinator's table).
my $sharded_total = 0;
for my $i (0 .. $#SHARDS)
{
	my $shard = $SHARDS[$i];
	my $held  = $node{$shard}->safe_psql('postgres',
		"SELECT count(*) || ' ' || md5(string_agg(distinct_id, ',' ORDER BY distinct_id COLLATE \"C\")) FROM persons");
	my $bound = $coordinator->safe_psql('postgres',
		"SELECT count(*) || ' ' || md5(string_agg(distinct_id, ',' ORDER BY distinct_id COLLATE \"C\")) "
		  . "FROM persons_local WHERE satisfies_hash_partition('persons'::regclass, $N_SHARDS, $i, distinct_id)");
	is($held, $bound, "$shard holds exactly the persons of hash partition $i");
	my ($count) = split / /, $held;
	cmp_ok($count, '>', $PERSONS / 4, "$shard holds a share of the persons ($count of $PERSONS)");
	$sharded_total += $count;
}
is($sharded_total, $PERSONS, 'the shards hold every person once');

# ---- the flags ----
my %FLAGS = (
	rollout       => flag_file('rollout_50'),          # a pure rollout, xxh3
	rollout_sha1  => encode_json({ key => 'shard-rollout-sha1', bucketing => 'sha1',
			filters => { groups => [ { properties => [], rollout_percentage => 30 } ] } }),
	three_filters => flag_file('three_filters_50'),    # exact (a list), exact, gte, and a rollout
	multi_set     => encode_json({ key => 'shard-multi-set', filters => { groups => [
					{ properties => [ { key => 'country', type => 'person', operator => 'exact', value => 'US' } ],
						rollout_percentage => 100 },
					{ properties => [ { key => 'plan', type => 'person', operator => 'exact', value => 'enterprise' } ],
						rollout_percentage => 50 },
					{ properties => [ { key => 'app_version', type => 'person', operator => 'semver_gte', value => '3.0.0' } ],
						rollout_percentage => 20 } ] } }),
	text_semver_sha1 => encode_json({ key => 'shard-webmail-old-app', bucketing => 'sha1', filters => { groups => [
					{ properties => [
							{ key => 'email', type => 'person', operator => 'icontains', value => '@GMAIL' },
							{ key => 'app_version', type => 'person', operator => 'semver_lt', value => '2.10.0' } ],
						rollout_percentage => 70 } ] } }),
	multivariate      => flag_file('multivariate'),    # 3 variants over everyone, xxh3
	multivariate_sha1 => encode_json({ key => 'shard-theme', bucketing => 'sha1', filters => {
				groups => [ { properties => [ { key => 'country', type => 'person', operator => 'exact',
								value => [ 'GB', 'DE', 'FR', 'US' ] } ], rollout_percentage => 80 } ],
				multivariate => { variants => [
						{ key => 'light',  rollout_percentage => 10 },
						{ key => 'dark',   rollout_percentage => 30 },
						{ key => 'system', rollout_percentage => 60 } ] } } }),);
# multivariate enables everyone (its count is the population); the others leave some out.
my @COUNTED    = qw(rollout rollout_sha1 three_filters multi_set text_semver_sha1 multivariate_sha1);
my @BREAKDOWNS = qw(multivariate multivariate_sha1);

# The queries, over a table (persons_local or persons) or, per shard, over each foreign partition
# under UNION ALL.
sub count_sql
{
	my ($flag, $table) = @_;
	return "SELECT count(*) FROM $table WHERE flag_eval.flag_eval(${\ jsonb($flag)}, distinct_id, properties)";
}

sub per_shard_count_sql
{
	my ($flag) = @_;
	return 'SELECT sum(n) FROM (' . join(' UNION ALL ', map { count_sql($flag, "persons_$_") } @SHARDS) . ') AS s(n)';
}

sub variants_sql
{
	my ($flag, $table) = @_;
	return "SELECT flag_eval.flag_variant(${\ jsonb($flag)}, distinct_id, properties) AS variant, count(*) AS n "
	  . "FROM $table GROUP BY 1";
}

# One line: "variant=n ..." in variant order, "none" for no variant.
sub breakdown_sql
{
	my ($counts) = @_;
	return "SELECT string_agg(coalesce(variant, 'none') || '=' || n, ' ' ORDER BY coalesce(variant, 'none')) "
	  . "FROM ($counts) AS v";
}

sub per_shard_variants_sql
{
	my ($flag) = @_;
	return 'SELECT variant, sum(n) AS n FROM ('
	  . join(' UNION ALL ', map { variants_sql($flag, "persons_$_") } @SHARDS) . ') AS s GROUP BY variant';
}

sub coordinator_query
{
	my ($sql, $partitionwise) = @_;
	return $coordinator->safe_psql('postgres',
		'SET enable_partitionwise_aggregate = ' . ($partitionwise ? 'on' : 'off') . "; $sql");
}

# ---- counts and breakdowns: sharded = unsharded ----
for my $name (@COUNTED)
{
	my $flag     = $FLAGS{$name};
	my $expected = $coordinator->safe_psql('postgres', count_sql($flag, 'persons_local'));
	ok($expected > 0 && $expected < $PERSONS, "$name: the unsharded count ($expected of $PERSONS) leaves some in and some out");
	for my $partitionwise (0, 1)
	{
		my $setting = 'enable_partitionwise_aggregate ' . ($partitionwise ? 'on' : 'off');
		is(coordinator_query(count_sql($flag, 'persons'), $partitionwise), $expected, "$name: sharded count, $setting");
	}
	is(coordinator_query(per_shard_count_sql($flag)), $expected, "$name: counted on the shards, summed");
}

for my $name (@BREAKDOWNS)
{
	my $flag     = $FLAGS{$name};
	my $expected = $coordinator->safe_psql('postgres', breakdown_sql(variants_sql($flag, 'persons_local')));
	my @groups   = map { [ split /=/ ] } split / /, $expected;
	cmp_ok(scalar(grep { $_->[0] ne 'none' } @groups), '>=', 3, "$name: the unsharded breakdown has 3 variants ($expected)");
	ok(!grep({ $_->[1] <= 0 || $_->[1] >= $PERSONS } @groups), "$name: and none of them is everyone");
	for my $partitionwise (0, 1)
	{
		my $setting = 'enable_partitionwise_aggregate ' . ($partitionwise ? 'on' : 'off');
		is(coordinator_query(breakdown_sql(variants_sql($flag, 'persons')), $partitionwise),
			$expected, "$name: sharded breakdown, $setting");
	}
	is(coordinator_query(breakdown_sql(per_shard_variants_sql($flag))), $expected, "$name: broken down on the shards, summed");
}

# ---- where the work runs: EXPLAIN VERBOSE ----
sub explain_plan
{
	my ($sql, $partitionwise) = @_;
	return coordinator_query("EXPLAIN (VERBOSE, COSTS OFF) $sql", $partitionwise);
}

sub count_of
{
	my ($plan, $pattern) = @_;
	my @found = $plan =~ /$pattern/g;
	return scalar @found;
}

my $three_filters = $FLAGS{three_filters};

# Over the parent: the flag goes to both shards, which scan at once; no row is filtered here.
my $plan = explain_plan(count_sql($three_filters, 'persons'));
is(count_of($plan, qr/Async Foreign Scan on public\.persons_shard/), $N_SHARDS,
	'count over persons: both foreign partitions scanned asynchronously')
  or diag($plan);
is(count_of($plan, qr/Remote SQL: SELECT NULL FROM public\.persons WHERE \(flag_eval\.flag_eval\('/), $N_SHARDS,
	'count over persons: flag_eval() is evaluated on the shards (in the Remote SQL)')
  or diag($plan);
unlike($plan, qr/Filter:/, 'count over persons: nothing is filtered on the coordinator');

# enable_partitionwise_aggregate over the parent, on PostgreSQL 15: one Partial Aggregate per
# partition, made on the coordinator from the rows the shards send (postgres_fdw pushes no
# partial aggregate), and the scans under them are no longer asynchronous.
$plan = explain_plan(count_sql($three_filters, 'persons'), 1);
is(count_of($plan, qr/Partial Aggregate/), $N_SHARDS,
	'partitionwise count over persons: aggregated per partition')
  or diag($plan);
unlike($plan, qr/Remote SQL: SELECT count/,
	'partitionwise count over persons: but on the coordinator (PostgreSQL 15 pushes no partial aggregate)');
unlike($plan, qr/Async/, 'partitionwise count over persons: and the shards are scanned one after the other');

# A breakdown over the parent: postgres_fdw sends a grouping expression only with its aggregate,
# so the shards send every person and the coordinator evaluates flag_variant(), partitionwise or not.
for my $partitionwise (0, 1)
{
	$plan = explain_plan(variants_sql($FLAGS{multivariate_sha1}, 'persons'), $partitionwise);
	is(count_of($plan, qr/Remote SQL: SELECT distinct_id, properties FROM public\.persons$/m), $N_SHARDS,
		'breakdown over persons: the shards send every person, enable_partitionwise_aggregate '
		  . ($partitionwise ? 'on' : 'off'))
	  or diag($plan);
}

# One aggregate per foreign partition: the count is made on each shard; both run at once.
$plan = explain_plan(per_shard_count_sql($three_filters));
is(count_of($plan, qr/Async Foreign Scan/), $N_SHARDS, 'count per shard: both shards run asynchronously')
  or diag($plan);
is(count_of($plan, qr/Relations: Aggregate on \(public\.persons_shard\d\)/), $N_SHARDS,
	'count per shard: the aggregate is pushed to each shard')
  or diag($plan);
is( count_of(
		$plan, qr/Remote SQL: SELECT count\(\*\) FROM public\.persons WHERE \(flag_eval\.flag_eval\('/),
	$N_SHARDS,
	'count per shard: Remote SQL counts the persons flag_eval() keeps, on the shard')
  or diag($plan);

$plan = explain_plan(per_shard_variants_sql($FLAGS{multivariate_sha1}));
is(count_of($plan, qr/Async Foreign Scan/), $N_SHARDS, 'breakdown per shard: both shards run asynchronously')
  or diag($plan);
is( count_of(
		$plan,
		qr/Remote SQL: SELECT flag_eval\.flag_variant\('[^\n]*, count\(\*\) FROM public\.persons GROUP BY 1$/m),
	$N_SHARDS,
	'breakdown per shard: Remote SQL groups by flag_variant() and counts, on the shard')
  or diag($plan);

# ---- preview() over sharded persons ----
# The unsharded reference: a database of the coordinator with all the sample data.
my $sample = "$REPO/deploy/sample_data.sql";

sub load_sample
{
	my ($node, $db, $persons) = @_;
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', "persons=$persons", '-v', "token=$TOKEN",
			'-d', $node->connstr($db), '-f', $sample ],
		$node->name . " ($db): deploy/sample_data.sql loads $persons persons");
}

# Continuity keys: the anonymous id of every seventh person, recorded where the person is.
my $CONTINUITY_SQL = "SELECT coalesce(sum(flag_eval.record_hash_key_overrides('$TOKEN', 'user-' || i, 'anon-' || i)), 0) "
  . "FROM generate_series(1, $SAMPLE_PERSONS, 7) AS i";

$coordinator->safe_psql('postgres', 'CREATE DATABASE reference');
$coordinator->safe_psql('reference', 'CREATE EXTENSION flag_eval');
load_sample($coordinator, 'reference', $SAMPLE_PERSONS);
my $reference_keys = $coordinator->safe_psql('reference', $CONTINUITY_SQL);
cmp_ok($reference_keys, '>', 0, "reference: $reference_keys continuity keys recorded");

# Each shard: the same sample data, then only the persons whose first distinct id hashes to it as
# the coordinator's persons would (satisfies_hash_partition needs a table hash-partitioned by a
# text: shard_route, empty, is only that).
my $shard_keys = 0;
for my $i (0 .. $#SHARDS)
{
	my $shard = $node{ $SHARDS[$i] };
	$shard->safe_psql('postgres', 'CREATE DATABASE sample');
	$shard->safe_psql('sample', 'CREATE EXTENSION flag_eval');
	load_sample($shard, 'sample', $SAMPLE_PERSONS);
	$shard->safe_psql('sample', qq{
CREATE TABLE shard_route (distinct_id text) PARTITION BY HASH (distinct_id);
DELETE FROM flag_eval.persons p
WHERE NOT satisfies_hash_partition('shard_route'::regclass, $N_SHARDS, $i,
          (SELECT min(d.distinct_id COLLATE "C") FROM flag_eval.person_distinct_ids d WHERE d.person_id = p.id));
ANALYZE;});
	my $kept = $shard->safe_psql('sample', 'SELECT count(*) FROM flag_eval.persons');
	ok($kept > 0 && $kept < $SAMPLE_PERSONS, "$SHARDS[$i] keeps $kept of the $SAMPLE_PERSONS sample persons");
	$shard_keys += $shard->safe_psql('sample', $CONTINUITY_SQL);
}
is($shard_keys, $reference_keys, 'the shards record the reference\'s continuity keys between them');

# The coordinator: the team's definitions and groups, no person; foreign tables on each shard
# inherit the extension's person tables, so that queries on those tables read the shards too.
load_sample($coordinator, 'postgres', 0);
my @PERSON_TABLES = qw(persons person_distinct_ids cohort_members hash_key_overrides);
$coordinator->safe_psql('postgres', 'CREATE SCHEMA shards');
for my $shard (@SHARDS)
{
	create_server("${shard}_sample", $shard, 'sample');
	for my $table (@PERSON_TABLES)
	{
		$coordinator->safe_psql('postgres',
			"CREATE FOREIGN TABLE shards.${table}_$shard () INHERITS (flag_eval.$table) "
			  . "SERVER ${shard}_sample OPTIONS (schema_name 'flag_eval', table_name '$table')");
	}
}

# The definitions on the coordinator refer to the shards' rows by id (team, cohorts): the same.
my $IDS_SQL = "SELECT (SELECT id FROM flag_eval.teams WHERE api_token = '$TOKEN') || ' ' "
  . "|| (SELECT string_agg(name || '=' || id, ',' ORDER BY id) FROM flag_eval.cohorts)";
my $ids = $coordinator->safe_psql('reference', $IDS_SQL);
is($coordinator->safe_psql('postgres', $IDS_SQL), $ids, 'coordinator: the reference\'s team and cohort ids');
is($node{$_}->safe_psql('sample', $IDS_SQL), $ids, "$_: the reference's team and cohort ids") for @SHARDS;

# The person tables: empty on the coordinator itself, the reference's rows through inheritance.
# A table's rows as "count md5" (persons without created_at, which differs by server).
sub person_rows_sql
{
	my ($table) = @_;
	my $row = $table eq 'persons' ? 'ROW(t.id, t.team_id, t.properties)::text' : 't::text';
	return "SELECT count(*) || ' ' || md5(string_agg($row, E'\\n' ORDER BY $row)) FROM flag_eval.$table t";
}
for my $table (@PERSON_TABLES)
{
	is($coordinator->safe_psql('postgres', "SELECT count(*) FROM ONLY flag_eval.$table"),
		'0', "coordinator: no row in its own flag_eval.$table");
	my $expected = $coordinator->safe_psql('reference', person_rows_sql($table));
	like($expected, qr/^[1-9]\d* /, "reference: flag_eval.$table has rows");
	is($coordinator->safe_psql('postgres', person_rows_sql($table)), $expected,
		"coordinator: flag_eval.$table with its inheriting shards has the reference's rows");
}

# preview() of each stored flag and of a new one, on the sharded coordinator and the reference.
my $NEW_FLAG = encode_json({ key => 'shard-preview', filters => { groups => [
				{ properties => [ { key => 'plan', type => 'person', operator => 'exact', value => [ 'pro', 'enterprise' ] } ],
					rollout_percentage => 60 } ] } });
my $PREVIEWS_SQL = "SELECT f.key || ' ' || jsonb_agg(to_jsonb(p) ORDER BY p::text) FROM "
  . "(SELECT key, definition || jsonb_build_object('key', key) AS definition FROM flag_eval.flags WHERE NOT deleted "
  . " UNION ALL SELECT 'shard-preview', ${\ jsonb($NEW_FLAG)}) f "
  . "CROSS JOIN LATERAL flag_eval.preview('$TOKEN', f.definition) p GROUP BY f.key";

sub previews
{
	my ($db) = @_;
	return { map { split / /, $_, 2 } split /\n/, $coordinator->safe_psql($db, $PREVIEWS_SQL) };
}
my $reference_previews = previews('reference');
is(scalar keys %$reference_previews, 51, 'reference: preview() of the 50 stored flags and a new one');
# What preview() counts comes from the stored person tables: every person, and a static
# cohort's members.
sub preview_count
{
	my ($key, $value) = @_;
	my ($row) = grep { $_->{value} eq $value } @{ decode_json($reference_previews->{$key}) };
	return $row ? "$row->{count} of $row->{total}" : 'no row';
}
like(preview_count('shard-preview', 'true'), qr/^[1-9]\d* of $SAMPLE_PERSONS$/,
	"reference: the new flag is previewed over the $SAMPLE_PERSONS persons");
like(preview_count('cohort-beta-testers', 'true'), qr/^[1-9]\d* of $SAMPLE_PERSONS$/,
	'reference: the static cohort has members in the preview');
my $sharded_previews = previews('postgres');
for my $key (sort keys %$reference_previews)
{
	is($sharded_previews->{$key}, $reference_previews->{$key}, "preview($key): sharded = unsharded");
}

# ---- decide(): on the shard that holds the person ----
# decide() looks persons up by index in the coordinator's own tables, which hold none: a request
# goes to the shard of its distinct id, where it answers as the reference.
for my $distinct_id (map { ("user-$_", "device-" . 5 * $_) } 1 .. 10)
{
	my $shard = $coordinator->safe_psql('postgres',
		"SELECT s.srvname FROM flag_eval.person_distinct_ids d "
		  . "JOIN pg_foreign_table ft ON ft.ftrelid = d.tableoid JOIN pg_foreign_server s ON s.oid = ft.ftserver "
		  . "WHERE d.distinct_id = '$distinct_id'");
	$shard =~ s/_sample$//;
	ok($node{$shard}, "$distinct_id is on a shard ($shard)") or next;
	my $decide = "SELECT flag_eval.decide('$TOKEN', '$distinct_id')::jsonb";
	is($node{$shard}->safe_psql('sample', $decide),
		$coordinator->safe_psql('reference', $decide), "decide($distinct_id) on $shard = unsharded");
}

$_->stop for values %node;
done_testing();
