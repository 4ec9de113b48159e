# The decide service end to end, with every database up: a primary with deploy/sample_data.sql,
# a streaming standby, PgBouncer (transaction pooling) in front of the standby, and
# build/flag-decide with the routes pgbouncer, standby, primary.
#
# - /flags?v=2 (and /flags/?v=2, /decide?v=4) answers equal flag_eval.decide() run directly on the
#   standby, for stored persons (by either distinct id), unknown persons, request properties over
#   stored ones, stored and unknown groups; /flags?v=1 and /decide?v=3 are the same answers in
#   the v1 shape;
# - gzip, base64 and form bodies, api_key for token;
# - errors: 400, 401, 413, 404; the local-evaluation feed with ETag / 304 and its secret;
#   /healthz, /readyz, /metrics;
# - experience continuity: the override is written on the primary;
# - a flag changed on the primary reaches the service's answers within a deadline.
# Degraded answers are in 011_decide_degraded.pl, posthog-node in 012_decide_posthog_node.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(poll_until);
use FlagEval::Test::Topology;

my $TOKEN  = $FlagEval::Test::Topology::TOKEN;
my $SECRET = $FlagEval::Test::Topology::SECRET;

my $topology = FlagEval::Test::Topology->start(persons => 2000);
my ($primary, $standby) = @$topology{qw(primary standby)};

my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => $topology->routes,
	args   => [ '--deadline-ms', 50, '--refresh-ms', 200, '--max-body-bytes', 65536 ]);
$service->start;
ok($service->wait_ready(30), 'flag-decide: /readyz answers 200 once the definitions are loaded')
  or die "flag-decide did not become ready:\n" . $service->last_log_lines(40);

# ---- /flags?v=2 equals flag_eval.decide() on the standby ----

my @subjects = (
	{
		name        => 'a stored person (static cohort member)',
		distinct_id => 'user-7',
	},
	{
		name        => 'a stored person by its second distinct id, with stored groups',
		distinct_id => 'device-20',
		groups      => { organization => 'org-3', company => 'company-5' },
	},
	{
		name              => 'request properties over stored ones',
		distinct_id       => 'user-15',
		person_properties => { plan => 'enterprise', country => 'DE', app_version => '2.1.4' },
	},
	{
		name              => 'an unknown person with request properties',
		distinct_id       => 'visitor-1',
		person_properties => {
			email        => 'visitor1@gmail.com',
			plan         => 'Pro',
			country      => 'us',
			age          => 33,
			app_version  => '3.10.2',
			beta         => JSON::PP::true,
			signed_up_at => '2020-06-01T00:00:00Z'
		},
	},
	{
		name        => 'an unknown person without properties',
		distinct_id => 'visitor-2',
	},
	{
		name             => 'request group properties over stored ones, and an unknown group',
		distinct_id      => 'user-30',
		groups           => { organization => 'org-4', company => 'company-new' },
		group_properties =>
		  { organization => { tier => 'gold' }, company => { employees => 5000 } },
	},);

sub request_of
{
	my ($subject) = @_;
	my %request = (token => $TOKEN, %$subject);
	delete $request{name};
	return \%request;
}

# Do two decoded JSON documents hold the same data?
sub eq_deeply_json
{
	my ($got, $want) = @_;
	my $json = JSON::PP->new->canonical;
	return $json->encode([$got]) eq $json->encode([$want]);
}

my @full_answer_times;
for my $subject (@subjects)
{
	my $name     = $subject->{name};
	my $response = $service->post_json('/flags?v=2', request_of($subject));
	push @full_answer_times, $response->{seconds};
	is($response->{status}, 200, "$name: 200");
	my $expected = $topology->sql_decide($standby, $subject);
	is_deeply($response->{json}{flags}, $expected->{flags},
		"$name: every flag equals flag_eval.decide() on the standby");
	ok( defined $response->{json}{errorsWhileComputingFlags}
		  && !$response->{json}{errorsWhileComputingFlags},
		"$name: errorsWhileComputingFlags false");
}

note sprintf('full answers through PgBouncer: %s', join(', ', map { sprintf('%.1f ms', 1000 * $_) } @full_answer_times));

