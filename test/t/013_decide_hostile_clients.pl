# The decide service's limits end to end, against build/flag-decide on the replica topology
# (primary, standby, PgBouncer), with --max-connections and --max-body-bytes set small:
#
# - under a load of hostile clients (slowloris connections that send their headers a byte at a
#   time and reconnect when dropped, clients that send a body a byte at a time, idle keep-alives,
#   and plain connections filling the rest up to --max-connections), a fast client keeps sending
#   real /flags?v=2 requests on its keep-alive connection: every one is answered 200 with the full
#   answer, each within the request deadline + 1 s (a liveness bound, not a speed assertion);
# - at the maximum, one more connection is refused with 503 while the open ones go on;
# - the service itself drops the slowloris and slow-body clients (its header and body deadlines),
#   although they keep sending;
# - 431 for a huge header block, 414 for a huge URL, 413 for a huge chunked body and for gzip
#   bombs (small compressed, huge decompressed), 400 with a clear message for broken gzip, base64
#   and HTTP;
# - afterwards the service still answers in full, its /metrics parse and count what happened, and
#   its open connections are back to what the test holds.
# The same limits on a toy handler are unit tests (test/decide/http_server_test.cpp); 413 by
# Content-Length and a body that is not gzip are in 010_decide_service.pl.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(poll_until);
use FlagEval::Test::RawHttp;
use FlagEval::Test::Topology;

my $TOKEN = $FlagEval::Test::Topology::TOKEN;

my $MAX_CONNECTIONS = 400;
my $MAX_BODY_BYTES  = 65536;
# Generous on purpose: the database deadline is not what is under test here, full answers are.
my $DEADLINE_MS = 500;
my $LIVENESS_BOUND = $DEADLINE_MS / 1000 + 1;

# The service's fixed client deadlines (HttpLimits in src/decide/http/http_server.hpp).
my $HEADER_TIMEOUT = 5;
my $BODY_TIMEOUT   = 10;

my %LOAD = (slowloris => 200, slow_body => 50, idle_keep_alive => 100);

my $topology = FlagEval::Test::Topology->start(persons => 500);
my $standby  = $topology->{standby};

my $service = FlagEval::Test::DecideService->new(
	name   => 'flag_decide',
	routes => $topology->routes,
	args   => [
		'--deadline-ms',     $DEADLINE_MS, '--max-body-bytes', $MAX_BODY_BYTES,
		'--max-connections', $MAX_CONNECTIONS
	]);
$service->start;
ok($service->wait_ready(30), 'flag-decide is ready')
  or die "flag-decide did not become ready:\n" . $service->last_log_lines(40);
my $port = $service->port;

# ---- the fast client: real requests on one keep-alive connection ----

my $user7 = { token => $TOKEN, distinct_id => 'user-7' };
my $fast_request = FlagEval::Test::RawHttp::request_text(
	'POST', '/flags?v=2',
	headers => [ 'Content-Type' => 'application/json' ],
	body    => encode_json($user7));
my $full_flags = $topology->sql_decide($standby, $user7)->{flags};
cmp_ok(scalar keys %$full_flags, '>=', 49, 'the full answer (decide() on the standby) has the team\'s flags');

# What is wrong with a fast answer ('' when it is 200 with the full answer in time).
sub fast_answer_problem
{
	my ($response) = @_;
	return 'no answer within ' . $LIVENESS_BOUND . ' s' unless $response;
	return "status $response->{status}: $response->{content}" unless $response->{status} == 200;
	return sprintf('answered after %.3f s', $response->{seconds}) if $response->{seconds} > $LIVENESS_BOUND;
	my $json = $response->{json} // {};
	return 'errorsWhileComputingFlags is not false' if $json->{errorsWhileComputingFlags} // 1;
	return 'not the full answer: ' . $response->{content}
	  unless eq_deeply_flags($json->{flags}, $full_flags);
	return '';
}

