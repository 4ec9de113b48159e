# Isolation: between teams, and of the service's database role.
#
# - Two teams: the sample team A (phc_demo) and a team B added while the service runs, with the
#   same distinct ids (user-7, device-20, user-42), the same group key (org-3), flags under the
#   same keys as A's (paid-plan, continuity-onboarding) and keys of its own, a static cohort and a
#   continuity hash key, every B value marked TEAM-B. Team A's public token never yields a B flag
#   or value: /flags v1 and v2, /decide v3 and v4, flag_keys_to_evaluate naming B's keys, SQL
#   decide() and definitions(); A's answers are the same as before B existed. The feed needs the
#   team's own secret: A's secret does not open B's feed, a public token opens no feed, a secret
#   is no public token, an unknown token is 401 with no flags. A continuity write for A leaves B's
#   hash keys alone.
# - The service's role (deploy/service_role.sql, flag_decide): the service runs as it end to end;
#   connected as it, every write is refused with 42501 (INSERT, UPDATE,
#   DELETE, TRUNCATE on every table of the extension, enumerated from the catalog; its sequences;
#   DDL in public, in flag_eval and in the database), and so is reading a table it was not granted;
#   decide(), service_definitions() and record_hash_key_overrides() (SECURITY DEFINER, EXECUTE
#   granted to the role only) work, and a role without that grant may not call the last.
# - No SQL built at run time in src/decide and src/pg (scripts/check-sql-literals.py).
use strict;
use warnings;
use FindBin;
use IPC::Run;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(poll_until);
use FlagEval::Test::Topology;

my $TOKEN_A  = $FlagEval::Test::Topology::TOKEN;
my $SECRET_A = $FlagEval::Test::Topology::SECRET;
my $TOKEN_B  = 'phc_team_b';
my $SECRET_B = 'phs_team_b';
my $ROLE     = 'flag_decide';
my $MARK     = 'TEAM-B';    # in every value team B has, and in no value of team A

my $topology = FlagEval::Test::Topology->start(persons => 200);
my ($primary, $standby) = @$topology{qw(primary standby)};
my $repository = FlagEval::Test::DecideService::repository();

# ---- the service's role ----

$primary->command_ok(
	[ 'psql', '-X', '-q', '-v', "role=$ROLE", '-d', $primary->connstr('postgres'),
		'-f', "$repository/deploy/service_role.sql" ],
	'deploy/service_role.sql creates the role flag_decide');
$primary->safe_psql('postgres', 'CREATE TABLE public.app_private (secret text); '
	  . "INSERT INTO public.app_private VALUES ('not for the service')");
$primary->wait_for_catchup($standby, 'replay');

sub as_role_conninfo
{
	my ($node) = @_;
	return 'host=' . $node->host . ' port=' . $node->port . " dbname=postgres user=$ROLE";
}

# The service runs as flag_decide, straight on the standby, then the primary (PgBouncer's auth
# file knows only the test's own user).
my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => [
		[ standby => replica => as_role_conninfo($standby) ],
		[ primary => primary => as_role_conninfo($primary) ]
	],
	args => [ '--deadline-ms', 2000, '--refresh-ms', 200 ]);
$service->start;
ok($service->wait_ready(30), 'flag-decide, logged in as flag_decide, is ready')
  or die "flag-decide did not become ready:\n" . $service->last_log_lines(40);

# ---- team A's answers before team B exists ----

my @subjects = (
	{ distinct_id => 'user-7' },
	{ distinct_id => 'device-20', groups => { organization => 'org-3' } },
	{ distinct_id => 'user-42', person_properties => { plan => 'free' } },);
my @paths = ('/flags?v=2', '/flags?v=1', '/decide?v=3', '/decide?v=4');

