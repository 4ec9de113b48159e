# Per-backend caches of compiled team flags are invalidated on a hot standby too.
#
# A primary with flag_eval and a streaming standby. ONE long-lived session on the standby calls
# flag_eval.decide(); flags and a cohort are then changed on the primary, and once the standby
# has replayed the changes, that same session sees them. The flags and cohorts tables carry a
# statement trigger that calls CacheInvalidateRelcache, which is WAL-logged with the commit and
# replayed on standbys; without it the standby session would keep answering from its cache.
# (Checked: with those triggers disabled, the standby assertions after each change fail.)
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# ---- primary + streaming standby ----
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION flag_eval');

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay');

# ---- smoke: the extension on the standby ----
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
is( $standby->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'flag_eval'"),
	$primary->safe_psql('postgres',
		"SELECT default_version FROM pg_available_extensions WHERE name = 'flag_eval'"),
	'extension replicated to the standby');
is( $standby->safe_psql('postgres',
		q{SELECT flag_eval.flag_eval('{"key": "f", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}', 'user-1')}),
	't',
	'flag_eval() on the standby');

# ---- a team, a person, a cohort and flags, on the primary ----
# A flag definition in PostHog's shape, enabled for whoever matches PROPERTIES at ROLLOUT%.
sub flag_json
{
	my ($key, $rollout, @properties) = @_;
	return encode_json(
		{
			key     => $key,
			filters => {
				groups => [
					{
						properties         => \@properties,
						rollout_percentage => $rollout
					}
				]
			}
		});
}

sub plan_is
{
	my ($plan) = @_;
	return { key => 'plan', type => 'person', operator => 'exact', value => [$plan] };
}

sub email_contains_filters
{
	my ($domain) = @_;
	return encode_json(
		{
			type   => 'OR',
			values => [
				{
					type   => 'AND',
					values => [
						{
							key      => 'email',
							type     => 'person',
							operator => 'icontains',
							value    => $domain
						}
					]
				}
			]
		});
}

my $team = $primary->safe_psql(
	'postgres', q{
INSERT INTO flag_eval.teams (name, api_token, secret_token)
VALUES ('tap', 'phc_test', 'phs_test') RETURNING id});

$primary->safe_psql(
	'postgres', qq{
WITH p AS (
  INSERT INTO flag_eval.persons (team_id, properties)
  VALUES ($team, '{"email": "ada\@example.com", "plan": "pro"}') RETURNING id)
INSERT INTO flag_eval.person_distinct_ids (team_id, distinct_id, person_id)
SELECT $team, 'user-1', id FROM p});

my $example = email_contains_filters('@example.com');
my $cohort = $primary->safe_psql(
	'postgres', qq{
INSERT INTO flag_eval.cohorts (team_id, name, is_static, filters)
VALUES ($team, 'example.com people', false, '$example')
RETURNING id});

my %flags = (
	'beta'        => flag_json('beta', 100, plan_is('pro')),
	'ramp'        => flag_json('ramp', 0),
	'cohort-flag' => flag_json('cohort-flag', 100,
		{ key => 'id', type => 'cohort', value => $cohort + 0 }),
	'gone'        => flag_json('gone', 100));
for my $key (sort keys %flags)
{
	$primary->safe_psql('postgres',
		"INSERT INTO flag_eval.flags (team_id, key, definition) VALUES ($team, '$key', '$flags{$key}')"
	);
}
$primary->wait_for_catchup($standby, 'replay');

# ---- one long-lived session on the standby (and one on the primary) ----
my $on_standby = $standby->background_psql('postgres');
my $on_primary = $primary->background_psql('postgres');
$_->set_query_timer_restart for ($on_standby, $on_primary);
my $standby_pid = $on_standby->query_safe('SELECT pg_backend_pid()');

# decide() for user-1 in SESSION: the whole document, and {key => enabled}.
sub decide
{
	my ($session) = @_;
	my $doc = decode_json(
		$session->query_safe(q{SELECT flag_eval.decide('phc_test', 'user-1')}));
	my %enabled =
	  map { $_ => ($doc->{flags}{$_}{enabled} ? 1 : 0) } keys %{ $doc->{flags} };
	return ($doc, \%enabled);
}

my ($doc, $enabled) = decide($on_standby);
ok(!$doc->{errorsWhileComputingFlags}, 'standby: no errors while computing flags');
is_deeply(
	$enabled,
	{ 'beta' => 1, 'ramp' => 0, 'cohort-flag' => 1, 'gone' => 1 },
	'standby: the initial flags');
is($doc->{flags}{beta}{key}, 'beta', 'standby: a flag carries its key');
is($doc->{flags}{ramp}{metadata}{version}, 1, 'standby: ramp at version 1');
(undef, $enabled) = decide($on_standby);
is_deeply(
	$enabled,
	{ 'beta' => 1, 'ramp' => 0, 'cohort-flag' => 1, 'gone' => 1 },
	'standby: the same answer from the cached flags');
(undef, $enabled) = decide($on_primary);
is($enabled->{ramp}, 0, 'primary session: ramp off');

# ---- change flags on the primary: a rollout, a filter, a new flag, a deleted flag ----
my $ramp_on  = flag_json('ramp', 100);
my $beta_ent = flag_json('beta', 100, plan_is('enterprise'));
my $new_flag = flag_json('new-flag', 100);
$primary->safe_psql(
	'postgres', qq{
UPDATE flag_eval.flags SET definition = '$ramp_on' WHERE team_id = $team AND key = 'ramp';
UPDATE flag_eval.flags SET definition = '$beta_ent' WHERE team_id = $team AND key = 'beta';
INSERT INTO flag_eval.flags (team_id, key, definition) VALUES ($team, 'new-flag', '$new_flag');
UPDATE flag_eval.flags SET deleted = true WHERE team_id = $team AND key = 'gone';});
$primary->wait_for_catchup($standby, 'replay');

($doc, $enabled) = decide($on_standby);
is_deeply(
	$enabled,
	{ 'beta' => 0, 'ramp' => 1, 'cohort-flag' => 1, 'new-flag' => 1 },
	'standby: the same session sees the changed, added and deleted flags');
is($doc->{flags}{ramp}{metadata}{version}, 2, 'standby: ramp at version 2');
is($on_standby->query_safe('SELECT pg_backend_pid()'),
	$standby_pid, 'standby: still the same backend');
(undef, $enabled) = decide($on_primary);
is_deeply(
	$enabled,
	{ 'beta' => 0, 'ramp' => 1, 'cohort-flag' => 1, 'new-flag' => 1 },
	'primary: a long-lived session sees the changes too');

# ---- change the cohort: cohort-flag turns off ----
my $other = email_contains_filters('@other.com');
$primary->safe_psql('postgres',
	"UPDATE flag_eval.cohorts SET filters = '$other' WHERE id = $cohort");
$primary->wait_for_catchup($standby, 'replay');
(undef, $enabled) = decide($on_standby);
is($enabled->{'cohort-flag'}, 0, 'standby: the same session sees the changed cohort');

# ---- change the stored person: beta turns back on ----
$primary->safe_psql('postgres',
	qq{UPDATE flag_eval.persons SET properties = properties || '{"plan": "enterprise"}' WHERE team_id = $team});
$primary->wait_for_catchup($standby, 'replay');
(undef, $enabled) = decide($on_standby);
is($enabled->{beta}, 1, 'standby: the same session sees the changed person properties');
is($on_standby->query_safe('SELECT pg_backend_pid()'),
	$standby_pid, 'standby: one backend throughout');

$on_standby->quit;
$on_primary->quit;
$standby->stop;
$primary->stop;
done_testing();
