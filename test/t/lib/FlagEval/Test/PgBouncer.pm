# PgBouncer in front of a PostgreSQL::Test::Cluster node, for TAP tests: transaction pooling, on a
# free TCP port of 127.0.0.1, auth_type trust with an auth_file, run in the foreground (Debian's
# /usr/sbin/pgbouncer; it runs as the test's user, never root).
#
#   my $bouncer = FlagEval::Test::PgBouncer->new('pgbouncer', $standby);
#   $bouncer->start;                    # waits until it accepts connections
#   $bouncer->conninfo('postgres');     # host=127.0.0.1 port=... dbname=postgres user=...
#   $bouncer->pause / resume;           # SIGSTOP / SIGCONT: a pooler that hangs
#   $bouncer->stop;  $bouncer->start;   # the same port again
package FlagEval::Test::PgBouncer;

use strict;
use warnings;
use Carp;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

use FlagEval::Test::Process qw(poll_until work_dir_for);

sub binary
{
	for my $candidate (grep { defined } $ENV{PGBOUNCER}, '/usr/sbin/pgbouncer')
	{
		return $candidate if -x $candidate;
	}
	return undef;
}

sub new
{
	my ($class, $name, $backend) = @_;
	my $binary = binary() or croak 'pgbouncer not found (Debian package pgbouncer)';
	my $dir = work_dir_for($name);
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $user = getpwuid($<);

	my $self = bless {
		name => $name,
		dir  => $dir,
		port => $port,
		user => $user,
	}, $class;

	# Every database name goes to the backend node (over its unix socket). Short timeouts: a
	# backend that is down makes clients fail in seconds, not minutes.
	my $host         = $backend->host;
	my $backend_port = $backend->port;
	PostgreSQL::Test::Utils::append_to_file("$dir/users.txt", qq{"$user" ""\n});
	PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", <<"INI");
[databases]
* = host=$host port=$backend_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = $user
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
server_connect_timeout = 2
server_login_retry = 1
query_wait_timeout = 5
ignore_startup_parameters = extra_float_digits,options
INI
	$self->{process} = FlagEval::Test::Process->new(
		name    => $name,
		command => [ $binary, "$dir/pgbouncer.ini" ]);
	return $self;
}

sub port { return $_[0]{port} }
sub pid  { return $_[0]{process}->pid }

sub conninfo
{
	my ($self, $dbname) = @_;
	return "host=127.0.0.1 port=$self->{port} dbname=$dbname user=$self->{user}";
}

sub accepts_connections
{
	my ($self) = @_;
	my $socket = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $self->{port},
		Proto    => 'tcp',
		Timeout  => 1);
	return 0 unless $socket;
	close $socket;
	return 1;
}

# Starts PgBouncer and waits (up to 30 s) until its port accepts connections.
sub start
{
	my ($self) = @_;
	$self->{process}->start;
	poll_until(30, sub { $self->accepts_connections || !$self->{process}->is_running });
	croak "$self->{name} exited:\n" . $self->{process}->last_log_lines
	  unless $self->{process}->is_running;
	croak "$self->{name} does not listen on port $self->{port}"
	  unless $self->accepts_connections;
	return $self;
}

# Rows of an admin console command (SHOW SERVERS, SHOW CLIENTS, ...) as hashes by column name.
sub admin_rows
{
	my ($self, $command) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'psql', '-X', '-A', '-F', "\t", '-P', 'footer=off', '-h', '127.0.0.1', '-p', $self->{port},
			'-U', $self->{user}, '-d', 'pgbouncer', '-c', $command
		],
		'<', \'', '>', \$out, '2>', \$err, IPC::Run::timeout(30))
	  or croak "$command on $self->{name}: $err";
	my ($header, @lines) = split /\n/, $out;
	my @columns = split /\t/, $header // '';
	return map { my %row; @row{@columns} = split /\t/, $_, -1; \%row } @lines;
}

# How many server connections PgBouncer holds to its backend for database $dbname: it opens
# them for the first transactions a client sends (pool_mode transaction), so more than zero
# means a client's queries went through it.
sub server_connections
{
	my ($self, $dbname) = @_;
	return scalar grep { ($_->{database} // '') eq $dbname } $self->admin_rows('SHOW SERVERS');
}

sub stop   { my ($self) = @_; return $self->{process}->stop(5); }
sub pause  { my ($self) = @_; return $self->{process}->pause; }
sub resume { my ($self) = @_; return $self->{process}->resume; }

1;
