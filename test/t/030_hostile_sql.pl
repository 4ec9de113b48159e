# Every SQL function of the extension, fed hostile arguments, returns or raises a clear error; the
# backend never crashes. RE2 keeps a catastrophic-backtracking pattern linear.
#
# The functions come from the catalog (pg_depend on the extension), so a function added later is
# covered without editing this file; aggregates too, called over the one row of their arguments. Each is called with arguments of its declared types: valid
# ones, then one argument at a time replaced by a hostile value. jsonb arguments get whole hostile
# documents (every JSON type, extreme numbers, 50 MB strings, million-element arrays, 10,000
# levels of nesting) and mutations of valid flags, definitions, contexts and properties (from
# test/conformance/posthog plus a flag that uses every field): each field of a flag replaced
# by each hostile value, and random mutations from a seeded PRNG. FLAG_EVAL_HOSTILE_SEED=<n>
# replays a run (the seed is printed).
#
# The calls run server-side, in a procedure (hostile.run below) that records each case as started
# and commits before calling, so that a case that kills its backend is still named afterwards.
# Each call must return or raise an error with an SQLSTATE of %ALLOWED; XX000 (internal error), any
# other SQLSTATE, or a lost connection fails, naming the function, the arguments and the seed.
# Afterwards the postmaster must be the same process, started at the same time, with no backend
# "terminated by signal" in its log, and a session opened before the calls still connected.
# (Checked: with a backend killed by SIGSEGV before these checks, the log and session assertions
# fail; the pid and start time do not change across a crash restart, they guard the case where
# the postmaster does not come back.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FlagEval::Test::DecideService;
use FlagEval::Test::HostileJson qw(big raw to_json to_sql_jsonb sql_literal);

my $SEED = $ENV{FLAG_EVAL_HOSTILE_SEED} // 20240607;
diag("hostile seed $SEED (FLAG_EVAL_HOSTILE_SEED=$SEED replays this run)");
my $rng = FlagEval::Test::HostileJson->new($SEED);

my $TOKEN          = 'phc_hostile';
my $MUTATIONS      = 50;    # random mutations per (function, jsonb argument)
my $REPO           = FlagEval::Test::DecideService::repository();
my $CONFORMANCE    = "$REPO/test/conformance/posthog/v1_evaluation.json";

# SQLSTATEs a hostile call may raise, and why each is a clear error rather than a failure.
my %ALLOWED = (
	'22023' => 'invalid_parameter_value: the extension\'s documented error for a bad flag, context, '
	  . 'properties or bucketing (docs/reference.md, SQL interface), and preview()\'s refusal of an invalid flag',
	'22P02' => 'invalid_text_representation: a SQL/plpgsql function casting a jsonb field '
	  . '(preview: aggregation_group_type_index::integer of "abc")',
	'22003' => 'numeric_value_out_of_range: the same casts, of a number beyond integer',
	'54000' => 'program_limit_exceeded: PostgreSQL\'s own size limits (a text or jsonb beyond 1 GB / 256 MB)',
	'54001' => 'statement_too_complex: "stack depth limit exceeded", PostgreSQL\'s check of deep recursion',
	'28000' => 'invalid_authorization_specification: an unknown api token (decide, definitions, preview)',
	'0A000' => 'feature_not_supported: a plpgsql trigger function called directly',
	'39P01' => 'trigger_protocol_violated: a C trigger function called directly (as PostgreSQL\'s own do)',
	'42501' => 'insufficient_privilege: decide() checks the caller\'s SELECT privileges',);

# ---- a server with the sample team ----
my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
# restart_after_crash (the framework turns it off): after a crash the run goes on, so that one run
# names every crashing case.
$node->append_conf('postgresql.conf', "restart_after_crash = on\nlog_min_messages = warning\nlog_statement = none");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION flag_eval');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'persons=10', '-v', "token=$TOKEN", '-v', 'secret=phs_hostile',
		'-d', $node->connstr('postgres'), '-f', "$REPO/deploy/sample_data.sql" ],
	'deploy/sample_data.sql loads');
my $team_id = $node->safe_psql('postgres', "SELECT id FROM flag_eval.teams WHERE api_token = '$TOKEN'");