# An answer without what differs between two identical requests.
sub stable_answer
{
	my ($response) = @_;
	my %json = %{ $response->{json} // {} };
	delete @json{qw(requestId evaluatedAt)};
	return JSON::PP->new->canonical->encode(\%json);
}

sub answers_of
{
	my ($token) = @_;
	my %answers;
	for my $subject (@subjects)
	{
		for my $path (@paths)
		{
			my $response = $service->post_json($path, { token => $token, %$subject });
			$answers{"$path $subject->{distinct_id}"} = {
				status  => $response->{status},
				content => $response->{content},
				stable  => stable_answer($response)
			};
		}
	}
	return \%answers;
}

my $before = answers_of($TOKEN_A);
is_deeply([ grep { $before->{$_}{status} != 200 } sort keys %$before ], [],
	'team A: every answer is 200 before team B exists');
is( $service->post_json('/flags?v=2', { token => $TOKEN_A, distinct_id => 'user-7' })->{json}{flags}{'paid-plan'}{key},
	'paid-plan', 'team A: the v2 answer has paid-plan (the key team B will also use)');

# ---- team B: same distinct ids, group key and some flag keys as A, every value marked ----

my $team_b_id = $primary->safe_psql(
	'postgres', <<"SQL");
WITH team AS (
    INSERT INTO flag_eval.teams (name, api_token, secret_token) VALUES ('$MARK', '$TOKEN_B', '$SECRET_B')
    RETURNING id)
SELECT id FROM team
SQL
$primary->safe_psql(
	'postgres', <<"SQL");
BEGIN;
INSERT INTO flag_eval.persons (team_id, properties)
SELECT $team_b_id, jsonb_build_object('plan', '$MARK-plan', 'email', n || '\@team-b.example', 'tag', '$MARK')
FROM generate_series(1, 3) AS n;
INSERT INTO flag_eval.person_distinct_ids (team_id, distinct_id, person_id)
SELECT $team_b_id, d.id, p.id
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM flag_eval.persons WHERE team_id = $team_b_id) p
JOIN (VALUES (1, 'user-7'), (2, 'device-20'), (3, 'user-42')) AS d(n, id) ON d.n = p.n;
INSERT INTO flag_eval.group_type_mappings (team_id, group_type_index, group_type) VALUES ($team_b_id, 0, 'organization');
INSERT INTO flag_eval.groups (team_id, group_type_index, group_key, properties)
VALUES ($team_b_id, 0, 'org-3', '{"tier": "$MARK-tier"}');
INSERT INTO flag_eval.cohorts (team_id, name, is_static) VALUES ($team_b_id, '$MARK static', true);
INSERT INTO flag_eval.cohort_members (cohort_id, person_id)
SELECT c.id, p.id FROM flag_eval.cohorts c, flag_eval.persons p
WHERE c.team_id = $team_b_id AND p.team_id = $team_b_id;
INSERT INTO flag_eval.flags (team_id, key, definition)
SELECT $team_b_id, key, replace(definition, '__STATIC__',
           (SELECT id::text FROM flag_eval.cohorts WHERE team_id = $team_b_id))::jsonb
FROM (VALUES
  ('team-b-only', '{"filters": {"groups": [{"rollout_percentage": 100}], "payloads": {"true": "\\"$MARK-payload\\""}}}'),
  ('paid-plan', '{"filters": {"groups": [{"properties": [{"key": "plan", "type": "person", "operator": "exact",
      "value": "$MARK-plan"}], "rollout_percentage": 100}], "payloads": {"true": "\\"$MARK-payload\\""}}}'),
  ('team-b-cohort', '{"filters": {"groups": [{"properties": [{"key": "id", "type": "cohort", "value": __STATIC__}],
      "rollout_percentage": 100}], "payloads": {"true": "\\"$MARK-payload\\""}}}'),
  ('team-b-org', '{"filters": {"aggregation_group_type_index": 0, "groups": [{"properties": [{"key": "tier",
      "type": "group", "group_type_index": 0, "operator": "exact", "value": "$MARK-tier"}], "rollout_percentage": 100}],
      "payloads": {"true": "\\"$MARK-payload\\""}}}'),
  ('continuity-onboarding', '{"ensure_experience_continuity": true, "filters": {"groups": [{"rollout_percentage": 100}],
      "payloads": {"true": "\\"$MARK-payload\\""}}}')) AS f(key, definition);
INSERT INTO flag_eval.hash_key_overrides (team_id, person_id, feature_flag_key, hash_key)
SELECT $team_b_id, person_id, 'continuity-onboarding', '$MARK-hash'
FROM flag_eval.person_distinct_ids WHERE team_id = $team_b_id AND distinct_id = 'user-7';
COMMIT;
SQL
my @b_keys = qw(continuity-onboarding paid-plan team-b-cohort team-b-only team-b-org);
my @b_only_keys = grep { /^team-b-/ } @b_keys;

ok( poll_until(
		15,
		sub {
			my $flags = $service->post_json('/flags?v=2', { token => $TOKEN_B, distinct_id => 'user-7' })->{json}{flags};
			return $flags && scalar(keys %$flags) == @b_keys;
		}),
	'the service serves team B once it is added');

