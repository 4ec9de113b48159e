# Hostile JSON for test/t/030_hostile_sql.pl: a seeded PRNG, a pool of wrong-typed, extreme and
# odd JSON values, mutations of valid flag documents, and the SQL expressions that build the values
# too big to send as literals (built by the server: 50 MB strings, million-element arrays, 10,000
# levels of nesting).
#
# Documents are Perl structures. A value too odd for Perl (a number with more digits than a double
# holds, 1e400, an escape jsonb refuses) is raw JSON text: raw('1e400'). A big value is the
# placeholder big('str_50m'); to_sql_jsonb() turns a document holding placeholders into an SQL
# expression that splices the server-built JSON text in.
package FlagEval::Test::HostileJson;

use strict;
use warnings;
use Carp;
use JSON::PP ();

use Exporter 'import';
our @EXPORT_OK = qw(raw big to_json to_sql_jsonb sql_literal);

# ---- a deterministic PRNG (xorshift32): the same seed gives the same cases on every machine ----

sub new
{
	my ($class, $seed) = @_;
	my $state = ($seed // 1) & 0xFFFFFFFF;
	$state = 0x9E3779B9 if $state == 0;    # xorshift never leaves 0
	return bless { state => $state }, $class;
}

sub next_u32
{
	my ($self) = @_;
	my $x = $self->{state};
	$x ^= ($x << 13) & 0xFFFFFFFF;
	$x ^= $x >> 17;
	$x ^= ($x << 5) & 0xFFFFFFFF;
	return $self->{state} = $x;
}

# An integer in [0, n).
sub below { my ($self, $n) = @_; return $self->next_u32 % $n; }

sub pick { my ($self, @items) = @_; return $items[ $self->below(scalar @items) ]; }

# ---- values that are not plain Perl data ----

sub raw { my ($json) = @_; return bless \$json, 'FlagEval::Test::HostileJson::Raw'; }
sub big { my ($name) = @_; return raw("\"\@\@BIG:$name\@\@\""); }

# JSON text built by the server, by name: what a big() placeholder stands for.
our %BIG_JSON_SQL = (
	str_1m       => q{'"' || repeat('a', 1048576) || '"'},
	str_50m      => q{'"' || repeat('a', 52428800) || '"'},
	regex_1m     => q{'"' || repeat('(a|b)*', 174763) || '"'},
	array_1m     => q{'[' || repeat('0,', 999999) || '0]'},
	objects_1m   => q{'[' || repeat('{},', 999999) || '{}]'},
	strings_100k => q{'[' || repeat('"a",', 99999) || '"a"]'},
	keys_100k    => q{(SELECT '{' || string_agg(format('"k%s": %s', i, i), ',') || '}' FROM generate_series(1, 100000) i)},
	arrays_10k   => q{repeat('[', 10000) || repeat(']', 10000)},
	objects_10k  => q{repeat('{"a": ', 10000) || 'null' || repeat('}', 10000)},
	# deeper than PostgreSQL's own json parser goes (stack depth limit): refused by jsonb_in
	arrays_100k => q{repeat('[', 100000) || repeat(']', 100000)},);

sub big_names { return sort keys %BIG_JSON_SQL; }

# ---- JSON text ----

my $leaf_encoder = JSON::PP->new->ascii->allow_nonref;

# JSON text (ASCII only: every other character as a \u escape), keys sorted.
sub to_json
{
	my ($v) = @_;
	my $r = ref $v;
	return 'null' unless defined $v;
	return $$v if $r eq 'FlagEval::Test::HostileJson::Raw';
	return '[' . join(',', map { to_json($_) } @$v) . ']' if $r eq 'ARRAY';
	return '{' . join(',', map { $leaf_encoder->encode("$_") . ':' . to_json($v->{$_}) } sort keys %$v) . '}'
	  if $r eq 'HASH';
	return $leaf_encoder->encode($v);    # strings, numbers, JSON::PP booleans
}

sub sql_literal
{
	my ($s) = @_;
	return 'NULL' unless defined $s;
	$s =~ s/'/''/g;
	return "'$s'";
}

# An SQL expression of type jsonb for a document, big() placeholders spliced in by the server.
sub to_sql_jsonb
{
	my ($v) = @_;
	my $json = to_json($v);
	my $sql  = sql_literal($json);
	my %seen;
	for my $name ($json =~ /"\@\@BIG:(\w+)\@\@"/g)
	{
		next if $seen{$name}++;
		croak "unknown big value $name" unless exists $BIG_JSON_SQL{$name};
		$sql = "replace($sql, '\"\@\@BIG:$name\@\@\"', $BIG_JSON_SQL{$name})";
	}
	return "($sql)::jsonb";
}

# The document nested $depth levels deep in arrays: [[[...v...]]].
sub nested_in_arrays
{
	my ($v, $depth) = @_;
	$v = [$v] for 1 .. $depth;
	return $v;
}

# ---- the pool of hostile JSON values ----

# [label, value]: every JSON type, extreme numbers, odd strings (regexes that do not compile or
# backtrack, malformed dates and semvers, escapes), nesting around the engine's 64-level limit.
sub hostile_values
{
	my @v = (
		[ 'null',  undef ],
		[ 'true',  JSON::PP::true ],
		[ 'false', JSON::PP::false ],
		[ '0',     0 ],
		[ '-1',    -1 ],
		[ '1.5',   1.5 ],
		[ '1e308',  raw('1e308') ],
		[ '-1e308', raw('-1e308') ],
		[ '1e-308', raw('1e-308') ],
		[ '1e400 (beyond a double)', raw('1e400') ],
		[ '-1e-400', raw('-1e-400') ],
		[ '30-digit integer', raw('123456789012345678901234567890') ],
		[ 'int64 max + 1', raw('9223372036854775808') ],
		[ 'uint64 max + 1', raw('18446744073709551616') ],
		[ 'string NaN',      'NaN' ],
		[ 'string Infinity', 'Infinity' ],
		[ 'string -Infinity', '-Infinity' ],
		[ 'string 1e999', '1e999' ],
		[ 'empty string', '' ],
		[ 'spaces', "  \t\n" ],
		[ 'non-BMP and RTL', "\x{1F600}\x{202E}\x{FFFF}\x{10FFFF}" ],
		[ 'escaped pair', raw('"\ud83d\ude00"') ],
		[ 'control chars', "\x01\x1f\x7f" ],
		[ 'quote and backslash', q{'"\\} ],
		[ 'format string', '%s%n%x' ],
		[ 'regex backtracking', '(a+)+$' ],
		[ 'regex invalid', '((' ],
		[ 'regex invalid class', '[z-a]' ],
		[ 'regex huge repeat', 'a{1000}{1000}' ],
		[ 'regex backreference', '(a)\\1' ],
		[ 'date invalid', '2020-13-45T25:61:61Z' ],
		[ 'date far', '99999999-01-01' ],
		[ 'date relative huge', '-99999999999999999999d' ],
		[ 'date relative odd', '1y2' ],
		[ 'semver huge', '99999999999999999999.0.0' ],
		[ 'semver malformed', '1..2-+' ],
		[ 'semver wildcard', '1.*.x.*' ],
		[ 'string 201 emoji', "\x{1F600}" x 201 ],
		[ 'string 10 kB', 'x' x 10240 ],
		[ 'empty array',  [] ],
		[ 'empty object', {} ],
		[ 'array of null', [undef] ],
		[ 'mixed array', [ undef, JSON::PP::true, 1, 'a', [], {} ] ],
		[ 'empty key', { '' => '' } ],
		[ 'object of wrong types', { key => 1, type => [], operator => {}, value => undef } ],
		[ 'nested 63', nested_in_arrays(1, 63) ],
		[ 'nested 64', nested_in_arrays(1, 64) ],
		[ 'nested 65', nested_in_arrays(1, 65) ],
		[ 'nested 300', nested_in_arrays({}, 300) ],
	);
	return @v;
}

# The big values as [label, value]: the ones jsonb accepts.
sub big_values
{
	return map { [ "big $_", big($_) ] } grep { $_ ne 'arrays_100k' } big_names();
}

# ---- documents: where their values are, and mutations ----

sub clone { my ($v) = @_; return JSON::PP->new->decode(JSON::PP->new->allow_nonref->encode($v)); }

# Every position of a document, as [path text, container, key or index], containers first.
sub positions
{
	my ($doc) = @_;
	my @out;
	my $walk;
	$walk = sub {
		my ($v, $path) = @_;
		if (ref $v eq 'HASH')
		{
			for my $k (sort keys %$v)
			{
				push @out, [ "$path.$k", $v, $k ];
				$walk->($v->{$k}, "$path.$k");
			}
		}
		elsif (ref $v eq 'ARRAY')
		{
			for my $i (0 .. $#$v)
			{
				push @out, [ "$path\[$i]", $v, $i ];
				$walk->($v->[$i], "$path\[$i]");
			}
		}
	};
	$walk->($doc, '$');
	undef $walk;
	return @out;
}

sub set_at
{
	my ($container, $key, $value) = @_;
	if (ref $container eq 'HASH') { $container->{$key} = $value; }
	else                          { $container->[$key] = $value; }
}

sub get_at
{
	my ($container, $key) = @_;
	return ref $container eq 'HASH' ? $container->{$key} : $container->[$key];
}

# Each field of $doc set to each of @values: [label, document]. Array elements after the first
# of the same shape add nothing: one position per path with its indexes left out.
sub sweep
{
	my ($doc, @values) = @_;
	my @out;
	my %seen;
	my @positions = positions($doc);
	for my $i (0 .. $#positions)
	{
		(my $shape = $positions[$i][0]) =~ s/\[\d+\]/[]/g;
		next if $seen{$shape}++;
		for my $value (@values)
		{
			my $copy = clone($doc);
			my ($path, $container, $key) = @{ (positions($copy))[$i] };
			set_at($container, $key, $value->[1]);
			push @out, [ "$path := $value->[0]", $copy ];
		}
	}
	return @out;
}

# One value of each JSON type and the extremes, for the field-by-field sweep.
sub sweep_values
{
	my %wanted = map { $_ => 1 } ('null', 'true', '-1', '1.5', '1e400 (beyond a double)', '-1e-400',
		'30-digit integer', 'empty string', 'string NaN', 'regex invalid', 'empty array', 'empty object',
		'mixed array', 'nested 65');
	return grep { $wanted{ $_->[0] } } hostile_values();
}

# One to three random mutations of a copy of $doc: [label, document].
sub mutate
{
	my ($self, $doc) = @_;
	my $copy = clone($doc);
	my @labels;
	my @pool = (hostile_values(), grep { $_->[0] ne 'big str_50m' } big_values());
	for (1 .. 1 + $self->below(3))
	{
		my @positions = positions($copy);
		last unless @positions;
		my ($path, $container, $key) = @{ $self->pick(@positions) };
		my $old  = get_at($container, $key);
		my $kind = $self->below(7);
		if ($kind <= 1)
		{
			my $value = $self->pick(@pool);
			set_at($container, $key, clone_value($value->[1]));
			push @labels, "$path := $value->[0]";
		}
		elsif ($kind == 2 && ref $container eq 'HASH')
		{
			delete $container->{$key};
			push @labels, "delete $path";
		}
		elsif ($kind == 3)
		{
			set_at($container, $key, $self->below(2) ? [$old] : { value => $old });
			push @labels, "wrap $path";
		}
		elsif ($kind == 4 && ref $container eq 'HASH')
		{
			my $name  = $self->pick('', ' ', 'key', 'filters', 'type', "\x{1F600}", 'k' x 1000, '$.x');
			my $value = $self->pick(@pool);
			$container->{$name} = clone_value($value->[1]);
			push @labels, "add \"" . substr($name, 0, 12) . "\" := $value->[0] beside $path";
		}
		elsif ($kind == 5 && length(to_json($old)) < 200 && to_json($old) !~ /\@\@BIG:/)
		{
			set_at($container, $key, [ map { clone_value($old) } 1 .. 1000 ]);
			push @labels, "$path := 1000 copies";
		}
		else
		{
			set_at($container, $key, nested_in_arrays($old, $self->pick(63, 64, 65, 1000)));
			push @labels, "nest $path";
		}
	}
	return [ join('; ', @labels), $copy ];
}

# A copy of a pool value (raw values are immutable and shared).
sub clone_value
{
	my ($v) = @_;
	return $v if !ref $v || ref $v eq 'FlagEval::Test::HostileJson::Raw' || JSON::PP::is_bool($v);
	return [ map { clone_value($_) } @$v ] if ref $v eq 'ARRAY';
	return { map { $_ => clone_value($v->{$_}) } keys %$v };
}

1;
