# The decide service when databases fail (docs/reference.md, Resilience contract), on the
# topology of 010_decide_service.pl (primary, standby, PgBouncer in front of the standby):
#
# - PgBouncer hangs (SIGSTOP): no response waits on it; the service moves on to the standby and
#   gives full answers again;
# - PgBouncer, the standby and the primary all down: every response is a 200, within a bound;
#   flags that need nothing stored (pure rollouts, properties the request supplies) are answered
#   and not failed; the others are failed (v2) or left out (v1), errorsWhileComputingFlags true;
# - the databases come back: full answers again within 5 s;
# - flag-decide restarted while every database is down serves from its snapshot.
#
# The response times measured are printed as notes (build/tap/log/regress_log_011_decide_degraded).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(poll_until);
use FlagEval::Test::Topology;

my $TOKEN    = $FlagEval::Test::Topology::TOKEN;
my $DEADLINE = 50;    # ms of database work per request (--deadline-ms)
# Definitions unconfirmed this long are declared stale (--stale-after-ms): long enough that no
# check before the wait for it below sees it on a busy machine.
my $STALE_AFTER = 8000;
# Every degraded response must arrive well within this; the real figures are printed.
my $RESPONSE_BOUND = 1.0;

my $topology = FlagEval::Test::Topology->start(persons => 2000);
my ($primary, $standby, $pgbouncer) = @$topology{qw(primary standby pgbouncer)};

my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => $topology->routes,
	args   => [
		'--deadline-ms', $DEADLINE, '--refresh-ms', 200, '--probe-ms', 100,
		'--stale-after-ms', $STALE_AFTER
	]);
$service->start;
ok($service->wait_ready(30), 'flag-decide is ready')
  or die "flag-decide did not become ready:\n" . $service->last_log_lines(40);

# user-7: a stored person, member of the static cohort. visitor-9: unknown, with a plan.
my $user7   = { token => $TOKEN, distinct_id => 'user-7' };
my $visitor = { token => $TOKEN, distinct_id => 'visitor-9', person_properties => { plan => 'pro' } };

# Flags that need nothing stored for user-7 (no filters), and flags that read stored data.
my @pure = qw(rollout-50 rollout-100 rollout-sha1-30 mv-checkout exp-pricing);
my @stored = qw(paid-plan adults webmail cohort-beta-testers cohort-paying-adults cohort-nested
  paid-checkout-a early-access);

my $full_response = $service->post_json('/flags?v=2', $user7);
my $full = $full_response->{json};
cmp_ok($full_response->{headers}{'x-flag-decide-definitions-age'} // 'none',
	'<', 5, 'all up: the definitions age header is a few refresh intervals at most');
is_deeply($full->{flags}, $topology->sql_decide($standby, $user7)->{flags},
	'all up: user-7 gets the full answer');
my $full_visitor = $service->post_json('/flags?v=2', $visitor)->{json};
ok($full_visitor->{flags}{'paid-plan'}{enabled}, 'all up: visitor-9 (plan pro) has paid-plan');

# Is this a full answer for user-7, the same as with every database up?
sub is_full_answer
{
	my ($response) = @_;
	return $response->{status} == 200
	  && !$response->{json}{errorsWhileComputingFlags}
	  && encode_json_canonical($response->{json}{flags}) eq encode_json_canonical($full->{flags});
}

# A flag's answer without the note that stale definitions add to its reason's description.
sub without_stale_note
{
	my ($flag) = @_;
	return $flag unless ref $flag eq 'HASH' && ref $flag->{reason} eq 'HASH';
	my %copy = (%$flag, reason => { %{ $flag->{reason} } });
	$copy{reason}{description} =~ s/ \(stale definitions: [^)]*\)$//
	  if defined $copy{reason}{description};
	return \%copy;
}

