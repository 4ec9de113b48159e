# posthog-js (npm) in Debian's headless Chromium, against the real topology (primary, standby,
# PgBouncer, flag-decide), on the page of examples/web: an app server on another origin than
# flag-decide that renders each page with posthog-js's bootstrap (test/sdk/browser.mjs drives it).
#
# - Several signed-in persons and an unknown visitor: the values bootstrapped by the app server
#   are there at load, before posthog-js sent any flags request, and equal flag_eval.decide()
#   for the page (and examples/web/bootstrap.sql computes the same bootstrap in SQL); the values posthog-js then asks flag-decide for equal decide() for what the
#   browser sent, values and payloads;
# - an anonymous visitor signs in (identify): the answers follow the person, with the anonymous
#   id for experience continuity;
# - primary and PgBouncer stopped: the same visitors, returning, get every flag from the standby;
# - every database stopped: no flag a returning visitor had flips (posthog-js keeps what a failed
#   flag had), and a first-time visitor still gets every flag that needs no stored data.
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;
use FlagEval::Test::NodeSdk;
use FlagEval::Test::Process qw(poll_until work_dir_for);
use FlagEval::Test::Topology;

my $CHROMIUM = $ENV{CHROMIUM} // '/usr/lib/chromium/chromium';
die "$CHROMIUM is missing (Debian package chromium; scripts/install-deps.sh installs it)\n"
  unless -x $CHROMIUM;    # not skipped: a missing browser must not pass
if (my $why = FlagEval::Test::NodeSdk::unavailable()) { die "$why\n" }
my $example = FlagEval::Test::DecideService::repository() . '/examples/web';
die "examples/web/node_modules is missing (scripts/run-tap.sh installs it)\n"
  unless -d "$example/node_modules/posthog-js";

my $TOKEN    = $FlagEval::Test::Topology::TOKEN;
my $topology = FlagEval::Test::Topology->start(persons => 200);
my ($primary, $standby) = @$topology{qw(primary standby)};

my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => $topology->routes,
	args   => [ '--deadline-ms', 500 ]);
$service->start;
ok($service->wait_ready(30), 'flag-decide ready') or die $service->last_log_lines(40);

my $app_port = PostgreSQL::Test::Cluster::get_free_port();
my $app      = FlagEval::Test::Process->new(name => 'example_app', command => [ 'node', "$example/server.mjs" ]);
{
	local @ENV{qw(PORT POSTHOG_TOKEN FLAG_DECIDE_URL BOOTSTRAP_TIMEOUT_MS)} =
	  ($app_port, $TOKEN, $service->{url}, 10000);    # generous: a busy machine, a sanitized build
	$app->start;
}
my $page = "http://127.0.0.1:$app_port/";
ok(poll_until(30, sub { HTTP::Tiny->new(timeout => 2)->get($page)->{success} }), 'the example app answers')
  or die 'example app: ' . `tail -20 ${\ $app->logfile}`;

# Every flag key of the team, read in the browser.
my @keys = sort keys %{ $topology->sql_decide($standby, { distinct_id => 'user-1' })->{flags} };
my $profiles = tempdir(DIR => work_dir_for('browser'), CLEANUP => 1);
# Each subject's browser keeps its profile (posthog-js's storage) from one run to the next.
my @subjects = (
	(map { { distinct_id => $_, profile => $_, keys => \@keys } } qw(user-7 user-20 user-15 visitor-new-1)),
	{ profile => 'anonymous', keys => \@keys, identify_as => 'user-8' });

sub browse
{
	my ($name, @which) = @_;
	local @ENV{qw(BROWSER_PAGE BROWSER_PROFILES)} = ($page, $profiles);
	my $visits = FlagEval::Test::NodeSdk::run('browser.mjs',
		host => $service->{url}, token => $TOKEN, subjects => \@which, timeout => 300);
	is(scalar @$visits, scalar @which, "$name: every visit ran");
	return $visits;
}

# decide() for what the page's browser sent: its runtime (a browser: client), device id and the
# properties posthog-js sends when it captures nothing.
sub decide_for
{
	my ($visit, %more) = @_;
	my $answer = $topology->sql_decide(
		$standby,
		{
			distinct_id        => $visit->{distinct_id},
			'$device_id'       => $visit->{device_id},
			person_properties  => { '$lib' => 'web', '$lib_version' => $visit->{lib_version} },
			evaluation_runtime => 'client',
			%more
		});
	return flag_values($answer);
}

# {values, payloads} by key, as posthog-js reads an answer: the variant or enabled, the payload
# JSON when on.
sub flag_values
{
	my ($answer) = @_;
	my (%values, %payloads);
	for my $key (@keys)
	{
		my $flag = $answer->{flags}{$key} // next;
		$values{$key} = defined $flag->{variant} ? $flag->{variant} : $flag->{enabled};
		my $payload = $flag->{metadata}{payload};
		$payloads{$key} = $flag->{enabled} && defined $payload ? decode_json("[$payload]")->[0] : undef;
	}
	return { values => \%values, payloads => \%payloads };
}