sub eq_deeply_flags
{
	my ($got, $expected) = @_;
	my $canonical = JSON::PP->new->canonical;
	return $canonical->encode($got // {}) eq $canonical->encode($expected);
}

my $fast = FlagEval::Test::RawHttp->connect($port) or die "cannot connect to flag-decide: $!";
is(fast_answer_problem($fast->exchange($fast_request, $LIVENESS_BOUND)), '',
	'before the load: the fast client gets the full answer');

# open connections as the service counts them, read on the fast connection (a new one might be
# refused at the maximum)
sub open_connections
{
	my $response = $fast->exchange(FlagEval::Test::RawHttp::request_text('GET', '/metrics'), 5)
	  or return undef;
	my ($open) = $response->{content} =~ /^flag_decide_open_connections (\d+)$/m;
	return $open;
}

# ---- the hostile load ----

sub connect_or_die
{
	return FlagEval::Test::RawHttp->connect($port) // die "cannot connect to flag-decide: $!";
}

# A head that never ends: one more header byte at each trickle.
my $slowloris_head = "POST /flags?v=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
sub open_slowloris
{
	my $conn = connect_or_die();
	$conn->{next} = 0;
	return $conn;
}

# Slow bodies: a complete head announcing a body under the limit, then a byte at each trickle.
my $slow_body_head = "POST /flags?v=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
  . 'Content-Length: ' . ($MAX_BODY_BYTES - 1) . "\r\n\r\n";

my $load_started = time;
my @slowloris = map { open_slowloris() } 1 .. $LOAD{slowloris};
my @slow_body = map {
	my $conn = connect_or_die();
	$conn->send_all($slow_body_head, 5) or die 'a slow-body client could not send its head';
	$conn
} 1 .. $LOAD{slow_body};

# Idle keep-alives: one request answered, then silence (the idle deadline is 30 s).
sub open_idle_keep_alive
{
	my $conn = connect_or_die();
	my $response = $conn->exchange(FlagEval::Test::RawHttp::request_text('GET', '/healthz'), 10);
	die 'an idle keep-alive client got no answer to its first request' unless $response && $response->{status} == 200;
	return $conn;
}
my @idle = map { open_idle_keep_alive() } 1 .. $LOAD{idle_keep_alive};

my $held = 1 + $LOAD{slowloris} + $LOAD{slow_body} + $LOAD{idle_keep_alive};
ok(poll_until(10, sub { (open_connections() // -1) == $held }),
	"the service holds every connection of the load ($held with the fast one)")
  or diag('open connections: ' . (open_connections() // 'unknown'));

# The rest, up to the maximum: more idle keep-alives.
push @idle, open_idle_keep_alive() for $held + 1 .. $MAX_CONNECTIONS;
is(open_connections(), $MAX_CONNECTIONS, "the service is at --max-connections ($MAX_CONNECTIONS)");

{
	my $extra = connect_or_die();
	my $refusal = $extra->exchange(FlagEval::Test::RawHttp::request_text('GET', '/healthz'), 5);
	# The 503 is best effort: a refusal may also be just the close.
	my $refused = $refusal ? $refusal->{status} == 503 : $extra->peer_closed(5);
	ok($refused, 'one connection beyond the maximum is refused (503 and closed)')
	  or diag('it was answered: ' . ($refusal ? "$refusal->{status} $refusal->{content}" : 'nothing'));
	ok($extra->peer_closed(5), 'the refused connection is closed by the service');
	$extra->close;
}
is(fast_answer_problem($fast->exchange($fast_request, $LIVENESS_BOUND)), '',
	'at the maximum: the fast client\'s open connection still gets the full answer');

# Now the fast client keeps asking while the slow clients trickle, until the service has dropped
# every slow client of the first wave on its own deadlines. Slowloris clients reconnect when
# dropped (as an attacker would), so the load stays on to the end.
my $TRICKLE_EVERY = 0.1;
my $last_trickle  = 0;
my (@fast_problems, @fast_seconds);
my (@slowloris_dropped_after, @slow_body_dropped_after, $slowloris_reconnects);
my $first_wave_slowloris = [@slowloris];
my %first_wave           = map { ($_ => 1) } @slowloris, @slow_body;
my $phase_deadline       = time + $BODY_TIMEOUT + 15;
$slowloris_reconnects = 0;

sub first_wave_left { return scalar grep { !$_->{closed} } @$first_wave_slowloris, @slow_body }

while (first_wave_left() > 0 && time < $phase_deadline)
{
	if (time - $last_trickle >= $TRICKLE_EVERY)
	{
		$last_trickle = time;
		for my $i (0 .. $#slowloris)
		{
			my $conn = $slowloris[$i];
			my $byte = $conn->{next} < length $slowloris_head ? substr($slowloris_head, $conn->{next}, 1) : 'a';
			if ($conn->send_all($byte, 0.5) && !$conn->peer_closed(0))
			{
				$conn->{next}++;
				next;
			}
			push @slowloris_dropped_after, time - $conn->opened if $first_wave{$conn};
			$conn->close;
			$slowloris[$i] = open_slowloris();
			$slowloris_reconnects++;
		}
		for my $conn (grep { !$_->{closed} } @slow_body)
		{
			next if $conn->send_all('x', 0.5) && !$conn->peer_closed(0);
			push @slow_body_dropped_after, time - $conn->opened;
			$conn->close;
		}
	}
	my $response = $fast->exchange($fast_request, $LIVENESS_BOUND);
	push @fast_seconds, $response->{seconds} if $response;
	my $problem = fast_answer_problem($response);
	push @fast_problems, $problem if $problem;
	last if !$response;    # the fast connection is gone: nothing more to learn from it
}

my @sorted = sort { $a <=> $b } @fast_seconds;
note sprintf('%d fast requests under load: median %.1f ms, max %.1f ms; %d slowloris reconnects',
	scalar @fast_seconds, 1000 * ($sorted[ $#sorted / 2 ] // 0), 1000 * ($sorted[-1] // 0),
	$slowloris_reconnects);
cmp_ok(scalar @fast_seconds, '>=', 20, 'the fast client made its requests during the load');
is_deeply(\@fast_problems, [],
	"under the load every fast /flags?v=2 is answered 200 with the full answer within $LIVENESS_BOUND s")
  or diag(scalar(@fast_problems) . ' problems, the first: ' . $fast_problems[0]);

is(first_wave_left(), 0, 'the service dropped every slowloris and slow-body client of the first wave');
is(scalar @slowloris_dropped_after, $LOAD{slowloris}, 'every first-wave slowloris client was dropped while sending');
is(scalar(grep { $_ < $HEADER_TIMEOUT - 0.5 } @slowloris_dropped_after), 0,
	"none before the header deadline ($HEADER_TIMEOUT s)");
is(scalar @slow_body_dropped_after, $LOAD{slow_body}, 'every slow-body client was dropped while sending');
is(scalar(grep { $_ < $BODY_TIMEOUT - 0.5 } @slow_body_dropped_after), 0,
	"none before the body deadline ($BODY_TIMEOUT s)");
note sprintf('slowloris dropped after %.1f..%.1f s, slow bodies after %.1f..%.1f s',
	(sort { $a <=> $b } @slowloris_dropped_after)[ 0, -1 ],
	(sort { $a <=> $b } @slow_body_dropped_after)[ 0, -1 ])
  if @slowloris_dropped_after && @slow_body_dropped_after;
ok(!(grep { $_->{closed} } @idle), 'the idle keep-alives are still open (within their idle deadline)');

$_->close for @slowloris, @slow_body, @idle;
ok(poll_until(10, sub { (open_connections() // -1) == 1 }),
	'once the load hangs up, the service holds only the fast connection again')
  or diag('open connections: ' . (open_connections() // 'unknown'));

# ---- limits, each on a connection of its own ----

# Sends $request on a fresh connection; the response, or undef.
sub one_shot
{
	my ($request) = @_;
	my $conn = connect_or_die();
	my $response = $conn->exchange($request, 10);
	$conn->close;
	return $response;
}

sub detail_of { return ($_[0] && $_[0]{json} ? $_[0]{json}{detail} : undef) // '' }

sub status_of { return $_[0] ? $_[0]{status} : 'no answer' }

my $huge_headers = one_shot(FlagEval::Test::RawHttp::request_text('GET', '/healthz',
	headers => [ map { ("X-Pad-$_" => 'p' x 1000) } 1 .. 40 ]));
is(status_of($huge_headers), 431, 'a 40 KB header block: 431');

my $huge_header = one_shot(FlagEval::Test::RawHttp::request_text('GET', '/healthz',
	headers => [ 'X-Huge' => 'h' x 40000 ]));
is(status_of($huge_header), 431, 'one 40 KB header field: 431');

is(status_of(one_shot(FlagEval::Test::RawHttp::request_text('GET', '/healthz?pad=' . ('u' x 9000)))),
	414, 'a 9 KB URL: 414');
is(status_of(one_shot(FlagEval::Test::RawHttp::request_text('GET', '/healthz?pad=' . ('u' x 40000)))),
	414, 'a 40 KB URL (longer than the whole header limit): 414');

# A chunked body that never ends: the service must answer 413 once it has read the limit, not
# wait for the end (the client stops sending when the answer arrives). Between chunks the client
# waits up to 10 ms for an answer, so a service thread that is not scheduled at once (both cores
# busy) does not see the whole 4 MB land in the socket buffers first.
{
	my $conn = connect_or_die();
	$conn->send_all("POST /flags?v=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		  . "Transfer-Encoding: chunked\r\n\r\n", 5);
	my $chunk = sprintf("%x\r\n%s\r\n", 8192, 'c' x 8192);
	my $sent = 0;
	while ($sent < 64 * $MAX_BODY_BYTES && !$conn->fill(0.01) && !$conn->{closed})
	{
		last unless $conn->send_all($chunk, 5);
		$sent += 8192;
	}
	my $response = $conn->read_response(10);
	is(status_of($response), 413, 'an endless chunked body: 413');
	cmp_ok($sent, '<', 64 * $MAX_BODY_BYTES, 'the 413 came before the client stopped sending')
	  or diag("sent $sent bytes");
	ok($conn->peer_closed(10), 'and the connection is closed');
	$conn->close;
}

# gzip bombs: under the body limit compressed, far over it decompressed.
my $bomb_json = encode_json({ token => $TOKEN, distinct_id => 'user-7', pad => '0' x (50 * 1024 * 1024) });
my $bomb;
gzip(\$bomb_json => \$bomb, Minimal => 1, -Level => 9) or die "gzip: $GzipError";
undef $bomb_json;
cmp_ok(length $bomb, '<', $MAX_BODY_BYTES, sprintf('the gzip bomb is %d bytes compressed, 50 MB inflated', length $bomb));
{
	my $response = one_shot(FlagEval::Test::RawHttp::request_text('POST', '/flags?v=2',
		headers => [ 'Content-Type' => 'application/json', 'Content-Encoding' => 'gzip' ], body => $bomb));
	is(status_of($response), 413, 'a gzip bomb (Content-Encoding: gzip): 413');
	like(detail_of($response), qr/once decoded/, 'a gzip bomb: the message says the decoded body is too large');
}
{
	my $bomb_json_small = encode_json({ token => $TOKEN, distinct_id => 'user-7', pad => '0' x (30 * 1024 * 1024) });
	gzip(\$bomb_json_small => \my $small_bomb, Minimal => 1, -Level => 9) or die "gzip: $GzipError";
	my $base64 = encode_base64($small_bomb, '');
	cmp_ok(length $base64, '<', $MAX_BODY_BYTES, 'the base64 gzip bomb fits under the body limit');
	my $response = one_shot(FlagEval::Test::RawHttp::request_text('POST', '/flags?v=2&compression=base64',
		headers => [ 'Content-Type' => 'text/plain' ], body => $base64));
	is(status_of($response), 413, 'a base64 gzip bomb (?compression=base64): 413');
	my $gzip_js = one_shot(FlagEval::Test::RawHttp::request_text('POST', '/flags?v=2&compression=gzip-js',
		headers => [ 'Content-Type' => 'text/plain' ], body => $small_bomb));
	is(status_of($gzip_js), 413, 'a gzip bomb (?compression=gzip-js): 413');
}

# Broken encodings: 400, and a message that says what is wrong.
my $user7_json = encode_json($user7);
gzip(\$user7_json => \my $user7_gzip) or die "gzip: $GzipError";
my $corrupt_gzip = $user7_gzip;
substr($corrupt_gzip, 12, 8) = "\xff" x 8;
my %broken = (
	'truncated gzip' => [ '/flags?v=2', [ 'Content-Encoding' => 'gzip' ],
		substr($user7_gzip, 0, int(length($user7_gzip) / 2)), qr/truncated/ ],
	'corrupt gzip' => [ '/flags?v=2', [ 'Content-Encoding' => 'gzip' ], $corrupt_gzip, qr/corrupt/ ],
	'gzip with junk after its end' => [ '/flags?v=2', [ 'Content-Encoding' => 'gzip' ],
		$user7_gzip . 'junk', qr/unexpected bytes after its end/ ],
	'base64 with a character outside the alphabet' => [ '/flags?v=2&compression=base64', [],
		substr(encode_base64($user7_json, ''), 0, 10) . '!!' . substr(encode_base64($user7_json, ''), 10),
		qr/not valid base64/ ],
	'truncated base64' => [ '/flags?v=2&compression=base64', [], 'ZXlK' . 'Q', qr/not valid base64 \(truncated\)/ ],
	'?compression=gzip-js on a body that is not gzip' => [ '/flags?v=2&compression=gzip-js', [],
		'this is not gzip', qr/compressed request body is (corrupt|truncated)/ ],
	'an unsupported Content-Encoding' => [ '/flags?v=2', [ 'Content-Encoding' => 'br' ],
		$user7_json, qr/unsupported Content-Encoding/ ],
	'an unsupported ?compression' => [ '/flags?v=2&compression=lz4', [], $user7_json,
		qr/unsupported compression/ ],);
for my $name (sort keys %broken)
{
	my ($path, $headers, $body, $message) = @{ $broken{$name} };
	my $response = one_shot(FlagEval::Test::RawHttp::request_text('POST', $path,
		headers => [ 'Content-Type' => 'text/plain', @$headers ], body => $body));
	is(status_of($response), 400, "$name: 400");
	like(detail_of($response), $message, "$name: the message says so ('" . detail_of($response) . "')");
}

# Broken HTTP.
for my $case (
	[ 'a request line that is not HTTP' => "HELLO THERE\r\n\r\n" ],
	[ 'a bad chunk size' => "POST /flags?v=2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" ],
	[ 'two different Content-Lengths' => "POST /flags?v=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}" ])
{
	my ($name, $request) = @$case;
	my $response = one_shot($request);
	is(status_of($response), 400, "$name: 400");
	like(detail_of($response), qr/^malformed HTTP/, "$name: the message says malformed HTTP");
}

# ---- afterwards ----

ok($service->is_running, 'flag-decide still runs');
is(fast_answer_problem($fast->exchange($fast_request, $LIVENESS_BOUND)), '',
	'afterwards: the fast client still gets the full answer');
is(fast_answer_problem(one_shot($fast_request)), '', 'afterwards: a new connection gets the full answer');

ok(poll_until(10, sub { (open_connections() // -1) == 1 }),
	'afterwards: the service holds only the fast connection (nothing leaked)')
  or diag('open connections: ' . (open_connections() // 'unknown'));
my $metrics = $fast->exchange(FlagEval::Test::RawHttp::request_text('GET', '/metrics'), 5);
is(status_of($metrics), 200, '/metrics: 200');
my (%requests, @unparsed, %samples);
for my $line (split /\n/, $metrics ? $metrics->{content} : '')
{
	next if $line =~ /^# (HELP|TYPE) /;
	if ($line =~ /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+|\+Inf|NaN)$/)
	{
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		push @unparsed, $line if $value eq 'NaN' || ($value ne '+Inf' && $value < 0);
		$samples{$name} += $value if $value =~ /^[0-9]/;
		$requests{$1} += $value if $name eq 'flag_decide_requests_total' && $labels =~ /status="(\d+)"/;
		next;
	}
	push @unparsed, $line;
}
is_deeply(\@unparsed, [], '/metrics: every line is a comment or a finite non-negative sample');
cmp_ok($requests{200} // 0, '>=', scalar @fast_seconds, '/metrics: the 200s are counted');
cmp_ok($requests{413} // 0, '>=', 4, '/metrics: the 413s are counted');
cmp_ok($requests{431} // 0, '>=', 2, '/metrics: the 431s are counted');
cmp_ok($requests{414} // 0, '>=', 2, '/metrics: the 414s are counted');
cmp_ok($requests{400} // 0, '>=', scalar(keys %broken) + 3, '/metrics: the 400s are counted');
cmp_ok($samples{flag_decide_connections_rejected_total} // 0, '>=', 1,
	'/metrics: the refused connection is counted');
cmp_ok($samples{flag_decide_degraded_answers_total} // 0, '==', 0, '/metrics: no degraded answer');
is($samples{flag_decide_open_connections}, 1, '/metrics: flag_decide_open_connections is reported');

$fast->close;
ok($service->stop, 'flag-decide exits on SIGTERM');
done_testing();
