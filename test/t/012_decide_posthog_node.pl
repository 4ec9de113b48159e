# posthog-node 5.70.0 (test/sdk) against the decide service, on the topology of
# 010_decide_service.pl (primary with deploy/sample_data.sql, standby, PgBouncer).
#
# - Remote evaluation (getAllFlags, getAllFlagsAndPayloads, getFeatureFlag, getFeatureFlagPayload):
#   each subject's flags equal flag_evaluate_all(definitions('phc_demo'), context) on the standby,
#   the context built as decide() builds it (stored properties under the request's); a flag
#   flag_evaluate_all cannot compute (a static cohort) is compared with decide() instead.
# - Local evaluation (personalApiKey = the secret; the SDK polls /flags/definitions): sha1 flags
#   evaluated by the SDK itself agree with the server; xxh3 flags are not evaluated locally
#   (undefined with onlyEvaluateLocally) and, without it, the SDK asks the server and gets the
#   server's value. Two more sha1 flags are in the feed as they are: a device-bucketed one (the
#   SDK decides it for subjects with a $device_id, and asks the server for the others) and a
#   mixed user-and-group one (the SDK decides it given the group's properties).
# The scripts send no events (flag-decide has no /batch) and must finish promptly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FlagEval::Test::DecideService;
use FlagEval::Test::NodeSdk;
use FlagEval::Test::Topology;

if (my $why = FlagEval::Test::NodeSdk::unavailable())
{
	# Not skipped: a missing SDK must not pass for agreement.
	die "$why\n";
}

my $TOKEN  = $FlagEval::Test::Topology::TOKEN;
my $SECRET = $FlagEval::Test::Topology::SECRET;

my $topology = FlagEval::Test::Topology->start(persons => 2000);
my $standby  = $topology->{standby};