# ---- many requests at once: a busy route batches them, and each gets its own answer ----

# One pooled connection per route: requests that find it busy wait in a batch and share one
# statement (decide_outcomes() over unnest()). Children send the subjects above at once, round
# after round until the service reports a batch; every answer must still equal decide()'s.
{
	my $batching = FlagEval::Test::DecideService->new(
		name   => 'flag_decide_batching',
		routes => $topology->routes,
		args   => [ '--deadline-ms', 5000, '--pool-size', 1 ]);
	$batching->start;
	ok($batching->wait_ready(30), 'batching service: ready')
	  or diag $batching->last_log_lines(40);
	my %expected = map { $_->{name} => $topology->sql_decide($standby, $_)->{flags} } @subjects;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my ($batched, $rounds, @mismatches) = (0, 0);
	until ($batched > 0 || $rounds >= 20)
	{
		$rounds++;
		my @children;
		for my $child (1 .. 4)
		{
			my $pid = fork() // die "fork: $!";
			if (!$pid)
			{
				my %answers;
				for my $subject (@subjects)
				{
					my $response = $batching->post_json('/flags?v=2', request_of($subject));
					$answers{ $subject->{name} } = $response->{json} ? $response->{json}{flags} : $response->{status};
				}
				open(my $out, '>', "$dir/$child.json") or die $!;
				print $out encode_json(\%answers);
				close $out;
				POSIX::_exit(0);
			}
			push @children, $pid;
		}
		waitpid($_, 0) for @children;
		for my $child (1 .. 4)
		{
			my $answers = decode_json(PostgreSQL::Test::Utils::slurp_file("$dir/$child.json"));
			for my $subject (@subjects)
			{
				my $name = $subject->{name};
				push @mismatches, "round $rounds, child $child: $name"
				  unless eq_deeply_json($answers->{$name}, $expected{$name});
			}
		}
		($batched) = $batching->get('/metrics')->{content} =~ /^flag_decide_route_batched_queries_total\{route="pgbouncer"\} (\d+)/m;
		$batched //= 0;
	}
	cmp_ok($batched, '>', 0, "requests sent at once were batched ($batched queries in batches, $rounds rounds of 4 x 6)");
	is_deeply(\@mismatches, [], 'every answer sent at once equals flag_eval.decide() on the standby');

	# Continuity writes go to the primary in batches too: each request's override is recorded.
	my ($writes_batched, $write_rounds) = (0, 0);
	my @persons;
	until ($writes_batched > 0 || $write_rounds >= 20)
	{
		$write_rounds++;
		my @children;
		for my $child (1 .. 4)
		{
			my $id = 1000 + 10 * $write_rounds + $child;
			push @persons, $id;
			my $pid = fork() // die "fork: $!";
			if (!$pid)
			{
				$batching->post_json('/flags?v=2',
					{ token => $TOKEN, distinct_id => "user-$id", '$anon_distinct_id' => "anon-batch-$id" });
				POSIX::_exit(0);
			}
			push @children, $pid;
		}
		waitpid($_, 0) for @children;
		($writes_batched) = $batching->get('/metrics')->{content} =~ /^flag_decide_route_batched_queries_total\{route="primary"\} (\d+)/m;
		$writes_batched //= 0;
	}
	cmp_ok($writes_batched, '>', 0, "continuity writes sent at once were batched ($writes_batched in batches, $write_rounds rounds)");
	my $recorded = $primary->safe_psql('postgres', sprintf(q{
SELECT count(*) FROM flag_eval.hash_key_overrides h
JOIN flag_eval.person_distinct_ids d ON d.person_id = h.person_id AND d.team_id = h.team_id
WHERE h.feature_flag_key = 'continuity-onboarding'
  AND d.distinct_id IN (%s) AND h.hash_key = 'anon-batch-' || substr(d.distinct_id, 6)},
		join(', ', map { "'user-$_'" } @persons)));
	is($recorded, scalar(@persons), 'every batched continuity write recorded its override');
	$batching->stop;
}

# The first route, PgBouncer (pool_mode transaction) in front of the standby, carries the queries.
cmp_ok($topology->{pgbouncer}->server_connections('postgres'), '>', 0,
	'the queries went through PgBouncer (it holds server connections to the standby)');

