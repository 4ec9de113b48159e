# Web pages and flag-decide, over real HTTP on the replica topology (primary, standby, PgBouncer):
# what a browser running posthog-js needs to read the answers of another origin (CORS), and
# the other requests posthog-js makes (remote config, events). The browser itself is in
# 017_posthog_js_browser.pl.
#
# - By default (cors_allowed_origins "*") every public endpoint answers any origin with
#   Access-Control-Allow-Origin: *, never with credentials; preflights get 204 with the methods,
#   the asked headers and a max-age; errors carry the header too, the server's own 413 included;
# - the feed, /metrics and the health checks never answer cross-origin;
# - with a list of origins, listed ones are echoed (Vary: Origin) and any other is refused with
#   403 before anything is evaluated or written (no continuity key);
# - remote config (/array/<token>/config and config.js) turns off everything flag-decide does not
#   serve; event paths answer 404 saying where events go, never a success that drops them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FlagEval::Test::DecideService;
use FlagEval::Test::Process qw(poll_until);
use FlagEval::Test::Topology;

my $TOKEN  = $FlagEval::Test::Topology::TOKEN;
my $SECRET = $FlagEval::Test::Topology::SECRET;
my $PAGE   = 'https://app.example';

my $topology = FlagEval::Test::Topology->start(persons => 200);
my $primary  = $topology->{primary};

my $open = FlagEval::Test::DecideService->new(
	name   => 'open',
	routes => $topology->routes,
	args   => [ '--max-body-bytes', 65536 ]);
my $listed = FlagEval::Test::DecideService->new(
	name   => 'listed',
	routes => $topology->routes,
	args   => [ '--cors-origins', "$PAGE, http://localhost:3000" ]);
for my $service ($open, $listed)
{
	$service->start;
	ok($service->wait_ready(30), "$service->{name}: ready")
	  or die $service->last_log_lines(40);
}

my $user = { token => $TOKEN, distinct_id => 'user-7' };

# ---- any origin (the default) ----
{
	my $answer = $open->post_json('/flags/?v=2', $user, origin => 'https://shop.example');
	is($answer->{status}, 200, 'any origin: /flags answers');
	is($answer->{headers}{'access-control-allow-origin'}, '*', 'any origin: Access-Control-Allow-Origin: *');
	ok(!exists $answer->{headers}{'access-control-allow-credentials'}, 'never with credentials');

	my $preflight = $open->request(
		'OPTIONS', '/flags/?v=2',
		headers => {
			origin                           => 'https://shop.example',
			'access-control-request-method'  => 'POST',
			'access-control-request-headers' => 'content-type'
		});
	is($preflight->{status}, 204, 'preflight: 204');
	is_deeply(
		[
			@{ $preflight->{headers} }{
				qw(access-control-allow-origin access-control-allow-methods
				  access-control-allow-headers access-control-max-age)
			}
		],
		[ '*', 'GET, POST, OPTIONS', 'content-type', '7200' ],
		'preflight: the origin, the methods, the asked headers, two hours');

	my $bad = $open->post('/flags?v=2', 'not json',
		origin => 'https://shop.example', 'content-type' => 'text/plain');
	is_deeply([ $bad->{status}, $bad->{headers}{'access-control-allow-origin'} ], [ 400, '*' ],
		'a 400 is readable by the page (it is not a network failure to posthog-js)');
	my $huge = $open->post('/flags?v=2', 'x' x 70000, origin => 'https://shop.example');
	is_deeply([ $huge->{status}, $huge->{headers}{'access-control-allow-origin'} ], [ 413, '*' ],
		"the server's own 413 is readable too");

	for my $secret ("/flags/definitions?token=$TOKEN", '/metrics', '/healthz', '/readyz')
	{
		my $get = $open->get($secret, origin => 'https://shop.example', authorization => "Bearer $SECRET");
		ok(!exists $get->{headers}{'access-control-allow-origin'}, "$secret: no CORS header");
		my $ask = $open->request('OPTIONS', $secret,
			headers => { origin => 'https://shop.example', 'access-control-request-method' => 'GET' });
		ok($ask->{status} >= 400 && !exists $ask->{headers}{'access-control-allow-origin'},
			"$secret: a preflight is refused ($ask->{status})");
	}
}