# PostHog's 2026 targeting, in sha1 so that posthog-node can evaluate it.
my @new_keys = qw(device-sha1 mixed-sha1);
$topology->{primary}->safe_psql('postgres', <<"SQL");
INSERT INTO flag_eval.flags (team_id, key, definition)
SELECT t.id, f.key, f.definition::jsonb FROM flag_eval.teams t, (VALUES
  ('device-sha1', '{"bucketing": "sha1", "bucketing_identifier": "device_id", "filters": {
     "groups": [{"properties": [], "rollout_percentage": 50}],
     "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]},
     "payloads": {"a": "{\\"side\\": \\"a\\"}"}}}'),
  ('mixed-sha1', '{"bucketing": "sha1", "filters": {"aggregation_group_type_index": null, "groups": [
     {"aggregation_group_type_index": 0, "rollout_percentage": 60, "properties": [
       {"key": "tier", "type": "group", "group_type_index": 0, "operator": "exact", "value": ["gold", "silver"]}]},
     {"aggregation_group_type_index": null, "rollout_percentage": 40, "properties": [
       {"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}]}],
     "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}}}')
) AS f(key, definition)
WHERE t.api_token = '$TOKEN'
SQL
$topology->{primary}->wait_for_catchup($standby, 'replay');

my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => $topology->routes,
	args   => [ '--deadline-ms', 50, '--refresh-ms', 200 ]);
$service->start;
ok($service->wait_ready(30), 'flag-decide is ready')
  or die "flag-decide did not become ready:\n" . $service->last_log_lines(40);

sub value_of_v2_flag
{
	my ($flag) = @_;
	return defined $flag->{variant} ? $flag->{variant} : $flag->{enabled};
}

sub parsed_payload
{
	my ($text) = @_;
	return undef unless defined $text;
	return JSON::PP->new->allow_nonref->decode($text);
}

# ---- remote evaluation ----

my @remote_subjects = (
	{ distinct_id => 'user-7' },
	{ distinct_id => 'user-15', person_properties => { plan => 'enterprise', country => 'GB' } },
	{ distinct_id => 'device-20', groups => { organization => 'org-3', company => 'company-5' } },
	{
		distinct_id       => 'visitor-5',
		person_properties => {
			email       => 'visitor5@yahoo.co.uk',
			plan        => 'free',
			country     => 'FR',
			age         => 19,
			app_version => '1.5.3'
		}
	},
	{
		distinct_id      => 'user-30',
		groups           => { organization => 'org-4', company => 'company-new' },
		group_properties => { organization => { tier => 'gold' }, company => { employees => 5000 } }
	},);
my @single_keys = qw(paid-plan mv-checkout mv-homepage cohort-beta-testers rollout-50 org-gold company-large);
$_->{keys} = \@single_keys for @remote_subjects;

my $started = time;
my $remote  = FlagEval::Test::NodeSdk::run(
	'remote_flags.mjs',
	host     => $service->url,
	token    => $TOKEN,
	subjects => \@remote_subjects);
my $remote_seconds = time - $started;
cmp_ok($remote_seconds, '<', 30, sprintf('remote_flags.mjs finished (%.1f s): nothing waits on /batch', $remote_seconds));
is_deeply($remote->{errors}, [], 'remote: posthog-node reported no error');

for my $i (0 .. $#remote_subjects)
{
	my $subject = $remote_subjects[$i];
	my $result  = $remote->{results}[$i];
	my $id      = $subject->{distinct_id};
	my $request = { token => $TOKEN, %$subject };
	my $all     = $topology->sql_evaluate_all($standby, $request);
	my $decided = $topology->sql_decide($standby, $request);

	my (%expected, %payloads, @from_decide);
	for my $key (keys %{ $decided->{flags} })
	{
		my $detail = $all->{flags}{$key};
		if (!$detail || $detail->{failed})
		{
			# flag_evaluate_all has no stored data (a static cohort): decide() has
			push @from_decide, $key;
			my $flag = $decided->{flags}{$key};
			$expected{$key} = value_of_v2_flag($flag);
			$payloads{$key} = parsed_payload($flag->{metadata}{payload})
			  if $flag->{enabled} && defined $flag->{metadata}{payload};
			next;
		}
		$expected{$key} = $detail->{value};
		$payloads{$key} = parsed_payload($detail->{payload})
		  if $detail->{enabled} && defined $detail->{payload};
	}
	note "$id: compared with decide() instead of flag_evaluate_all(): @{[ sort @from_decide ]}";

	is_deeply($result->{all_flags}, \%expected,
		"remote $id: getAllFlags equals flag_evaluate_all() over the stored and request data");
	is_deeply($result->{all_flags_and_payloads}, \%expected,
		"remote $id: getAllFlagsAndPayloads flags");
	is_deeply($result->{all_payloads}, \%payloads,
		"remote $id: getAllFlagsAndPayloads payloads, parsed");
	is_deeply(
		$result->{flags},
		{ map { $_ => { value => $expected{$_} } } @single_keys },
		"remote $id: getFeatureFlag of @single_keys");
	is_deeply(
		$result->{payloads},
		{ map { $_ => { value => $payloads{$_} } } @single_keys },
		"remote $id: getFeatureFlagPayload (null for a flag without one)");
}
ok((grep { $_->{all_flags}{'cohort-beta-testers'} } @{ $remote->{results} }),
	'remote: user-7 is in the static cohort (a flag only decide() can compute)');

# ---- local evaluation ----

my @sha1_keys = qw(rollout-sha1-30 app-v2-plus sha1-webmail-50 mv-theme-sha1);
my @xxh3_keys = qw(rollout-50 paid-plan mv-checkout not-free);

# The SDK evaluates with the properties it is given: give it each subject's stored properties
# merged with the request's, as the server sees them.
my @local_subjects;
for my $subject (
	{ distinct_id => 'user-7' },
	{ distinct_id => 'user-15', person_properties => { plan => 'enterprise', app_version => '2.0.1' } },
	{ distinct_id => 'visitor-5', person_properties => { email => 'v5@gmail.com', country => 'DE', app_version => '2.2.0' } },
	map { +{ distinct_id => "user-$_", n => $_ } } 100 .. 159)
{
	my $properties = decode_json(
		$standby->safe_psql(
			'postgres',
			sprintf(
				q{SELECT coalesce((SELECT p.properties FROM flag_eval.person_distinct_ids d
				                    JOIN flag_eval.persons p ON p.id = d.person_id
				                    JOIN flag_eval.teams t ON t.id = d.team_id
				                    WHERE t.api_token = '%s' AND d.distinct_id = %s), '{}') || %s},
				$TOKEN,
				FlagEval::Test::Topology::literal($subject->{distinct_id}),
				FlagEval::Test::Topology::json_literal($subject->{person_properties} // {}))));
	my %local = (
		distinct_id       => $subject->{distinct_id},
		person_properties => $properties,
		keys              => [ @sha1_keys, @xxh3_keys, @new_keys ]);
	if (my $n = $subject->{n})
	{
		# Two in three have a device; half are in an organization, with its stored properties.
		$properties->{'$device_id'} = "device-of-$n" if $n % 3;
		if ($n % 2)
		{
			my $org = 'org-' . ($n % 200);
			$local{groups} = { organization => $org };
			$local{group_properties} = {
				organization => decode_json(
					$standby->safe_psql(
						'postgres',
						"SELECT coalesce((SELECT properties FROM flag_eval.groups g JOIN flag_eval.teams t "
						  . "ON t.id = g.team_id WHERE t.api_token = '$TOKEN' AND g.group_type_index = 0 "
						  . "AND g.group_key = '$org'), '{}')")) };
		}
	}
	push @local_subjects, \%local;
}

$started = time;
my $local = FlagEval::Test::NodeSdk::run(
	'local_flags.mjs',
	host     => $service->url,
	token    => $TOKEN,
	secret   => $SECRET,
	subjects => \@local_subjects);
my $local_seconds = time - $started;
cmp_ok($local_seconds, '<', 60, sprintf('local_flags.mjs finished (%.1f s)', $local_seconds));
ok($local->{ready}, 'local: posthog-node loaded the definitions feed with the secret');
is_deeply($local->{errors}, [], 'local: posthog-node reported no error');

# The server's answers for the same requests.
my %server;
for my $subject (@local_subjects)
{
	my $flags = $topology->sql_decide($standby,
		{ token => $TOKEN, %$subject, '$device_id' => $subject->{person_properties}{'$device_id'} })->{flags};
	$server{ $subject->{distinct_id} }{$_} = value_of_v2_flag($flags->{$_}) for (@sha1_keys, @xxh3_keys, @new_keys);
}

sub answers_of
{
	my ($mode, $key) = @_;
	return { map { $_->{distinct_id} => $_->{$mode}{$key} } @{ $local->{results} } };
}

sub server_answers_of
{
	my ($key) = @_;
	return { map { $_ => { value => $server{$_}{$key} } } keys %server };
}

for my $key (@sha1_keys)
{
	is_deeply(answers_of(local => $key), server_answers_of($key),
		"local: $key (sha1), evaluated by posthog-node itself, agrees with the server for "
		  . scalar(@local_subjects) . ' subjects');
	is_deeply(answers_of(mixed => $key), server_answers_of($key),
		"local: $key (sha1) without onlyEvaluateLocally agrees with the server");
}
my %all_undefined = map { $_->{distinct_id} => undef } @local_subjects;
for my $key (@xxh3_keys)
{
	is_deeply(answers_of(local => $key), \%all_undefined,
		"local: $key (xxh3) is not evaluated locally (undefined with onlyEvaluateLocally)");
	is_deeply(answers_of(mixed => $key), server_answers_of($key),
		"local: $key (xxh3) without onlyEvaluateLocally: the server's answer");
}
# Device-bucketed and mixed flags: posthog-node decides them where it has what it needs (a device
# id; the person's plan, or a group set that decides first, given the group's properties), and
# then always as the server does; where it cannot, it asks the server.
my %needs = (
	'device-sha1' => sub { defined $_[0]{person_properties}{'$device_id'} },
	'mixed-sha1'  => sub { defined $_[0]{person_properties}{plan} });
for my $key (@new_keys)
{
	my $local_answers = answers_of(local => $key);
	my (@wrong, @undecided, $decided);
	for my $subject (@local_subjects)
	{
		my $id = $subject->{distinct_id};
		if (defined $local_answers->{$id})
		{
			++$decided;
			push @wrong, $id if !is_deeply_quiet($local_answers->{$id}, { value => $server{$id}{$key} });
		}
		elsif ($needs{$key}->($subject))
		{
			push @undecided, $id;
		}
	}
	is_deeply(\@wrong, [], "local: $key, evaluated by posthog-node itself ($decided subjects), agrees with the server");
	is_deeply(\@undecided, [], "local: posthog-node decides $key for every subject that has what it needs");
	is_deeply(answers_of(mixed => $key), server_answers_of($key),
		"local: $key without onlyEvaluateLocally agrees with the server for every subject");
	my %values = map { JSON::PP->new->allow_nonref->encode($server{$_}{$key}) => 1 } keys %server;
	cmp_ok(scalar keys %values, '>=', 3, "local: $key takes several values (" . join(' ', sort keys %values) . ')');
}

sub is_deeply_quiet
{
	my ($a, $b) = @_;
	my $json = JSON::PP->new->canonical->allow_nonref;
	return $json->encode($a) eq $json->encode($b);
}

# The sha1 flags are not all trivially on or off for these subjects.
my %seen = map { my $k = $_; map { ($k . '=' . JSON::PP->new->allow_nonref->encode($server{$_}{$k})) => 1 } keys %server } @sha1_keys;
cmp_ok(scalar keys %seen, '>=', 2 * scalar @sha1_keys, 'local: the sha1 flags take several values across the subjects');

ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
