# A server process a TAP test starts in the foreground under IPC::Run and stops by its pid:
# PgBouncer and flag-decide. Output goes to a log file in the framework's log directory (kept in
# build/tap/log by scripts/run-tap.sh). Every process still running when the test ends (a failed
# assertion, a die) is killed in the END block. Each started process also leaves a pid file in
# $FLAG_EVAL_PIDDIR (set by scripts/run-tap.sh), whose last sweep stops what a killed test could not.
package FlagEval::Test::Process;

use strict;
use warnings;
use Carp;
use File::Basename qw(basename);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More ();
use Time::HiRes qw(time sleep);

use Exporter 'import';
our @EXPORT_OK = qw(poll_until log_file_for work_dir_for);

my @running;    # every started process, for the END block

# Polls $condition (a sub) until it returns true or $seconds pass; returns its last value.
# The short pause between polls only spaces them out: what the caller waits for is the condition.
sub poll_until
{
	my ($seconds, $condition, $interval) = @_;
	$interval //= 0.05;
	my $deadline = time + $seconds;
	while (1)
	{
		my $value = $condition->();
		return $value if $value;
		return $value if time >= $deadline;
		sleep $interval;
	}
}

sub test_name
{
	my $test = basename($0);
	$test =~ s/\.[^.]+$//;
	return $test;
}

# The log file for a process called $name, named like the nodes' logs (<test>_<name>.log).
sub log_file_for
{
	my ($name) = @_;
	return "$PostgreSQL::Test::Utils::log_path/" . test_name() . "_$name.log";
}

# A directory of its own for a process called $name (tmp_check is shared by the test files of one
# prove run, so the test's name is part of it).
sub work_dir_for
{
	my ($name) = @_;
	my $dir = "$PostgreSQL::Test::Utils::tmp_check/" . test_name() . "_$name";
	mkdir $dir or croak "mkdir $dir: $!" unless -d $dir;
	return $dir;
}

# new(name => NAME, command => [ARGV...])
sub new
{
	my ($class, %args) = @_;
	croak 'name and command are required' unless $args{name} && $args{command};
	my $self = bless {
		name    => $args{name},
		command => $args{command},
		log     => log_file_for($args{name}),
		harness => undef,
	}, $class;
	return $self;
}

sub name    { return $_[0]{name} }
sub logfile { return $_[0]{log} }

sub pid
{
	my ($self) = @_;
	return undef unless $self->{harness};
	return $self->{harness}{KIDS}[0]{PID};
}

# Starts the command; returns immediately (the caller waits for readiness its own way).
sub start
{
	my ($self) = @_;
	croak "$self->{name} is already running" if $self->{harness};
	open my $log, '>>', $self->{log} or die "cannot open $self->{log}: $!";
	print $log "# " . localtime() . ": starting @{$self->{command}}\n";
	close $log;
	$self->{harness} = IPC::Run::start($self->{command},
		'<', \undef, '>>', $self->{log}, '2>>', $self->{log});
	push @running, $self;
	$self->write_pid_file;
	Test::More::note("$self->{name} started, pid " . $self->pid);
	return $self;
}

# $FLAG_EVAL_PIDDIR/<pid> holds the program's path: the runner's sweep signals the pid only while
# its command line still names that program (a pid the kernel reused is left alone).
sub pid_file
{
	my ($self) = @_;
	my $dir = $ENV{FLAG_EVAL_PIDDIR};
	return undef unless $dir && $self->{harness};
	return "$dir/" . $self->pid;
}

sub write_pid_file
{
	my ($self) = @_;
	my $file = $self->pid_file // return;
	open my $fh, '>', $file or croak "cannot write $file: $!";
	print $fh "$self->{command}[0]\n";
	close $fh;
	return;
}

# Is the process still alive (not exited, not a zombie IPC::Run has yet to reap)?
sub is_running
{
	my ($self) = @_;
	return 0 unless $self->{harness};
	my $pid = $self->pid;
	return 0 unless kill 0, $pid;
	# a zombie still answers kill 0; /proc tells
	if (open my $stat, '<', "/proc/$pid/stat")
	{
		my $line = <$stat>;
		close $stat;
		return 0 if defined $line && $line =~ /^\d+ \(.*\) Z/;
	}
	return 1;
}

# SIGSTOP / SIGCONT: a process that hangs (accepts nothing, answers nothing).
sub pause  { my ($self) = @_; kill 'STOP', $self->pid; $self->{paused} = 1; return; }
sub resume { my ($self) = @_; kill 'CONT', $self->pid; $self->{paused} = 0; return; }

# SIGTERM, then SIGKILL after $grace seconds. Returns 1 when SIGTERM was enough.
sub stop
{
	my ($self, $grace) = @_;
	return 1 unless $self->{harness};
	$self->resume if $self->{paused};
	my $pid = $self->pid;
	# kill_kill signals the harness's child by its pid; it returns true when SIGKILL was needed
	my $clean = !$self->{harness}->kill_kill(grace => $grace // 10);
	$self->{exit_status} = $self->{harness}->full_result(0);
	my $pid_file = $self->pid_file;
	unlink $pid_file if $pid_file;
	Test::More::note("$self->{name} (pid $pid) stopped"
		  . ($clean ? '' : ' with SIGKILL')
		  . ", wait status $self->{exit_status}");
	$self->{harness} = undef;
	@running = grep { $_ != $self } @running;
	return $clean;
}

# The last lines of the log, for failure messages.
sub last_log_lines
{
	my ($self, $count) = @_;
	open my $fh, '<', $self->{log} or return '';
	my @lines = <$fh>;
	close $fh;
	$count //= 20;
	splice @lines, 0, @lines - $count if @lines > $count;
	return join '', @lines;
}

END
{
	my $status = $?;
	# stop() takes each process off @running, so walk a copy (else every second one is skipped);
	# the last started first, as it may depend on the earlier ones
	my @to_stop = reverse @running;
	for my $process (@to_stop)
	{
		eval { $process->stop(2); 1 } or Test::More::diag("stopping $process->{name}: $@");
	}
	$? = $status;
}

1;