# The two distinct ids of one person read the same stored properties (rollouts bucket by the
# distinct id, so only flags at 100 % are the same).
{
	my @by_properties = qw(paid-plan webmail adults early-adopters cohort-paying-adults cohort-nested);
	my %answers;
	for my $id ('user-20', 'device-20')
	{
		my $flags = $service->post_json('/flags?v=2', { token => $TOKEN, distinct_id => $id })->{json}{flags};
		$answers{$id} = { map { $_ => $flags->{$_}{reason}{code} } @by_properties };
	}
	is_deeply($answers{'device-20'}, $answers{'user-20'},
		'user-20 and device-20 (one person): the same stored properties decide ' . join(', ', @by_properties));
}

# ---- the v2 shape ----

my $user7  = { token => $TOKEN, distinct_id => 'user-7' };
my $v2     = $service->post_json('/flags?v=2', $user7);
my $flags  = $v2->{json}{flags};
like($v2->{headers}{'content-type'}, qr{^application/json}, 'v2: Content-Type application/json');
# (evaluatedAt and quotaLimited are optional in PostHog's v2 answer)
is_deeply([ sort grep { !/^(evaluatedAt|quotaLimited)$/ } keys %{ $v2->{json} } ],
	[qw(errorsWhileComputingFlags flags requestId)], 'v2: flags, errorsWhileComputingFlags, requestId')
  or diag explain [ keys %{ $v2->{json} } ];