# ---- a list of origins ----
{
	my $answer = $listed->post_json('/flags?v=2', $user, origin => $PAGE);
	is_deeply(
		[ $answer->{status}, $answer->{headers}{'access-control-allow-origin'}, $answer->{headers}{vary} ],
		[ 200, $PAGE, 'Origin' ],
		'listed origin: echoed, with Vary: Origin');
	my $localhost = $listed->post_json('/flags?v=2', $user, origin => 'http://localhost:3000');
	is($localhost->{headers}{'access-control-allow-origin'}, 'http://localhost:3000', 'the second listed origin');
	is($listed->post_json('/flags?v=2', $user)->{status}, 200, 'no Origin (a server): answered');

	# A hostile page's request is refused before it is evaluated: no continuity key is written.
	my $continuity = { token => $TOKEN, distinct_id => 'user-43', '$anon_distinct_id' => 'anon-43' };
	my $keys = sub {
		$primary->safe_psql(
			'postgres', q{SELECT count(*) FROM flag_eval.hash_key_overrides h
			JOIN flag_eval.person_distinct_ids d ON d.person_id = h.person_id AND d.team_id = h.team_id
			WHERE d.distinct_id = 'user-43'});
	};
	my $hostile = $listed->post_json('/flags?v=2', $continuity, origin => 'https://evil.example');
	is($hostile->{status}, 403, 'an origin not listed: 403');
	like($hostile->{json}{detail} // '', qr/origin may not call flag-decide/, 'the error says why');
	ok(!exists $hostile->{headers}{'access-control-allow-origin'}, 'and the page cannot read it');
	is($keys->(), 0, 'nothing was written for it');
	my $preflight = $listed->request('OPTIONS', '/flags?v=2',
		headers => { origin => 'https://evil.example', 'access-control-request-method' => 'POST' });
	is($preflight->{status}, 403, 'its preflight: 403');
	is($listed->post_json('/flags?v=2', $continuity, origin => $PAGE)->{status}, 200, 'the listed page: 200');
	ok(poll_until(10, sub { $keys->() > 0 }), 'and its continuity key is written');
}

# ---- what else posthog-js asks for ----
{
	my $config = $open->get("/array/$TOKEN/config", origin => 'https://shop.example');
	is($config->{status}, 200, 'remote config: 200');
	is($config->{headers}{'access-control-allow-origin'}, '*', 'remote config: readable by the page');
	is_deeply(
		[ @{ $config->{json} }{qw(hasFeatureFlags sessionRecording surveys heatmaps)} ],
		[ JSON::PP::true, JSON::PP::false, JSON::PP::false, JSON::PP::false ],
		'remote config: flags on, what flag-decide does not serve off');
	my $script = $open->get("/array/$TOKEN/config.js");
	is($script->{headers}{'content-type'}, 'application/javascript', 'config.js: a script');
	like($script->{content}, qr/_POSTHOG_REMOTE_CONFIG\W+c\["\Q$TOKEN\E"\]=\{config:\{/,
		'config.js: stores the config under the token');
	is($open->get('/array/phc_nobody/config')->{status}, 404, 'remote config of an unknown token: 404');
	is($open->get('/array/bad%22token/config')->{status}, 400, 'a malformed token: 400');

	my $events = $open->post('/e/?ip=1', '{"api_key": "x", "batch": []}', origin => 'https://shop.example');
	is_deeply([ $events->{status}, $events->{headers}{'access-control-allow-origin'} ], [ 404, '*' ],
		'events: 404 the page can read (posthog-js does not retry a 4xx)');
	like($events->{json}{detail} // '', qr/flags_api_host/, 'the 404 says where events go');
}

ok($_->stop, "$_->{name}: exits on SIGTERM") for $open, $listed;
done_testing();