# Team B itself: only its flags, its values.
{
	my $b = $service->post_json('/flags?v=2',
		{ token => $TOKEN_B, distinct_id => 'device-20', groups => { organization => 'org-3' } })->{json};
	is_deeply([ sort keys %{ $b->{flags} } ], \@b_keys, 'team B: exactly its own flags');
	is_deeply([ grep { !$b->{flags}{$_}{enabled} } @b_keys ], [],
		'team B: each of them on with its own stored data (person, cohort, group)');
	is($b->{flags}{'paid-plan'}{metadata}{payload}, "\"$MARK-payload\"", 'team B: paid-plan carries B\'s payload');
}

# ---- team A after team B: the same answers, nothing of B ----

my $after = answers_of($TOKEN_A);
for my $name (sort keys %$after)
{
	is($after->{$name}{stable}, $before->{$name}{stable}, "team A, $name: the same answer as before team B");
	unlike($after->{$name}{content}, qr/\Q$MARK\E|team-b-/, "team A, $name: no key or value of team B");
}
my %a_flag_ids = map { $_ => 1 } split /\n/,
  $primary->safe_psql('postgres', "SELECT f.id FROM flag_eval.flags f JOIN flag_eval.teams t ON t.id = f.team_id WHERE t.api_token = '$TOKEN_A'");
{
	my $flags = $service->post_json('/flags?v=2', { token => $TOKEN_A, distinct_id => 'user-7' })->{json}{flags};
	is_deeply([ grep { !$a_flag_ids{ $flags->{$_}{metadata}{id} } } sort keys %$flags ], [],
		'team A: every flag id in the answer is one of team A\'s');
}

# flag_keys_to_evaluate naming B's keys
{
	my $only_b = $service->post_json('/flags?v=2',
		{ token => $TOKEN_A, distinct_id => 'user-7', flag_keys_to_evaluate => \@b_only_keys });
	is($only_b->{status}, 200, 'team A asking for B\'s keys only: 200');
	is_deeply($only_b->{json}{flags}, {}, 'team A asking for B\'s keys only: no flags');
	my $mixed = $service->post_json('/flags?v=2',
		{ token => $TOKEN_A, distinct_id => 'user-7', flag_keys_to_evaluate => [ @b_only_keys, 'paid-plan' ] });
	is_deeply([ keys %{ $mixed->{json}{flags} } ], ['paid-plan'], 'team A asking for B\'s keys and paid-plan: paid-plan only');
	unlike($mixed->{content}, qr/\Q$MARK\E/, 'team A\'s paid-plan is A\'s, not B\'s');
	my $v1 = $service->post_json('/flags?v=1',
		{ token => $TOKEN_A, distinct_id => 'user-7', flag_keys_to_evaluate => \@b_only_keys });
	is_deeply($v1->{json}{featureFlags}, {}, 'v1, team A asking for B\'s keys: no featureFlags');
}

# SQL: decide() and definitions()
for my $node ([ primary => $primary ], [ standby => $standby ])
{
	my ($name, $cluster) = @$node;
	$primary->wait_for_catchup($standby, 'replay') if $name eq 'standby';
	my $keys = join(',', map { "'$_'" } @b_only_keys);
	my $answer = $cluster->safe_psql('postgres',
		"SELECT flag_eval.decide('$TOKEN_A', 'user-7', '{}', '{\"organization\": \"org-3\"}', '{}', NULL, ARRAY[$keys])");
	is_deeply(decode_json($answer)->{flags}, {}, "$name: decide() for team A naming B's keys: no flags");
	my $full = $cluster->safe_psql('postgres',
		"SELECT flag_eval.decide('$TOKEN_A', 'device-20', '{}', '{\"organization\": \"org-3\"}')");
	unlike($full, qr/\Q$MARK\E|team-b-/, "$name: decide() for team A: nothing of team B");
	my $feed = $cluster->safe_psql('postgres', "SELECT flag_eval.definitions('$TOKEN_A')");
	unlike($feed, qr/\Q$MARK\E|team-b-/, "$name: definitions() of team A: nothing of team B");
}

# ---- the feed needs the team's own secret ----

sub feed_status
{
	my ($token, $bearer) = @_;
	my $response = $service->get("/flags/definitions?token=$token&send_cohorts",
		defined $bearer ? (authorization => "Bearer $bearer") : ());
	return $response;
}