my $postmaster_pid    = postmaster_pid();
my $postmaster_start  = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $log_offset_before = -s $node->logfile;
# A session open through the whole run: a backend crash makes the postmaster end every session
# (even when it restarts itself with the same pid and start time), so it would not survive one.
my $witness     = $node->background_psql('postgres');
# Its timer counts per query, not from its start: the calls below take longer than the default
# timeout on a busy machine, and an expired timer must not read as a lost session.
$witness->set_query_timer_restart();
my $witness_pid = $witness->query_safe('SELECT pg_backend_pid()');

# ---- the extension's functions, from the catalog ----
my $functions = decode_json($node->safe_psql('postgres', q{
	SELECT coalesce(json_agg(json_build_object(
	           'signature', p.oid::regprocedure::text,
	           'name', quote_ident(n.nspname) || '.' || quote_ident(p.proname),
	           'types', (SELECT coalesce(json_agg(format_type(t, NULL) ORDER BY i), '[]')
	                     FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)),
	           'arg_names', coalesce(to_json(p.proargnames[1:p.pronargs]), '[]'),
	           'returns_trigger', p.prorettype = 'trigger'::regtype,
	           'takes_internal', 'internal'::regtype = ANY (p.proargtypes::oid[]),
	           'language', l.lanname) ORDER BY p.oid::regprocedure::text), '[]')
	FROM pg_proc p
	JOIN pg_namespace n ON n.oid = p.pronamespace
	JOIN pg_language l ON l.oid = p.prolang
	JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	                AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'flag_eval'
	WHERE p.prokind IN ('f', 'p', 'a')}));
cmp_ok(scalar @$functions, '>=', 6, scalar(@$functions) . ' functions of flag_eval found in the catalog');
my %by_signature = map { $_->{signature} => $_ } @$functions;
ok(exists $by_signature{'flag_eval.flag_evaluate(jsonb,jsonb)'}, 'the catalog list holds the pure functions')
  or BAIL_OUT('the function list is not what the catalog should give: ' . join(', ', keys %by_signature));

# ---- valid documents to start from ----
my $corpus = decode_json(slurp_file($CONFORMANCE));
my @corpus_cases = @{ $corpus->{cases} };

# A flag using every field of the flag format (docs/reference.md), so that each field can be made hostile.
my $kitchen_sink_flag = {
	id => 7, key => 'kitchen-sink', version => 3, active => JSON::PP::true, deleted => JSON::PP::false,
	ensure_experience_continuity => JSON::PP::false, bucketing => 'sha1',
	filters => {
		aggregation_group_type_index => undef,
		groups => [
			{
				properties => [
					{ key => 'plan',  type => 'person', operator => 'exact',     value => [ 'pro', 'enterprise' ] },
					{ key => 'email', type => 'person', operator => 'regex',     value => '@example\\.com$' },
					{ key => 'app_version', type => 'person', operator => 'semver_gte', value => '1.2.0' },
					{ key => 'signed_up_at', type => 'person', operator => 'is_date_after', value => '-30d' },
					{ key => 'age', type => 'person', operator => 'gt', value => 18 },
					{ key => 'tier', type => 'group', group_type_index => 0, operator => 'icontains', value => 'gold' },
				],
				rollout_percentage => 50,
				variant => 'control',
			},
			{ properties => [ { key => 'id', type => 'cohort', operator => 'in', value => 1 } ], rollout_percentage => 100 },
			{ properties => [ { key => 'dep', type => 'flag', operator => 'flag_evaluates_to', value => JSON::PP::true,
						dependency_chain => ['dep'] } ] },
		],
		multivariate => { variants => [ { key => 'control', rollout_percentage => 50 },
				{ key => 'test', rollout_percentage => 50, name => 'Test' } ] },
		payloads => { control => '{"cta": "Buy"}', test => '"x"', true => '[1, 2]' },
		super_groups => [ { properties => [ { key => '$feature_enrollment/kitchen-sink', type => 'person',
						operator => 'exact', value => ['true'] } ], rollout_percentage => 100 } ],
		feature_enrollment => JSON::PP::true,
		holdout => { id => 3, exclusion_percentage => 10 },
		holdout_groups => [ { properties => [], rollout_percentage => 10, variant => 'holdout-3' } ],
		early_exit => JSON::PP::false,
	},
};
my $dependency_flag = { key => 'dep', filters => { groups => [ { properties => [], rollout_percentage => 30 } ] } };
my $kitchen_sink_definitions = {
	flags => [ $kitchen_sink_flag, $dependency_flag ],
	cohorts => { 1 => { type => 'OR', values => [ { type => 'AND', values => [
						{ key => 'email', type => 'person', operator => 'icontains', value => '@' },
						{ key => 'id', type => 'cohort', operator => 'in', value => 2, negation => JSON::PP::true } ] } ] },
		2 => { type => 'AND', values => [ { key => 'plan', type => 'person', operator => 'is_set' } ] } },
	group_type_mapping => { 0 => 'organization', 1 => 'company' },
};
# The definitions swept field by field: the kitchen-sink flag is swept as a flag already.
my $definitions_to_sweep = { %$kitchen_sink_definitions, flags => [$dependency_flag] };
my $person_properties = { plan => 'pro', email => 'a@example.com', app_version => '1.4.2',
	signed_up_at => '2024-01-01T00:00:00Z', age => 30, tags => [ 'a', 'b' ], '$feature_enrollment/kitchen-sink' => JSON::PP::true };
