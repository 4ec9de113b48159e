# The decide service (build/flag-decide) for TAP tests: started in the foreground under IPC::Run on a
# free port of 127.0.0.1, stopped by pid, restartable on the same port; and an HTTP client for it
# that times each request.
#
#   my $service = FlagEval::Test::DecideService->new(
#       name => 'flag_decide', routes => [[pgbouncer => pooler => $conninfo], ...],
#       args => ['--deadline-ms', 50]);
#   $service->start;   $service->wait_ready(30) or die;
#   my $res = $service->post_json('/flags?v=2', {token => ..., distinct_id => ...});
#   $res->{status}, $res->{json}, $res->{seconds}, $res->{headers}{etag}
#   $service->stop;    # SIGTERM; 1 when it exited on it
package FlagEval::Test::DecideService;

use strict;
use warnings;
use Carp;
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time);

use FlagEval::Test::Process qw(poll_until work_dir_for);

# The repository: test/t/lib/FlagEval/Test/ is four levels below it.
sub repository
{
	return File::Spec->rel2abs(dirname(__FILE__) . '/../../../../..');
}

sub binary
{
	return $ENV{FLAG_DECIDE} // repository() . '/build/flag-decide';
}

# new(name => NAME, routes => [[name, role, conninfo], ...], args => [more flags])
sub new
{
	my ($class, %args) = @_;
	my $binary = binary();
	croak "$binary is missing: build it with `make decide`" unless -x $binary;
	my $dir = work_dir_for($args{name});
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	# Two event-loop threads whatever the machine has: every service test also checks that an
	# answer does not depend on the thread that took it (and, in the sanitizer stage, runs
	# requests on two threads under ASan).
	my @command = ($binary, '--listen', "127.0.0.1:$port",
		'--snapshot', "$dir/snapshot.json", '--threads', '2');
	push @command, '--route', join('=', @$_) for @{ $args{routes} };
	push @command, @{ $args{args} // [] };

	return bless {
		name    => $args{name},
		dir     => $dir,
		port    => $port,
		url     => "http://127.0.0.1:$port",
		http    => HTTP::Tiny->new(timeout => 10, keep_alive => 0),
		process => FlagEval::Test::Process->new(name => $args{name}, command => \@command),
	}, $class;
}

sub url           { return $_[0]{url} }
sub port          { return $_[0]{port} }
sub snapshot_path { return "$_[0]{dir}/snapshot.json" }
sub is_running    { return $_[0]{process}->is_running }
sub logfile       { return $_[0]{process}->logfile }

# The end of its log (for a failure message).
sub last_log_lines { my ($self, $count) = @_; return $self->{process}->last_log_lines($count); }

sub start
{
	my ($self) = @_;
	$self->{process}->start;
	return $self;
}

sub stop { my ($self) = @_; return $self->{process}->stop(10); }

# Polls GET $path until it answers 200 (or the process exits, or $seconds pass).
sub wait_for_status
{
	my ($self, $path, $seconds) = @_;
	return poll_until(
		$seconds,
		sub {
			return 0 unless $self->is_running;
			return $self->get($path)->{status} == 200;
		});
}

sub wait_ready { my ($self, $seconds) = @_; return $self->wait_for_status('/readyz', $seconds); }

# One HTTP request. Returns HTTP::Tiny's response plus {seconds} (wall time of the request) and
# {json} (the decoded body when it is JSON, else undef).
sub request
{
	my ($self, $method, $path, %options) = @_;
	my $started  = time;
	my $response = $self->{http}->request($method, $self->{url} . $path, \%options);
	$response->{seconds} = time - $started;
	$response->{json}    = undef;
	if (($response->{headers}{'content-type'} // '') =~ m{application/json}
		&& length($response->{content} // ''))
	{
		$response->{json} = eval { decode_json($response->{content}) };
	}
	return $response;
}

sub get
{
	my ($self, $path, %headers) = @_;
	return $self->request('GET', $path, headers => \%headers);
}

# POST a body as is (bytes), with these headers.
sub post
{
	my ($self, $path, $body, %headers) = @_;
	return $self->request('POST', $path, content => $body, headers => \%headers);
}

sub post_json
{
	my ($self, $path, $document, %headers) = @_;
	return $self->post($path, encode_json($document),
		'content-type' => 'application/json', %headers);
}

1;