is(feed_status($TOKEN_A, $SECRET_A)->{status}, 200, 'feed: team A with its secret: 200');
unlike(feed_status($TOKEN_A, $SECRET_A)->{content}, qr/\Q$MARK\E|team-b-/, 'feed: team A\'s has nothing of team B');
is(feed_status($TOKEN_B, $SECRET_B)->{status}, 200, 'feed: team B with its secret: 200');
for my $case (
	[ "team B's token with team A's secret" => $TOKEN_B, $SECRET_A ],
	[ "team A's token with team B's secret" => $TOKEN_A, $SECRET_B ],
	[ 'a public token as the secret'          => $TOKEN_A, $TOKEN_A ],
	[ "team B's public token as its secret"   => $TOKEN_B, $TOKEN_B ],
	[ 'a secret as the token'                 => $SECRET_A, $SECRET_A ],
	[ 'an unknown token'                      => 'phc_nobody', $SECRET_A ],
	[ 'no Authorization'                      => $TOKEN_B, undef ],)
{
	my ($name, $token, $bearer) = @$case;
	my $response = feed_status($token, $bearer);
	is($response->{status}, 401, "feed: $name: 401");
	unlike($response->{content} // '', qr/"flags"|\Q$MARK\E/, "feed: $name: no flags in the answer");
}
is($service->get("/api/feature_flag/local_evaluation?token=$TOKEN_B", authorization => "Bearer $SECRET_A")->{status},
	401, '/api/feature_flag/local_evaluation: team B\'s token with team A\'s secret: 401');

# ---- tokens that are not a public token ----

for my $case (
	[ 'an unknown token'                  => 'phc_nobody' ],
	[ "team A's secret as the token"      => $SECRET_A ],
	[ "team B's secret as the token"      => $SECRET_B ],
	[ 'a token that is SQL'               => "$TOKEN_A' OR '1'='1" ],
	[ 'team A\'s token with a space'      => "$TOKEN_A " ],)
{
	my ($name, $token) = @$case;
	for my $path ('/flags?v=2', '/flags?v=1')
	{
		my $response = $service->post_json($path, { token => $token, distinct_id => 'user-7' });
		is($response->{status}, 401, "$path, $name: 401");
		unlike($response->{content}, qr/"(flags|featureFlags)"/, "$path, $name: no flags");
	}
}
is($service->post_json('/flags?v=2', { api_key => $SECRET_B, distinct_id => 'user-7' })->{status},
	401, "/flags?v=2, team B's secret as api_key: 401");

# ---- a continuity write for team A leaves team B's hash keys alone ----

sub b_overrides
{
	return $primary->safe_psql('postgres',
		"SELECT string_agg(person_id || ':' || feature_flag_key || ':' || hash_key, ',' ORDER BY person_id) "
		  . "FROM flag_eval.hash_key_overrides WHERE team_id = $team_b_id");
}
my $b_overrides_before = b_overrides();
{
	my $request = { token => $TOKEN_A, distinct_id => 'user-7', '$anon_distinct_id' => 'anon-iso-7' };
	is($service->post_json('/flags?v=2', $request)->{status}, 200, 'continuity: team A request with $anon_distinct_id: 200');
	my $written = poll_until(
		10,
		sub {
			$primary->safe_psql('postgres',
				"SELECT count(*) FROM flag_eval.hash_key_overrides h JOIN flag_eval.teams t ON t.id = h.team_id "
				  . "WHERE t.api_token = '$TOKEN_A' AND h.hash_key = 'anon-iso-7'");
		});
	ok($written, 'continuity: team A\'s override written on the primary, by the service\'s role');
	is(b_overrides(), $b_overrides_before, 'continuity: team B\'s hash keys unchanged');
	my $b_answer = $service->post_json('/flags?v=2', { token => $TOKEN_B, distinct_id => 'user-7' })->{json};
	ok($b_answer->{flags}{'continuity-onboarding'}{enabled}, 'team B still gets its continuity flag');
}

# ---- the role can do what decide needs, and nothing else ----

# Runs $sql as flag_decide on $node: '' when it succeeds, else the error's SQLSTATE (or the
# whole error text when it has none).
sub as_role
{
	my ($node, $sql, $role) = @_;
	my ($stdout, $stderr);
	$node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout       => \$stdout,
		stderr       => \$stderr,
		on_error_die => 0,
		extra_params => [ '-U', $role // $ROLE ]);
	return '' unless $stderr =~ /ERROR/;
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : $stderr;
}

is($primary->safe_psql('postgres', 'SELECT current_user', extra_params => [ '-U', $ROLE ]), $ROLE,
	'psql logs in as flag_decide');
is(as_role($primary, "SELECT flag_eval.decide('$TOKEN_A', 'user-7')"), '', 'flag_decide: decide() works');
is(as_role($standby, "SELECT flag_eval.decide('$TOKEN_A', 'user-7')"), '', 'flag_decide: decide() works on the standby');
is(as_role($primary, 'SELECT flag_eval.service_definitions(), flag_eval.definitions_version()'), '',
	'flag_decide: service_definitions() and definitions_version() work');
{
	my $out;
	$primary->psql('postgres', "SELECT flag_eval.record_hash_key_overrides('$TOKEN_A', 'user-43', 'anon-iso-43')",
		stdout => \$out, extra_params => [ '-U', $ROLE ]);
	cmp_ok($out // 0, '>=', 1, 'flag_decide: record_hash_key_overrides() records a continuity key on the primary');
	is(as_role($standby, "SELECT flag_eval.record_hash_key_overrides('$TOKEN_A', 'user-44', 'anon-iso-44')"),
		'25006', 'flag_decide: record_hash_key_overrides() on the standby: read-only (25006)');
	# It runs with its owner's rights, so only roles granted EXECUTE may call it.
	$primary->safe_psql('postgres', 'CREATE ROLE any_login LOGIN');
	is(as_role($primary, "SELECT flag_eval.record_hash_key_overrides('$TOKEN_A', 'user-45', 'anon-iso-45')", 'any_login'),
		'42501', 'a role without the grant may not call record_hash_key_overrides() (42501)');
}

# Every table and sequence of the extension, from the catalog: tables added later are covered.
my @tables = split /\n/, $primary->safe_psql(
	'postgres', q{
SELECT c.oid::regclass FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'flag_eval' AND c.relkind IN ('r', 'p') ORDER BY 1::text});
my @sequences = split /\n/, $primary->safe_psql(
	'postgres', q{
SELECT c.oid::regclass FROM pg_class c
WHERE c.relkind = 'S' AND c.relnamespace = 'flag_eval'::regnamespace ORDER BY 1::text});
cmp_ok(scalar @tables, '>=', 10, 'the extension\'s tables, from the catalog: ' . join(', ', @tables));

my %refused;    # statement => SQLSTATE
for my $table (@tables)
{
	my $first_column = $primary->safe_psql('postgres',
		"SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = '$table'::regclass AND attnum = 1");
	my @writes = (
		"UPDATE $table SET $first_column = $first_column WHERE false",
		"DELETE FROM $table WHERE false",
		"TRUNCATE $table",
		"ALTER TABLE $table ADD COLUMN intruder int",
		"DROP TABLE $table");
	# No INSERT either, on hash_key_overrides too: continuity keys go through
	# record_hash_key_overrides() (SECURITY DEFINER), tested to work above.
	unshift @writes, "INSERT INTO $table SELECT * FROM $table WHERE false";
	$refused{$_} = as_role($primary, $_) for @writes;
}
$refused{"SELECT nextval('$_')"} = as_role($primary, "SELECT nextval('$_')") for @sequences;
$refused{"SELECT setval('$_', 1)"} = as_role($primary, "SELECT setval('$_', 1)") for @sequences;
for my $ddl (
	'CREATE TABLE public.intruder (x int)',
	'CREATE TABLE flag_eval.intruder (x int)',
	'CREATE FUNCTION flag_eval.intruder() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
	'CREATE SCHEMA intruder',
	'SELECT * FROM public.app_private',
	'SELECT * FROM pg_catalog.pg_authid',
	"ALTER ROLE $ROLE SUPERUSER",
	'CREATE ROLE intruder')
{
	$refused{$ddl} = as_role($primary, $ddl);
}
is_deeply([ grep { $refused{$_} ne '42501' } sort keys %refused ], [],
	'flag_decide: ' . scalar(keys %refused) . ' writes, DDL and ungranted reads are all refused with 42501')
  or diag explain { map { $_ => $refused{$_} } grep { $refused{$_} ne '42501' } keys %refused };
is($primary->safe_psql('postgres', 'SELECT count(*) FROM public.app_private'), 1, 'the ungranted table is intact');

# ---- no SQL built at run time ----

{
	my ($stdout, $stderr);
	my $clean = IPC::Run::run([ '/usr/bin/python3', "$repository/scripts/check-sql-literals.py", '--root', $repository ],
		'>', \$stdout, '2>', \$stderr);
	ok($clean, 'scripts/check-sql-literals.py: no SQL text built at run time in src/decide and src/pg')
	  or diag("$stdout$stderr");
	note $stdout;
}

ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