my $groups           = { organization => 'org-1', company => 5 };
my $group_properties = { organization => { tier => 'gold' }, company => { seats => 10 } };
my $kitchen_sink_context = { distinct_id => 'user-1', person_properties => $person_properties, groups => $groups,
	group_properties => $group_properties, group_type_mapping => { 0 => 'organization', 1 => 'company' } };

# What a jsonb argument is, by its name: the valid documents it starts from (the first one is
# swept field by field).
my %jsonb_roles = (
	flag        => [ $kitchen_sink_flag, map { @{ $_->{definitions}{flags} } } @corpus_cases ],
	definitions => [ $kitchen_sink_definitions, map { $_->{definitions} } @corpus_cases ],
	context     => [ $kitchen_sink_context, map { $_->{context} } @corpus_cases ],
	properties  => [ $person_properties, map { $_->{context}{person_properties} // {} } @corpus_cases ],
	groups           => [$groups],
	group_properties => [$group_properties],);
$jsonb_roles{node}              = $jsonb_roles{definitions};
$jsonb_roles{person_properties} = $jsonb_roles{properties};

# Valid values of the other arguments, by name, then by type.
my %valid_by_name = (
	token => sql_literal($TOKEN), distinct_id => q{'user-1'}, anon_distinct_id => q{'device-5'},
	identifier => q{'user-1'}, key => q{'f'}, salt => q{''}, bucketing => q{'xxh3'}, team_id => $team_id,
	static_ids => q{'{}'::bigint[]}, flag_keys => 'NULL');
my %valid_by_type = (text => q{'x'}, 'text[]' => q{'{}'}, bigint => $team_id, 'bigint[]' => q{'{}'},
	integer => '1', boolean => 'true');

# Hostile values of the scalar types, as SQL expressions.
my %hostile_by_type = (
	text => [
		[ 'NULL', 'NULL' ], [ 'empty', q{''} ], [ 'spaces', q{E' \t\n'} ], [ 'control', 'chr(1)' ],
		[ 'non-BMP', q{U&'\00FC\+01F600\202E'} ], [ '201 emoji', q{repeat(U&'\+01F600', 201)} ],
		[ 'quote', q{$q$'; SELECT 1; --$q$} ], [ 'format', q{'%s%n'} ], [ 'the valid token', sql_literal($TOKEN) ],
		[ 'sha1', q{'sha1'} ], [ 'SHA1', q{'SHA1'} ], [ 'NaN', q{'NaN'} ], [ 'regex', q{'(a+)+$'} ],
		[ '1 MB', q{repeat('x', 1048576)} ], [ '50 MB', q{repeat('y', 52428800)} ],
	],
	'text[]' => [
		[ 'NULL', 'NULL' ], [ 'empty', q{'{}'} ], [ 'NULL element', q{'{NULL}'} ], [ 'empty string', q{'{""}'} ],
		[ 'duplicates', q{ARRAY['kitchen-sink', 'kitchen-sink', 'rollout-50']} ],
		[ '100k keys', q{(SELECT array_agg('k' || i) FROM generate_series(1, 100000) i)} ],
		[ '1 MB key', q{ARRAY[repeat('x', 1048576)]} ], [ 'two-dimensional', q{'{{a,b},{c,d}}'} ],
	],
	bigint => [
		[ 'NULL', 'NULL' ], [ '0', '0' ], [ '-1', '-1' ], [ 'max', '9223372036854775807' ],
		[ 'min', '(-9223372036854775807 - 1)' ],
	],
	'bigint[]' => [
		[ 'NULL', 'NULL' ], [ 'empty', q{'{}'} ], [ 'NULL element', q{'{NULL}'} ],
		[ 'extremes', q{'{0,-1,9223372036854775807,-9223372036854775808}'} ],
		[ '100k ids', q{(SELECT array_agg(i) FROM generate_series(1, 100000) i)} ],
	],
	integer => [ [ 'NULL', 'NULL' ], [ '0', '0' ], [ '-1', '-1' ], [ 'max', '2147483647' ] ],
	boolean => [ [ 'NULL', 'NULL' ] ],);

# Whole hostile jsonb documents: every pool value, the big ones, the over-deep one jsonb refuses.
my @hostile_documents = (
	[ 'SQL NULL', 'NULL' ],
	(map { [ $_->[0], to_sql_jsonb($_->[1]) ] } FlagEval::Test::HostileJson::hostile_values(),
		FlagEval::Test::HostileJson::big_values(), [ 'big arrays_100k', big('arrays_100k') ]),
	[ 'lone surrogate (jsonb refuses it)', to_sql_jsonb(raw('"\ud800"')) ],
	[ 'escaped NUL (jsonb refuses it)', to_sql_jsonb(raw('"a\u0000b"')) ],);

# ---- the cases ----
my @cases;    # {signature, call, checks, label}

sub add_case
{
	my ($function, $label, @args) = @_;
	my @types = @{ $function->{types} };
	my @typed = map { "($args[$_])::$types[$_]" } 0 .. $#args;
	push @cases, {
		signature => $function->{signature},
		# in the select list, so that a trigger function is refused as such (0A000)
		call => "SELECT count(*), sum(length(r::text)) FROM (SELECT $function->{name}(" . join(', ', @typed) . ') AS r) s',
		checks    => [ map { "SELECT $_ IS NULL" } @typed ],
		label     => $label,
	};
}

sub jsonb_role
{
	my ($name, $type) = @_;
	return undef unless $type eq 'jsonb' || $type eq 'json';
	return $jsonb_roles{ $name // '' } ? $name : undef;
}

# A million objects take seconds per call in PostgreSQL's own jsonb functions, which the SQL and
# plpgsql functions walk them with: those get the million-element array (cheap to walk) only.
sub too_slow_for
{
	my ($f, $sql) = @_;
	return $f->{language} ne 'c' && $sql =~ /\@\@BIG:objects_1m\@\@/;
}

my %valid_args_of;  # signature -> the valid arguments, as SQL
my %sweep_share;    # role -> functions taking it, for spreading the field-by-field sweep
for my $f (@$functions)
{
	for my $i (0 .. $#{ $f->{types} })
	{
		my $role = jsonb_role($f->{arg_names}[$i], $f->{types}[$i]);
		push @{ $sweep_share{$role} }, [ $f, $i ] if $role;
	}
}

for my $f (@$functions)
{
	my @types = @{ $f->{types} };
	my @names = @{ $f->{arg_names} };
	my @valid;
	for my $i (0 .. $#types)
	{
		my $role = jsonb_role($names[$i], $types[$i]);
		push @valid,
		    $role                               ? to_sql_jsonb($jsonb_roles{$role}[0])
		  : exists $valid_by_name{ $names[$i] // '' } ? $valid_by_name{ $names[$i] }
		  : exists $valid_by_type{ $types[$i] } ? $valid_by_type{ $types[$i] }
		  : ($types[$i] =~ /^jsonb?$/)          ? q{'{}'}
		  :                                       'NULL';
	}
	$valid_args_of{ $f->{signature} } = \@valid;
	add_case($f, 'valid arguments', @valid);

	for my $i (0 .. $#types)
	{
		my $name = $names[$i] // "\$" . ($i + 1);
		my $with = sub {
			my ($label, $sql) = @_;
			return if too_slow_for($f, $sql);
			my @args = @valid;
			$args[$i] = $sql;
			add_case($f, "$name := $label", @args);
		};
		if ($types[$i] =~ /^jsonb?$/)
		{
			$with->(@$_) for @hostile_documents;
			my $role = jsonb_role($names[$i], $types[$i]) or next;
			my @bases = @{ $jsonb_roles{$role} };
			for (1 .. $MUTATIONS)
			{
				my ($label, $doc) = @{ $rng->mutate($rng->pick(@bases)) };
				my $json = to_json($doc);
				($label, $doc) = ('(skipped: over 2 MB)', $bases[0]) if length($json) > 2_000_000;
				$with->("mutation: $label", to_sql_jsonb($doc));
			}
		}
		else
		{
			$with->(@$_) for @{ $hostile_by_type{ $types[$i] } // [ [ 'NULL', 'NULL' ] ] };
		}
	}
}

# Each field of each role's first document set to each pool value; the cases of a role are
# spread over the functions taking it (the functions share one parser per role), and each big
# value goes to a few random fields.
for my $role (sort keys %sweep_share)
{
	my @takers = @{ $sweep_share{$role} };
	my $base   = $role eq 'definitions' || $role eq 'node' ? $definitions_to_sweep : $jsonb_roles{$role}[0];
	my @sweep  = FlagEval::Test::HostileJson::sweep($base, FlagEval::Test::HostileJson::sweep_values());
	my @positions = FlagEval::Test::HostileJson::positions($base);
	for my $big (FlagEval::Test::HostileJson::big_values())
	{
		next if $big->[0] eq 'big str_50m' && $role ne 'flag' && $role ne 'properties';
		{
			my $copy = FlagEval::Test::HostileJson::clone($base);
			my ($path, $container, $key) = @{ $rng->pick(FlagEval::Test::HostileJson::positions($copy)) };
			FlagEval::Test::HostileJson::set_at($container, $key, $big->[1]);
			push @sweep, [ "$path := $big->[0]", $copy ];
		}
	}
	for my $n (0 .. $#sweep)
	{
		my ($f, $i) = @{ $takers[ $n % @takers ] };
		my @args = @{ $valid_args_of{ $f->{signature} } };
		$args[$i] = to_sql_jsonb($sweep[$n][1]);
		next if too_slow_for($f, $args[$i]);
		add_case($f, ($f->{arg_names}[$i]) . " field sweep: $sweep[$n][0]", @args);
	}
}

diag(scalar(@cases) . ' calls over ' . scalar(@$functions) . ' functions');

# ---- the runner, inside the server ----
$node->safe_psql('postgres', q{
CREATE SCHEMA hostile;
CREATE TABLE hostile.cases (id integer PRIMARY KEY, call text NOT NULL, checks text[] NOT NULL);
CREATE TABLE hostile.outcomes (id integer PRIMARY KEY, outcome text NOT NULL, sqlstate text, message text, ms float8);
-- Each case: recorded as started and committed, so that a case that takes its backend down is
-- known afterwards; then the call, its outcome and SQLSTATE recorded. When it raised, its
-- arguments are evaluated alone: an argument PostgreSQL's own input refuses (jsonb_in) never
-- reached the function.
CREATE PROCEDURE hostile.run() LANGUAGE plpgsql AS $run$
DECLARE
    c record;
    check_sql text;
    state text;
    msg text;
    started timestamptz;
BEGIN
    FOR c IN SELECT * FROM hostile.cases x WHERE NOT EXISTS (SELECT FROM hostile.outcomes o WHERE o.id = x.id) ORDER BY x.id LOOP
        INSERT INTO hostile.outcomes (id, outcome) VALUES (c.id, 'started');
        COMMIT;
        state := NULL;
        started := clock_timestamp();
        BEGIN
            EXECUTE c.call;
            UPDATE hostile.outcomes SET outcome = 'returned' WHERE id = c.id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            UPDATE hostile.outcomes SET outcome = 'error', sqlstate = state, message = msg WHERE id = c.id;
        END;
        UPDATE hostile.outcomes SET ms = 1000 * extract(epoch FROM clock_timestamp() - started) WHERE id = c.id;
        IF state IS NOT NULL THEN
            FOREACH check_sql IN ARRAY c.checks LOOP
                BEGIN
                    EXECUTE check_sql;
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                    UPDATE hostile.outcomes SET outcome = 'input_rejected', sqlstate = state, message = msg WHERE id = c.id;
                    EXIT;
                END;
            END LOOP;
        END IF;
        -- (committed with the next case's start)
    END LOOP;
END
$run$;});

{
	my @rows;
	for my $n (0 .. $#cases)
	{
		push @rows, sprintf('(%d, %s, ARRAY[%s]::text[])', $n + 1, sql_literal($cases[$n]{call}),
			join(', ', map { sql_literal($_) } @{ $cases[$n]{checks} }));
	}
	while (my @batch = splice(@rows, 0, 500))
	{
		$node->safe_psql('postgres', 'INSERT INTO hostile.cases VALUES ' . join(",\n", @batch));
	}
}

# Runs what is left; after a lost connection, the started case is marked lost and the run goes
# on once the server accepts connections again (at most a few times).
my $started_at = time;
for my $attempt (1 .. 5)
{
	my ($status, $stdout, $stderr) = $node->psql('postgres', "SET statement_timeout = '300s'; CALL hostile.run()");
	last if $status == 0;
	$node->poll_query_until('postgres', 'SELECT true') or last;
	$node->safe_psql('postgres', 'UPDATE hostile.outcomes SET outcome = ' . sql_literal('lost')
		  . ', message = ' . sql_literal(substr($stderr, 0, 500)) . " WHERE outcome = 'started'");
}
diag(sprintf('%d calls in %.1f s', scalar @cases, time - $started_at));

# ---- the outcomes ----
my $outcomes = decode_json($node->safe_psql('postgres', q{
	SELECT coalesce(json_object_agg(id, json_build_object('outcome', outcome, 'sqlstate', sqlstate,
	           'message', left(message, 300), 'ms', ms)), '{}')
	FROM hostile.outcomes}));

my (%stats, @bad, @slowest);
for my $n (0 .. $#cases)
{
	my $case = $cases[$n];
	my $o    = $outcomes->{ $n + 1 } // { outcome => 'not run' };
	my $s    = $stats{ $case->{signature} } //= { returned => 0, error => {}, input_rejected => 0, bad => 0 };
	push @slowest, [ $o->{ms}, $case ] if defined $o->{ms};
	$s->{ms} += $o->{ms} // 0;
	if ($o->{outcome} eq 'returned') { $s->{returned}++; next; }
	if ($o->{outcome} eq 'input_rejected') { $s->{input_rejected}++; next; }
	if ($o->{outcome} eq 'error' && $ALLOWED{ $o->{sqlstate} })
	{
		$s->{error}{ $o->{sqlstate} }++;
		next;
	}
	$s->{bad}++;
	push @bad, sprintf('%s [%s] -> %s %s: %s (seed %d, case %d)', $case->{signature},
		truncated($case->{label}, 300), $o->{outcome}, $o->{sqlstate} // '', $o->{message} // '', $SEED, $n + 1);
}

sub truncated
{
	my ($s, $n) = @_;
	return length($s) > $n ? substr($s, 0, $n) . '...' : $s;
}

for my $f (@$functions)
{
	my $s = $stats{ $f->{signature} };
	my $errors = join(', ', map { "$_ x$s->{error}{$_}" } sort keys %{ $s->{error} }) || 'none';
	is($s->{bad}, 0,
		sprintf('%s: %d returned, errors %s, %d refused by type input (%.1f s)',
			$f->{signature}, $s->{returned}, $errors, $s->{input_rejected}, $s->{ms} / 1000));
	# Trigger functions, and support functions (an internal argument: only the planner calls
	# them), cannot be called from SQL: every call is refused, which the check above still holds
	# to an allowed error.
	next if $f->{returns_trigger} || $f->{takes_internal};
	cmp_ok($s->{returned}, '>', 0, "$f->{signature}: the hostile calls reach the function (some return)");
}
diag("failed: $_") for @bad[ 0 .. ($#bad < 49 ? $#bad : 49) ];
@slowest = sort { $b->[0] <=> $a->[0] } @slowest;
diag(sprintf('slowest: %.0f ms %s [%s]', $_->[0], $_->[1]{signature}, truncated($_->[1]{label}, 120)))
  for @slowest[ 0 .. 9 ];

# ---- RE2: (a+)+$ against 100,000 'a' and a 'b' stays linear ----
# A backtracking engine tries every way of splitting the run of 'a's between the two '+' before
# failing at the 'b': 2^100000 paths. RE2 answers in one pass; 5 s is a bound no machine misses.
my $redos_flag = to_json({ key => 'redos', filters => { groups => [ { properties =>
	[ { key => 's', type => 'person', operator => 'regex', value => '(a+)+$' } ], rollout_percentage => 100 } ] } });
my $not_redos_flag = $redos_flag =~ s/"regex"/"not_regex"/r;
my $long = q{repeat('a', 100000) || 'b'};
sub within_5s
{
	my ($sql) = @_;
	my ($status, $stdout, $stderr) = $node->psql('postgres', "SET statement_timeout = '5s'; $sql");
	return $status == 0 ? $stdout : "error: $stderr";
}
is(within_5s("SELECT flag_eval.flag_eval('$redos_flag', 'u', jsonb_build_object('s', $long))"), 'f',
	'regex (a+)+$ against 100,000 a then b: false, within 5 s');
is(within_5s("SELECT flag_eval.flag_eval('$not_redos_flag', 'u', jsonb_build_object('s', $long))"), 't',
	'not_regex (a+)+$ against the same: true, within 5 s');
is(within_5s("SELECT flag_eval.flag_eval('$redos_flag', 'u', jsonb_build_object('s', repeat('a', 100000)))"), 't',
	'regex (a+)+$ against 100,000 a: true');
is( within_5s("SELECT flag_eval.flag_evaluate_all(jsonb_build_object('flags', jsonb_build_array('$redos_flag'::jsonb)),
	    jsonb_build_object('distinct_id', 'u', 'person_properties', jsonb_build_object('s', $long))) #>> '{flags,redos,enabled}'"),
	'false', 'flag_evaluate_all: the same, within 5 s');
$node->safe_psql('postgres',
	"INSERT INTO flag_eval.flags (team_id, key, definition) VALUES ($team_id, 'redos', '$redos_flag')");
is( within_5s("SELECT flag_eval.decide('$TOKEN', 'user-1', jsonb_build_object('s', $long))::jsonb #>> '{flags,redos,enabled}'"),
	'false', 'decide(): the same, within 5 s');

# ---- the server never restarted ----
is(postmaster_pid(), $postmaster_pid, 'the postmaster is the same process');
is(scalar(($node->psql('postgres', 'SELECT pg_postmaster_start_time()'))[1]), $postmaster_start,
	'pg_postmaster_start_time() is unchanged (no crash and reinitialisation)');
my $witness_now   = eval { $witness->query('SELECT pg_backend_pid()') };
my $witness_error = $@;
is($witness_now, $witness_pid, 'a session opened before the calls is still connected (no crash restart)')
  or diag("the session's last query: " . ($witness_error || 'answered another pid'));
eval { $witness->quit };
my $log = slurp_file($node->logfile, $log_offset_before);
my @crashes = $log =~ /^.*(?:terminated by signal|server process .* was terminated|terminating any other active server processes).*$/mg;
is(scalar @crashes, 0, 'no server process was terminated by a signal') or diag(join("\n", @crashes[ 0 .. 4 ]));

$node->stop;
done_testing();

sub postmaster_pid
{
	my $pidfile = $node->data_dir . '/postmaster.pid';
	open my $fh, '<', $pidfile or return 'no postmaster.pid';
	my $pid = <$fh>;
	chomp $pid;
	return $pid;
}
