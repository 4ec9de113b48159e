# One HTTP/1.1 client connection over a plain socket, for tests that must control every byte and
# every pause: slow clients (headers or a body a byte at a time), idle keep-alives, oversized
# heads and bodies, connections beyond a server's limit. HTTP::Tiny cannot send half a request.
#
#   my $conn = FlagEval::Test::RawHttp->connect($port) or die;
#   $conn->send_all(FlagEval::Test::RawHttp::request_text('GET', '/healthz'), 5) or die;
#   my $res = $conn->read_response(5);   # {status, headers => {lc name => value}, content, json}
#   $conn->send_all('x', 1);             # 0 once the server has closed the connection
#   $conn->peer_closed(0);               # has the server closed it (EOF or reset)?
#
# Every wait has a deadline in seconds; nothing here sleeps. Writes are non-blocking, so a server
# that stops reading cannot hang the test.
package FlagEval::Test::RawHttp;

use strict;
use warnings;
use Carp;
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time);

# A write to a socket the server closed raises SIGPIPE, which would end the test: make it EPIPE.
$SIG{PIPE} = 'IGNORE';

sub connect
{
	my ($class, $port, $seconds) = @_;
	my $socket = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => $seconds // 5) or return undef;
	$socket->blocking(0);
	return bless { socket => $socket, buffer => '', closed => 0, opened => time }, $class;
}

sub socket { return $_[0]{socket} }
sub opened { return $_[0]{opened} }

# The text of a request: method, target, headers (a list of name => value pairs, kept in order),
# and a body (its Content-Length added unless a Transfer-Encoding or Content-Length is given).
sub request_text
{
	my ($method, $target, %options) = @_;
	my @headers = @{ $options{headers} // [] };
	my %given   = map { lc $_ => 1 } @headers[ grep { $_ % 2 == 0 } 0 .. $#headers ];
	my $body    = $options{body};
	my $text    = "$method $target HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	while (my ($name, $value) = splice @headers, 0, 2)
	{
		$text .= "$name: $value\r\n";
	}
	$text .= 'Content-Length: ' . length($body) . "\r\n"
	  if defined $body && !$given{'content-length'} && !$given{'transfer-encoding'};
	return $text . "\r\n" . ($body // '');
}

# Writes all of $bytes within $seconds. 1 on success; 0 when the server closed the connection
# (or did not read it all in time).
sub send_all
{
	my ($self, $bytes, $seconds) = @_;
	return 0 if $self->{closed};
	my $deadline = time + ($seconds // 5);
	my $select   = IO::Select->new($self->{socket});
	my $offset   = 0;
	while ($offset < length $bytes)
	{
		my $written = syswrite($self->{socket}, $bytes, length($bytes) - $offset, $offset);
		if (defined $written)
		{
			$offset += $written;
			next;
		}
		if ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR)
		{
			my $left = $deadline - time;
			return 0 if $left <= 0;
			$select->can_write($left);
			next;
		}
		$self->{closed} = 1;    # EPIPE, ECONNRESET: the server hung up
		return 0;
	}
	return 1;
}

# Reads what is available now (or within $seconds when nothing is) into the buffer. Returns the
# number of bytes read; 0 at EOF or reset (the connection is then marked closed) or when nothing
# came in time.
sub fill
{
	my ($self, $seconds) = @_;
	return 0 if $self->{closed};
	my $deadline = time + ($seconds // 0);
	while (1)
	{
		my $read = sysread($self->{socket}, my $chunk, 65536);
		if (defined $read)
		{
			if ($read == 0)
			{
				$self->{closed} = 1;
				return 0;
			}
			$self->{buffer} .= $chunk;
			return $read;
		}
		if ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR)
		{
			$self->{closed} = 1;
			return 0;
		}
		my $left = $deadline - time;
		return 0 if $left <= 0;
		IO::Select->new($self->{socket})->can_read($left);
	}
}

# Has the server closed the connection? Waits up to $seconds for it, reading (and keeping) what
# it sends meanwhile.
sub peer_closed
{
	my ($self, $seconds) = @_;
	my $deadline = time + ($seconds // 0);
	while (!$self->{closed})
	{
		my $left = $deadline - time;
		$self->fill($left > 0 ? $left : 0);
		last if time >= $deadline;
	}
	return $self->{closed};
}

# Reads one response within $seconds: {status, reason, headers (lower-case names), content,
# json (decoded when the body is JSON), seconds}. undef when none came complete in time.
sub read_response
{
	my ($self, $seconds) = @_;
	my $started  = time;
	my $deadline = $started + ($seconds // 5);
	my ($head_end, $length);
	while (1)
	{
		$head_end //= do { my $at = index($self->{buffer}, "\r\n\r\n"); $at >= 0 ? $at : undef };
		if (defined $head_end)
		{
			if (!defined $length)
			{
				my ($field) = substr($self->{buffer}, 0, $head_end) =~ /^content-length:\s*(\d+)\s*$/mi;
				$length = $field // 0;
			}
			last if length($self->{buffer}) >= $head_end + 4 + $length;
		}
		my $left = $deadline - time;
		return undef if $left <= 0 || $self->{closed};
		$self->fill($left);
	}
	my $head = substr($self->{buffer}, 0, $head_end);
	my $content = substr($self->{buffer}, $head_end + 4, $length);
	substr($self->{buffer}, 0, $head_end + 4 + $length) = '';
	my ($status_line, @fields) = split /\r\n/, $head;
	my ($status, $reason) = $status_line =~ m{^HTTP/1\.[01] (\d{3}) ?(.*)$}
	  or croak "not an HTTP status line: $status_line";
	my %headers = map { my ($n, $v) = /^([^:]+):\s*(.*)$/; (lc $n => $v) } @fields;
	my $json;
	$json = eval { decode_json($content) } if ($headers{'content-type'} // '') =~ m{application/json};
	return {
		status  => $status,
		reason  => $reason,
		headers => \%headers,
		content => $content,
		json    => $json,
		seconds => time - $started,
	};
}

# Sends a whole request and reads its response: undef when either did not happen in time.
sub exchange
{
	my ($self, $request, $seconds) = @_;
	my $deadline = time + ($seconds // 5);
	$self->send_all($request, $seconds) or return undef;
	my $left = $deadline - time;
	return $self->read_response($left > 0 ? $left : 0);
}

sub close
{
	my ($self) = @_;
	$self->{socket}->close if $self->{socket};
	$self->{closed} = 1;
	return;
}

1;