sub read_in_browser
{
	my ($read) = @_;
	return { values => $read->{values}, payloads => $read->{payloads} };
}

# ---- every database up ----
my $first = browse('all up', @subjects);
my %had;    # what each returning visitor's browser holds
for my $visit (@$first)
{
	my $who = $visit->{subject}{distinct_id} // 'an anonymous visitor';
	is($visit->{at_load}{flags_requests}, 0, "$who: no flags request before the page was loaded");
	my $bootstrapped = $topology->sql_decide($standby,
		{ distinct_id => $visit->{distinct_id}, evaluation_runtime => 'client' });
	is_deeply(read_in_browser($visit->{at_load}), flag_values($bootstrapped),
		"$who: the bootstrapped values, at load, equal decide() (values and payloads)");
	my $from_sql = $standby->safe_psql('postgres', undef, extra_params => [
		'-X', '-A', '-t', '-f', "$example/bootstrap.sql",
		'-v', "token=$TOKEN", '-v', "distinct_id=$visit->{distinct_id}",
		'-v', 'identified=' . ($visit->{subject}{distinct_id} ? 'true' : 'false') ]);
	is_deeply(decode_json($from_sql), $visit->{bootstrap},
		"$who: examples/web/bootstrap.sql computes the app server's bootstrap in SQL");
	is_deeply(read_in_browser($visit->{served}), decide_for($visit),
		"$who: the values posthog-js asked flag-decide for equal decide()");
	ok(!$visit->{served}{errors_loading}, "$who: errorsLoading false");
	is_deeply($visit->{served}{answer}, { status => 200, errors_while_computing_flags => JSON::PP::false, failed => 0 },
		"$who: flag-decide's answer had every flag");
	if (my $identified = $visit->{identified})
	{
		is_deeply(
			read_in_browser($identified),
			decide_for({ %$visit, distinct_id => $visit->{subject}{identify_as} },
				'$anon_distinct_id' => $identified->{anon_distinct_id}),
			"$who signs in as $visit->{subject}{identify_as}: its flags, with the anonymous id for continuity");
	}
	$had{$who} = read_in_browser($visit->{identified} // $visit->{served});
}

# ---- primary and PgBouncer stopped: the standby answers ----
$topology->{pgbouncer}->stop;
$primary->stop('fast');
my @returning = grep { $_->{distinct_id} } @subjects;    # signed in: the same person again
my $standby_only = browse('primary and PgBouncer stopped', @returning);
for my $visit (@$standby_only)
{
	my $who = $visit->{distinct_id};
	is_deeply(read_in_browser($visit->{served}), $had{$who}, "standby only, $who: every flag as before");
	# posthog-js would keep stored values for failed flags: what flag-decide answered is the test.
	is_deeply($visit->{served}{answer}, { status => 200, errors_while_computing_flags => JSON::PP::false, failed => 0 },
		"standby only, $who: flag-decide answered every flag, none failed");
}

# ---- every database stopped ----
$standby->stop('fast');
my $BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0';    # the client runtime, as the pages
my $stored_flags_fail = $service->post_json('/flags?v=2', { token => $TOKEN, distinct_id => 'user-7' },
	'user-agent' => $BROWSER_UA)->{json};
ok($stored_flags_fail->{errorsWhileComputingFlags}, 'no database: flag-decide says some flags failed');
my @computed_here = grep { exists $stored_flags_fail->{flags}{$_} && !$stored_flags_fail->{flags}{$_}{failed} } @keys;
cmp_ok(scalar @computed_here, '>', 5, scalar(@computed_here) . ' flags need no stored data');
my $outage = browse('every database stopped', @returning,
	{ distinct_id => 'visitor-new-2', profile => 'visitor-new-2', keys => \@keys });
for my $visit (@$outage[ 0 .. $#returning ])
{
	my $who = $visit->{distinct_id};
	is_deeply(read_in_browser($visit->{served}), $had{$who},
		"no database, $who returning: no flag flips (failed ones keep their value)");
	cmp_ok($visit->{served}{answer}{failed} // 0, '>', 0, "no database, $who: flag-decide's answer had failed flags");
}
{
	my $new = $outage->[-1];
	my $served = read_in_browser($new->{served});
	# What flag-decide itself answers for this browser's request with every database down.
	my $direct = $service->post_json('/flags?v=2',
		{ token => $TOKEN, distinct_id => 'visitor-new-2', '$device_id' => $new->{device_id},
		  person_properties => { '$lib' => 'web', '$lib_version' => $new->{lib_version} } },
		'user-agent' => $BROWSER_UA)->{json};
	my %computed = map { $_ => flag_values($direct)->{values}{$_} } @computed_here;
	is_deeply({ map { $_ => $served->{values}{$_} } @computed_here }, \%computed,
		'no database, a first-time visitor: every flag that needs no stored data loads');
}

$app->stop(5);
ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