sub stale_everywhere
{
	my ($answer) = @_;
	my @flags = values %{ $answer->{flags} // {} };
	return @flags && !grep {
		($_->{reason}{description} // '') !~
		  /\(stale definitions: last confirmed current \d+ s ago\)$/
	} @flags;
}

sub encode_json_canonical { return JSON::PP->new->canonical->encode($_[0] // {}) }

sub ms { return sprintf('%.1f ms', 1000 * $_[0]) }

sub summary
{
	my (@seconds) = sort { $a <=> $b } @_;
	return 'no requests' unless @seconds;
	return sprintf('%d requests: median %s, max %s', scalar @seconds,
		ms($seconds[ $#seconds / 2 ]), ms($seconds[-1]));
}

# ---- PgBouncer hangs ----
# A stopped (SIGSTOP) PgBouncer accepts TCP connections in the kernel and never answers: a request
# that tries it is abandoned at the deadline, and the route is then skipped for the standby.
cmp_ok($pgbouncer->server_connections('postgres'), '>', 0,
	'all up: the service\'s queries go through PgBouncer (it holds server connections)');
$pgbouncer->pause;
my @hang_times;
my $started_hang = time;
my $recovered    = poll_until(
	10,
	sub {
		my $response = $service->post_json('/flags?v=2', $user7);
		push @hang_times, $response->{seconds};
		return $response->{status} == 200 && is_full_answer($response);
	});
ok($recovered, 'PgBouncer hangs: full answers again (from the standby) within 10 s');
note sprintf('PgBouncer hangs: full answers after %.2f s; %s', time - $started_hang, summary(@hang_times));
for (1 .. 10)
{
	push @hang_times, $service->post_json('/flags?v=2', $user7)->{seconds};
}
cmp_ok(max(@hang_times), '<', $RESPONSE_BOUND,
	'PgBouncer hangs: every response within ' . ms($RESPONSE_BOUND) . ' (max ' . ms(max(@hang_times)) . ')');
$pgbouncer->resume;

# ---- every database down ----

$pgbouncer->stop;
$standby->stop;
$primary->stop;

my (@down_times, @responses);
for my $i (1 .. 20)
{
	my $response = $service->post_json('/flags?v=2', $i % 2 ? $user7 : $visitor);
	push @down_times, $response->{seconds};
	push @responses, $response;
}
is_deeply([ map { $_->{status} } @responses ], [ (200) x 20 ],
	'all down: 20 requests, all answered 200');
cmp_ok(max(@down_times), '<', $RESPONSE_BOUND,
	'all down: every response within ' . ms($RESPONSE_BOUND) . ' (max ' . ms(max(@down_times)) . ')');
note 'all down: ' . summary(@down_times);

my $degraded = $service->post_json('/flags?v=2', $user7);
is($degraded->{status}, 200, 'all down: v2 for user-7: 200');
ok($degraded->{json}{errorsWhileComputingFlags}, 'all down: errorsWhileComputingFlags true');
for my $key (@pure)
{
	is_deeply(without_stale_note($degraded->{json}{flags}{$key}), $full->{flags}{$key},
		"all down: $key (a pure rollout) is answered as with the databases up");
}
is_deeply(
	[ grep { !($degraded->{json}{flags}{$_}{failed}) } @stored ],
	[], 'all down: the flags that read stored data are failed: ' . join(', ', @stored));
ok(!(grep { $_->{enabled} } map { $degraded->{json}{flags}{$_} // () } @stored),
	'all down: failed flags are not enabled');
is_deeply([ sort keys %{ $degraded->{json}{flags} } ],
	[ sort keys %{ $full->{flags} } ], 'all down: v2 still names every active flag');

my $degraded_visitor = $service->post_json('/flags?v=2', $visitor)->{json};
is_deeply($degraded_visitor->{flags}{'paid-plan'}, $full_visitor->{flags}{'paid-plan'},
	'all down: paid-plan from the plan the request supplies is answered, not failed');
ok($degraded_visitor->{flags}{'adults'}{failed},
	'all down: a flag on a property the request lacks is failed');

my $v1 = $service->post_json('/flags?v=1', $user7);
is($v1->{status}, 200, 'all down: v1: 200');
ok($v1->{json}{errorsWhileComputingFlags}, 'all down: v1: errorsWhileComputingFlags true');
is_deeply(
	[ sort keys %{ $v1->{json}{featureFlags} } ],
	[ sort grep { !$degraded->{json}{flags}{$_}{failed} } keys %{ $degraded->{json}{flags} } ],
	'all down: v1: featureFlags has exactly the flags that are not failed');
is($v1->{json}{featureFlags}{'rollout-100'} ? 1 : 0, 1, 'all down: v1: rollout-100 is on');

is($service->get('/healthz')->{status}, 200, 'all down: /healthz 200');
is($service->get('/readyz')->{status},  200, 'all down: /readyz 200 (definitions are in memory)');
is( $service->get("/flags/definitions?token=$TOKEN", authorization => "Bearer phs_demo")->{status},
	200, 'all down: the definitions feed is served from memory');

# Nothing could confirm the definitions for --stale-after-ms: every flag's reason says so.
my $stale = poll_until(
	20,
	sub {
		my $response = $service->post_json('/flags?v=2', $user7);
		return stale_everywhere($response->{json}) ? $response : undef;
	});
ok($stale, "all down: after $STALE_AFTER ms every reason description says the definitions are stale");
if ($stale)
{
	cmp_ok($stale->{headers}{'x-flag-decide-definitions-age'},
		'>=', $STALE_AFTER / 1000, 'all down: the definitions age header is past the bound');
	is($stale->{json}{flags}{'rollout-100'}{reason}{code},
		$full->{flags}{'rollout-100'}{reason}{code},
		'stale: the reason code is still the evaluation reason');
	is_deeply(without_stale_note($stale->{json}{flags}{'rollout-100'}),
		$full->{flags}{'rollout-100'}, 'stale: the answer itself is unchanged');
}

# ---- the databases come back ----

$primary->start;
$standby->start;
$pgbouncer->start;
my $back_started = time;
my $back = poll_until(5, sub { is_full_answer($service->post_json('/flags?v=2', $user7)) });
ok($back, 'databases back: full answers again within 5 s');
ok(poll_until(5, sub { !stale_everywhere($service->post_json('/flags?v=2', $user7)->{json}) }),
	'databases back: the definitions are no longer declared stale');
note sprintf('databases back: full answers after %.2f s', time - $back_started);

# ---- a restart with every database down: the snapshot ----

ok(-s $service->snapshot_path, 'the definitions snapshot file exists');
$pgbouncer->stop;
$standby->stop;
$primary->stop;
ok($service->stop, 'flag-decide exits on SIGTERM');
$service->start;
my $restart_started = time;
ok($service->wait_ready(10), 'restarted with every database down: /readyz 200 from the snapshot');
note sprintf('ready from the snapshot after %.2f s', time - $restart_started);
my $from_snapshot = $service->post_json('/flags?v=2', $user7);
is($from_snapshot->{status}, 200, 'from the snapshot: v2 for user-7: 200');
ok($from_snapshot->{json}{errorsWhileComputingFlags}, 'from the snapshot: errorsWhileComputingFlags true');
for my $key (@pure)
{
	is_deeply(without_stale_note($from_snapshot->{json}{flags}{$key}), $full->{flags}{$key},
		"from the snapshot: $key (a pure rollout) is answered");
}
is_deeply(
	[ grep { !($from_snapshot->{json}{flags}{$_}{failed}) } @stored ],
	[], 'from the snapshot: the flags that read stored data are failed');
cmp_ok($from_snapshot->{seconds}, '<', $RESPONSE_BOUND,
	'from the snapshot: answered in ' . ms($from_snapshot->{seconds}));
is(
	$service->post_json('/flags?v=2', { token => 'phc_nobody', distinct_id => 'user-7' })->{status},
	401, 'from the snapshot: an unknown token is still refused (401)');

ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
