# The failure drill's short form (test/drill/drill.py --short; `make drill` runs the full one):
# a topology of its own (deploy/up.sh on free ports: primary, two standbys, a PgBouncer per
# standby, flag-decide) under steady /flags traffic, while faults come and go: PgBouncer killed
# and stopped, both PgBouncers killed and both hung, a standby stopped, backends killed, a flood
# from one client address, hot-standby conflicts, replica lag, every database down. Each of the
# drill's assertions becomes one TAP assertion: every request answered 200, no answer waited on a
# hung route (latency under half the 2 s a hang is held: a bound that holds on a busy machine;
# the deadline itself is `make drill`'s, on a quiet one), no answer gave up on stored data before
# its deadline while a healthy route remained, every answered flag correct, flags that need no
# stored data never failed, full answers within 5 s after the fault cleared, every flag edit on
# the primary reached the answers and the SDK feed, the flood met 429s, and that each fault took
# effect.
#
# The drill's output (the table of figures) is in build/tap/log/020_drill_short_drill.log, the
# servers' logs next to it (drill_*.log).
use strict;
use warnings;
use Cwd ();
use FindBin;
use lib "$FindBin::RealBin/lib";
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(work_dir_for log_file_for);

my $python = '/usr/bin/python3';    # Debian's: the drill needs its standard library only
die "$python is missing (Debian package python3; scripts/install-deps.sh installs it)\n" unless -x $python;

my $repo   = Cwd::abs_path(FlagEval::Test::DecideService::repository());
my $work   = work_dir_for('drill');
my $result = "$work/result.json";
my $log    = log_file_for('drill');

# The drill stops everything it started itself, failures and SIGTERM included; the timeout
# only guards against a drill that hangs.
my @command = (
	$python, "$repo/test/drill/drill.py", '--short',
	'--work-dir', "$work/topology", '--json', $result,
	'--log-dir', $PostgreSQL::Test::Utils::log_path,
	'--decide-bin', Cwd::abs_path(FlagEval::Test::DecideService::binary()));
note "running @command";
my $finished = eval {
	IPC::Run::run(\@command, '<', \'', '>', $log, '2>&1', IPC::Run::timeout(400));
	1;
};
note "drill: " . ($finished ? "exit status " . ($? >> 8) : "did not finish: $@");

my $document = -s $result ? eval { decode_json(slurp_file($result)) } : undef;
if (!$document)
{
	fail('the drill ran and wrote its results');
	diag 'last lines of the drill output:';
	my @lines = split /^/, -f $log ? slurp_file($log) : '';
	splice @lines, 0, @lines - 40 if @lines > 40;
	diag join('', @lines);
	done_testing();
	exit;
}

for my $assertion (@{ $document->{assertions} })
{
	my ($ok, $text) = @$assertion;
	ok($ok, $text);
}
my @problems = @{ $document->{problems} // [] };
splice @problems, 20 if @problems > 20;
diag "problems the load saw:\n" . join("\n", @problems)
  if @problems && grep { !$_->[0] } @{ $document->{assertions} };

# The figures, for the log (regress_log_020_drill_short).
for my $row (@{ $document->{rows} })
{
	my $s = $row->{stats};
	note sprintf('%-38s %5d requests, %5.1f %% degraded, p50 %.1f ms, p99 %.1f ms, max %.1f ms, full after %.2f s',
		$row->{title}, $s->{requests}, $s->{degraded_pct}, $s->{p50_ms}, $s->{p99_ms}, $s->{max_ms},
		$s->{seconds_to_full});
}
done_testing();
