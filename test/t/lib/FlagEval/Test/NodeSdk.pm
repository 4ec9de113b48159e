# Runs the posthog-node scripts of test/sdk (ESM, node) for TAP tests and returns what they print
# (one JSON document). scripts/run-tap.sh installs test/sdk/node_modules (npm ci) before prove.
#
#   my $out = FlagEval::Test::NodeSdk::run('remote_flags.mjs', host => $url, token => ...,
#                                           secret => ..., subjects => [...]);
package FlagEval::Test::NodeSdk;

use strict;
use warnings;
use Carp;
use IPC::Run;
use JSON::PP;
use Test::More ();

use FlagEval::Test::DecideService;

sub directory { return FlagEval::Test::DecideService::repository() . '/test/sdk' }

# Why the scripts cannot run here, or undef when they can.
sub unavailable
{
	my $node = `command -v node 2>/dev/null`;
	return 'node is not installed (Debian package nodejs)' unless $node;
	return 'test/sdk/node_modules/posthog-node is missing: run `npm ci --prefix test/sdk` (scripts/run-tap.sh does)'
	  unless -d directory() . '/node_modules/posthog-node';
	return undef;
}

# run(SCRIPT, host => URL, token => T, secret => S, subjects => [...]): the decoded output.
# Dies when the script fails or prints something that is not JSON; its stderr goes to the note.
sub run
{
	my ($script, %args) = @_;
	my %env = (
		FLAG_DECIDE_HOST     => $args{host},
		FLAG_DECIDE_TOKEN    => $args{token},
		FLAG_DECIDE_SECRET   => $args{secret} // '',
		FLAG_DECIDE_SUBJECTS => encode_json($args{subjects} // []),
		# deprecation notices of getFeatureFlag & co. are not what these tests read
		NODE_NO_WARNINGS => 1,);
	local @ENV{ keys %env } = values %env;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run([ 'node', directory() . "/$script" ],
			'<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout($args{timeout} // 60));
	};
	my $failure = $@;
	Test::More::note("$script stderr:\n$err") if length $err;
	my $document = eval { decode_json($out) };
	croak "$script failed ($failure, status $?): $out\n$err" unless $document && ($ok || !$failure);
	croak "$script: $document->{error}" if ref $document eq 'HASH' && $document->{error};
	return $document;
}

1;