like($v2->{json}{requestId} // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	'v2: requestId is a version-4 UUID, as PostHog\'s');
is(scalar keys %$flags, 49, 'v2: the 49 active flags of the team');
ok(!exists $flags->{'retired-banner'}, 'v2: the inactive flag is left out');
is_deeply(
	[ sort keys %{ $flags->{'paid-plan'} } ],
	[qw(enabled failed key metadata reason variant)],
	'v2: a flag has key, enabled, variant, reason, metadata, failed');
is_deeply([ sort keys %{ $flags->{'paid-plan'}{metadata} } ],
	[qw(description has_experiment id payload version)],
	'v2: metadata has id, version, description, payload, has_experiment');
is_deeply([ sort keys %{ $flags->{'paid-plan'}{reason} } ],
	[qw(code condition_index description)], 'v2: reason has code, condition_index, description');
like($flags->{'mv-checkout'}{variant} // '', qr/^(control|test-a|test-b)$/,
	'v2: mv-checkout has one of its variants');
is($flags->{'cohort-beta-testers'}{enabled} ? 1 : 0, 1, 'v2: user-7 is in the static cohort');

# flag_keys_to_evaluate: only those flags, answered as in the full answer (one computed in the
# service, one needing the database, one the team does not have).
my $some = $service->post_json('/flags?v=2',
	{ %$user7, flag_keys_to_evaluate => [ 'rollout-100', 'cohort-beta-testers', 'no-such-flag' ] });
is_deeply($some->{json}{flags},
	{ map { $_ => $flags->{$_} } 'rollout-100', 'cohort-beta-testers' },
	'v2: flag_keys_to_evaluate answers just those flags, as the full answer does');

isnt($service->post_json('/flags?v=2', $user7)->{json}{requestId},
	$v2->{json}{requestId}, 'v2: each answer has its own requestId');

# posthog-node asks /flags/?v=2 (trailing slash); /decide?v=4 is the same shape.
for my $path ('/flags/?v=2', '/decide?v=4', '/decide/?v=4')
{
	my $response = $service->post_json($path, $user7);
	is($response->{status}, 200, "$path: 200");
	is_deeply($response->{json}{flags}, $flags, "$path: the v2 answer");
}

# ---- the v1 shape: /flags?v=1, /decide?v=3 ----

my %v1_flags = map { $_ => (defined $flags->{$_}{variant} ? $flags->{$_}{variant} : $flags->{$_}{enabled}) }
  keys %$flags;
my %v1_payloads = map { $_ => $flags->{$_}{metadata}{payload} }
  grep { $flags->{$_}{enabled} && defined $flags->{$_}{metadata}{payload} } keys %$flags;
ok(scalar(keys %v1_payloads) >= 3, 'user-7 has flags with payloads (' . join(', ', sort keys %v1_payloads) . ')');
for my $path ('/flags?v=1', '/flags', '/decide?v=3', '/decide/?v=3')
{
	my $response = $service->post_json($path, $user7);
	is($response->{status}, 200, "$path: 200");
	is_deeply($response->{json}{featureFlags}, \%v1_flags, "$path: featureFlags, variant or enabled");
	is_deeply($response->{json}{featureFlagPayloads},
		\%v1_payloads, "$path: featureFlagPayloads of the enabled flags, as stored");
	ok(defined $response->{json}{errorsWhileComputingFlags}
		  && !$response->{json}{errorsWhileComputingFlags},
		"$path: errorsWhileComputingFlags false");
}

# ---- bodies as SDKs send them ----

my $user7_json = encode_json($user7);
my $gzipped;
gzip(\$user7_json => \$gzipped) or die "gzip: $GzipError";
my $base64 = encode_base64($user7_json, '');
(my $form_value = $base64) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;

my %bodies = (
	'gzip body (Content-Encoding: gzip)' =>
	  [ '/flags?v=2', $gzipped, 'content-type' => 'application/json', 'content-encoding' => 'gzip' ],
	'gzip body (?compression=gzip-js, posthog-js)' =>
	  [ '/flags?v=2&compression=gzip-js', $gzipped, 'content-type' => 'text/plain' ],
	'base64 body (?compression=base64)' =>
	  [ '/flags?v=2&compression=base64', $base64, 'content-type' => 'text/plain' ],
	'form body data=<base64> (posthog-js legacy)' => [
		'/flags?v=2', "data=$form_value",
		'content-type' => 'application/x-www-form-urlencoded'
	],
	'api_key instead of token' => [
		'/flags?v=2', encode_json({ api_key => $TOKEN, distinct_id => 'user-7' }),
		'content-type' => 'application/json'
	],);
for my $name (sort keys %bodies)
{
	my ($path, $body, %headers) = @{ $bodies{$name} };
	my $response = $service->post($path, $body, %headers);
	is($response->{status}, 200, "$name: 200");
	is_deeply($response->{json}{flags}, $flags, "$name: the same answer as plain JSON");
}

# ---- errors ----

# The status, and for an unexpected success the body too (to see what was answered).
sub status_of
{
	my ($response) = @_;
	return $response->{status} . ($response->{status} >= 300 ? '' : ": $response->{content}");
}

my $bad_json = $service->post('/flags?v=2', '{"token": "phc_demo", "distinct_id": ',
	'content-type' => 'application/json');
is($bad_json->{status}, 400, 'malformed JSON: 400');
ok(ref $bad_json->{json} eq 'HASH', 'malformed JSON: a JSON error body');
is(status_of($service->post_json('/flags?v=2', { token => $TOKEN })),
	400, 'missing distinct_id: 400');
is(status_of($service->post_json('/flags?v=2', { token => $TOKEN, distinct_id => '' })),
	400, 'empty distinct_id: 400');
is(status_of($service->post_json('/flags?v=2', { token => $TOKEN, distinct_id => { id => 7 } })),
	400, 'distinct_id that is an object: 400');
is(status_of($service->post_json('/flags?v=2', { token => $TOKEN, distinct_id => 'user-7', person_properties => 'plan=pro' })),
	400, 'person_properties that is not an object: 400');
is(status_of($service->post('/flags?v=2', '[1, 2, 3]', 'content-type' => 'application/json')),
	400, 'a JSON body that is not an object: 400');
is(status_of($service->post_json('/flags?v=2', { token => 'phc_nobody', distinct_id => 'user-7' })),
	401, 'unknown token: 401');
is(status_of($service->post_json('/flags?v=2', { distinct_id => 'user-7' })),
	401, 'no token: 401');
is( status_of(
		$service->post_json(
			'/flags?v=2',
			{
				token             => $TOKEN,
				distinct_id       => 'user-7',
				person_properties => { padding => 'x' x 70000 }
			})),
	413,
	'a body over --max-body-bytes: 413');
is(status_of($service->post('/flags?v=2', 'not gzip at all', 'content-encoding' => 'gzip')),
	400, 'a body that is not the gzip it claims: 400');
is(status_of($service->get('/no/such/path')), 404, 'GET of an unknown path: 404');
is(status_of($service->post_json('/nothing-here', $user7)), 404, 'POST to an unknown path: 404');
ok($service->is_running, 'flag-decide still runs after the bad requests');

# ---- the local-evaluation feed ----

my $feed_path = "/flags/definitions?token=$TOKEN&send_cohorts";
my $feed = $service->get($feed_path, authorization => "Bearer $SECRET");
is($feed->{status}, 200, 'definitions feed with the secret: 200');
my $etag = $feed->{headers}{etag};
ok(defined $etag && $etag =~ /^(W\/)?"[^"]+"$/, 'definitions feed: an ETag (' . ($etag // 'none') . ')');
my $sql_feed = decode_json($standby->safe_psql('postgres', "SELECT flag_eval.definitions('$TOKEN')"));
is(scalar @{ $feed->{json}{flags} // [] }, scalar @{ $sql_feed->{flags} },
	'definitions feed: every live flag of the team (the inactive one too)');
is_deeply($feed->{json}{group_type_mapping},
	{ 0 => 'organization', 1 => 'company' }, 'definitions feed: the group type mapping');
is_deeply([ sort keys %{ $feed->{json}{cohorts} // {} } ],
	[ sort keys %{ $sql_feed->{cohorts} } ], 'definitions feed: the dynamic cohorts');
{
	# An SDK would bucket an xxh3 flag differently (it hashes with SHA-1): those flags must make it
	# ask the server. sha1 flags without anything else the SDK cannot do are handed over as stored.
	my %by_key = map { $_->{key} => $_ } @{ $feed->{json}{flags} // [] };
	my @wrong;
	for my $stored (@{ $sql_feed->{flags} })
	{
		my $fed = $by_key{ $stored->{key} } or do { push @wrong, "$stored->{key} missing"; next };
		next unless $stored->{active};
		my $sha1 = ($stored->{bucketing} // '') eq 'sha1';
		push @wrong, "$stored->{key} (xxh3) is not server-only"
		  if !$sha1 && !$fed->{ensure_experience_continuity};
	}
	is_deeply(\@wrong, [], 'definitions feed: every xxh3 flag is handed over as needing the server');
	for my $key ('rollout-sha1-30', 'app-v2-plus', 'sha1-webmail-50', 'mv-theme-sha1')
	{
		my ($stored) = grep { $_->{key} eq $key } @{ $sql_feed->{flags} };
		ok(!$by_key{$key}{ensure_experience_continuity}, "definitions feed: $key (sha1) is evaluated locally");
		is_deeply($by_key{$key}{filters}, $stored->{filters}, "definitions feed: $key has its stored filters");
	}
}
my $not_modified = $service->get($feed_path, authorization => "Bearer $SECRET", 'if-none-match' => $etag // '');
is($not_modified->{status}, 304, 'definitions feed with If-None-Match of its ETag: 304');
is($not_modified->{content} // '', '', 'definitions feed: 304 has no body');
is(status_of($service->get($feed_path, authorization => 'Bearer phs_wrong')),
	401, 'definitions feed with a wrong secret: 401');
is(status_of($service->get($feed_path)), 401, 'definitions feed without Authorization: 401');
is($service->get("/api/feature_flag/local_evaluation?token=$TOKEN", authorization => "Bearer $SECRET")->{status},
	200, '/api/feature_flag/local_evaluation: 200');

# ---- health, readiness, metrics ----

is($service->get('/healthz')->{status}, 200, '/healthz: 200');
is($service->get('/readyz')->{status},  200, '/readyz: 200');
my $metrics = $service->get('/metrics');
is($metrics->{status}, 200, '/metrics: 200');
like($metrics->{headers}{'content-type'} // '', qr{^text/plain}, '/metrics: Prometheus text format');
like($metrics->{content}, qr/^flag_decide_requests_total\{[^}]*\} \d+/m,
	'/metrics: flag_decide_requests_total has counted requests');
like($metrics->{content}, qr/^# TYPE flag_decide_requests_total counter$/m,
	'/metrics: flag_decide_requests_total is a counter');

# ---- experience continuity: the override is written on the primary ----

{
	my $request = { token => $TOKEN, distinct_id => 'user-42', '$anon_distinct_id' => 'anon-42' };
	my $response = $service->post_json('/flags?v=2', $request);
	is($response->{status}, 200, 'continuity: a request with $anon_distinct_id: 200');
	is_deeply(
		$response->{json}{flags}{'continuity-onboarding'},
		$topology->sql_decide($standby, $request)->{flags}{'continuity-onboarding'},
		'continuity: bucketed with the anonymous id, as decide() does');
	my $written = poll_until(
		10,
		sub {
			$primary->safe_psql(
				'postgres', q{
SELECT h.hash_key FROM flag_eval.hash_key_overrides h
JOIN flag_eval.person_distinct_ids d ON d.person_id = h.person_id AND d.team_id = h.team_id
WHERE d.distinct_id = 'user-42' AND h.feature_flag_key = 'continuity-onboarding'});
		});
	is($written, 'anon-42', 'continuity: the hash key override is recorded on the primary');
}

# ---- a flag changed on the primary reaches the service's answers ----

sub rollout_100_of
{
	my $flag = $service->post_json('/flags?v=2', $user7)->{json}{flags}{'rollout-100'} // {};
	return ($flag->{enabled} ? 1 : 0) . ' v' . ($flag->{metadata}{version} // '?');
}
is(rollout_100_of(), '1 v1', 'rollout-100: on, version 1');
for my $change ([ 0 => '0 v2' ], [ 100 => '1 v3' ])
{
	my ($pct, $expected) = @$change;
	$primary->safe_psql('postgres',
		"UPDATE flag_eval.flags SET definition = jsonb_set(definition, '{filters,groups,0,rollout_percentage}', '$pct') "
		  . "WHERE key = 'rollout-100' AND team_id = (SELECT id FROM flag_eval.teams WHERE api_token = '$TOKEN')");
	my $started = Time::HiRes::time();
	my $seen    = poll_until(10, sub { rollout_100_of() eq $expected });
	ok($seen, "rollout-100 set to $pct % on the primary: the service answers '$expected' within 10 s");
	note sprintf('the change reached the answers after %.2f s', Time::HiRes::time() - $started);
}

# ---- the team's property matching version reaches the service's own evaluation and its feed ----
{
	$primary->safe_psql('postgres',
		"INSERT INTO flag_eval.flags (team_id, key, definition) SELECT id, 'beta-false', "
		  . "'{\"filters\": {\"groups\": [{\"properties\": [{\"key\": \"beta\", \"type\": \"person\", "
		  . "\"operator\": \"exact\", \"value\": false}]}]}}' FROM flag_eval.teams WHERE api_token = '$TOKEN'");
	# Someone stored nowhere: every property is in the request, the service answers it itself.
	my $banana = { token => $TOKEN, distinct_id => 'nobody-stored', person_properties => { beta => 'banana' } };
	my $answer = sub {
		my $flag = $service->post_json('/flags?v=2', $banana)->{json}{flags}{'beta-false'};
		return defined $flag ? ($flag->{enabled} ? 'on' : 'off') : 'absent';
	};
	ok(poll_until(10, sub { $answer->() eq 'on' }),
		'matching version 1 (the default): exact false matches "banana" (legacy truthiness)');
	$primary->safe_psql('postgres',
		"UPDATE flag_eval.teams SET property_matching_version = 2 WHERE api_token = '$TOKEN'");
	ok(poll_until(10, sub { $answer->() eq 'off' }),
		'matching version 2 on the primary: the service compares plain text within 10 s');
	is($service->get($feed_path, authorization => "Bearer $SECRET")->{json}{property_matching_version},
		2, 'the feed says the version to SDKs');
	is_deeply($service->post_json('/flags?v=2', $banana)->{json}{flags}{'beta-false'},
		$topology->sql_decide($standby, $banana)->{flags}{'beta-false'}, 'the same as decide() on the standby');
}

# ---- evaluation runtime and contexts: which flags a request is answered ----
{
	my $team = "(SELECT id FROM flag_eval.teams WHERE api_token = '$TOKEN')";
	$primary->safe_psql('postgres', qq{
INSERT INTO flag_eval.flags (team_id, key, definition) VALUES
  ($team, 'rt-client', '{"evaluation_runtime": "client", "filters": {"groups": [{"properties": []}]}}'),
  ($team, 'rt-server-billing', '{"evaluation_runtime": "server", "evaluation_contexts": ["billing"],
                                 "filters": {"groups": [{"properties": []}]}}'),
  -- Stored data (a static cohort) and a flag outside some scopes: answered by decide(), which must
  -- count rt-client as off where the request's scope leaves it out.
  ($team, 'rt-beta-unless-client', '{"filters": {"groups": [{"properties": [
      {"key": "cohort-beta-testers", "type": "flag", "operator": "flag_evaluates_to", "value": true},
      {"key": "rt-client", "type": "flag", "operator": "flag_evaluates_to", "value": false}]}]}}')});
	my @keys = qw(rt-client rt-server-billing rt-beta-unless-client);
	my $answered = sub {
		my ($flags) = @_;
		return join ' ', map { $_ . ($flags->{$_}{enabled} ? '' : '(off)') } grep { exists $flags->{$_} } @keys;
	};
	# Answered, and not failed: the standby decide() reads has replayed the new flags too.
	ok(poll_until(10, sub {
		my $flag = $service->post_json('/flags?v=2', { %$user7, evaluation_runtime => 'all' })->{json}{flags}{'rt-beta-unless-client'};
		$flag && !$flag->{failed} }),
		'the runtime flags reach the service and the standby');

	my $browser_ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
	my @cases = (
		[ 'declared all', { evaluation_runtime => 'all' }, {}, 'all',
			'rt-client rt-server-billing rt-beta-unless-client(off)' ],
		[ 'a browser User-Agent', {}, { 'user-agent' => $browser_ua }, 'client',
			'rt-client rt-beta-unless-client(off)' ],
		[ 'an unknown User-Agent with an Origin header', {},
			{ 'user-agent' => 'my-app/1.0', origin => 'https://app.example' }, 'client',
			'rt-client rt-beta-unless-client(off)' ],
		[ 'posthog-node (declares server)', { evaluation_runtime => 'server' },
			{ 'user-agent' => 'posthog-node/5.70.0' }, 'server', 'rt-server-billing rt-beta-unless-client' ],
		[ 'curl', {}, { 'user-agent' => 'curl/7.88.1' }, 'server', 'rt-server-billing rt-beta-unless-client' ],
		[ 'an unknown client', {}, { 'user-agent' => 'my-app/1.0' }, 'unknown', 'rt-beta-unless-client' ],
		[ 'a server in the checkout context', { evaluation_runtime => 'server', evaluation_contexts => ['checkout'] },
			{}, 'server', 'rt-beta-unless-client' ],
		[ 'a server in the billing context', { evaluation_runtime => 'server', evaluation_environments => ['billing'] },
			{}, 'server', 'rt-server-billing rt-beta-unless-client' ],);
	for my $case (@cases)
	{
		my ($name, $fields, $headers, $runtime, $expected) = @$case;
		my $response = $service->post_json('/flags?v=2', { %$user7, %$fields }, %$headers);
		is($answered->($response->{json}{flags}), $expected, "runtime and contexts, $name: $expected");
		my $contexts = $fields->{evaluation_contexts} // $fields->{evaluation_environments};
		my $sql = $topology->sql_decide($standby,
			{ %$user7, evaluation_runtime => $runtime, (evaluation_contexts => $contexts) x !!$contexts });
		is_deeply($response->{json}{flags}, $sql->{flags}, "runtime and contexts, $name: equal to decide() as $runtime");
	}
	my $feed = $service->get($feed_path, authorization => "Bearer $SECRET")->{json};
	my ($billing) = grep { $_->{key} eq 'rt-server-billing' } @{ $feed->{flags} };
	is_deeply([ $billing->{evaluation_runtime}, $billing->{evaluation_contexts} ], [ 'server', ['billing'] ],
		'the feed carries evaluation_runtime and evaluation_contexts');
}

ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
