# The replica topology the decide service runs against in TAP tests: a primary with flag_eval and
# deploy/sample_data.sql, a streaming standby, and PgBouncer (transaction pooling) in front of the
# standby. And the SQL side of the comparisons: flag_eval.decide() and flag_evaluate_all() run
# directly on a node for one request.
#
#   my $topology = FlagEval::Test::Topology->start(persons => 2000);
#   $topology->{primary}, $topology->{standby}, $topology->{pgbouncer}
#   $topology->routes       # [[pgbouncer => pooler => ...], [standby => replica => ...], [primary => primary => ...]]
#   $topology->sql_decide($node, $request)          # the /flags?v=2 body decide() returns
#   $topology->sql_evaluate_all($node, $request)    # flag_evaluate_all(definitions(token), context)
package FlagEval::Test::Topology;

use strict;
use warnings;
use Carp;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More ();

use FlagEval::Test::DecideService;
use FlagEval::Test::PgBouncer;

our $TOKEN  = 'phc_demo';
our $SECRET = 'phs_demo';

sub start
{
	my ($class, %args) = @_;
	my $persons = $args{persons} // 2000;

	my $primary = PostgreSQL::Test::Cluster->new('primary');
	$primary->init(allows_streaming => 1);
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION flag_eval');

	$primary->backup('backup');
	my $standby = PostgreSQL::Test::Cluster->new('standby');
	$standby->init_from_backup($primary, 'backup', has_streaming => 1);
	$standby->start;

	# The sample data streams to the standby like any other write.
	my $script = FlagEval::Test::DecideService::repository() . '/deploy/sample_data.sql';
	$primary->command_ok(
		[
			'psql', '-X', '-q', '-v', "persons=$persons",
			'-v', "token=$TOKEN", '-v', "secret=$SECRET",
			'-d', $primary->connstr('postgres'), '-f', $script
		],
		"deploy/sample_data.sql loads $persons persons");
	$primary->wait_for_catchup($standby, 'replay');

	my $pgbouncer = FlagEval::Test::PgBouncer->new('pgbouncer', $standby);
	$pgbouncer->start;

	return bless { primary => $primary, standby => $standby, pgbouncer => $pgbouncer }, $class;
}

sub node_conninfo
{
	my ($node) = @_;
	my $user = getpwuid($<);
	return 'host=' . $node->host . ' port=' . $node->port . " dbname=postgres user=$user";
}

# flag-decide's routes, in the order it should try them.
sub routes
{
	my ($self) = @_;
	return [
		[ pgbouncer => pooler  => $self->{pgbouncer}->conninfo('postgres') ],
		[ standby   => replica => node_conninfo($self->{standby}) ],
		[ primary   => primary => node_conninfo($self->{primary}) ],
	];
}

# A SQL literal of any text: dollar-quoted with a tag the text does not contain.
sub literal
{
	my ($text) = @_;
	my $tag = 'q';
	$tag .= 'q' while index($text, "\$$tag\$") >= 0;
	return "\$$tag\$$text\$$tag\$";
}

sub json_literal { return literal(JSON::PP->new->canonical->encode($_[0])) . '::jsonb' }

# decide() for a request {distinct_id, person_properties, groups, group_properties,
# $anon_distinct_id, $device_id}: the /flags?v=2 body, decoded.
sub sql_decide
{
	my ($self, $node, $request) = @_;
	my $contexts = $request->{evaluation_contexts};
	my $sql      = sprintf(
		'SELECT flag_eval.decide(%s, %s, %s, %s, %s, %s, device_id => %s, evaluation_runtime => %s, '
		  . 'evaluation_contexts => %s)',
		literal($request->{token} // $TOKEN),
		literal($request->{distinct_id}),
		json_literal($request->{person_properties} // {}),
		json_literal($request->{groups}            // {}),
		json_literal($request->{group_properties}  // {}),
		defined $request->{'$anon_distinct_id'}
		? literal($request->{'$anon_distinct_id'})
		: 'NULL',
		defined $request->{'$device_id'} ? literal($request->{'$device_id'}) : 'NULL',
		defined $request->{evaluation_runtime} ? literal($request->{evaluation_runtime}) : 'NULL',
		defined $contexts ? 'ARRAY[' . join(', ', map { literal($_) } @$contexts) . ']::text[]' : 'NULL');
	return decode_json($node->safe_psql('postgres', $sql));
}

# flag_evaluate_all(definitions(token), context) for the same request, the context built as decide()
# builds it: stored person properties under the request's, and for each group of the request its
# stored properties under the request's. Returns {flags: {key: detail}, errorsWhileComputingFlags}.
sub sql_evaluate_all
{
	my ($self, $node, $request) = @_;
	my $token  = literal($request->{token} // $TOKEN);
	my $id     = literal($request->{distinct_id});
	my $props  = json_literal($request->{person_properties} // {});
	my $groups = json_literal($request->{groups}            // {});
	my $gprops = json_literal($request->{group_properties}  // {});
	my $sql    = <<"SQL";
WITH team AS (SELECT id FROM flag_eval.teams WHERE api_token = $token)
SELECT flag_eval.flag_evaluate_all(flag_eval.definitions($token), jsonb_build_object(
    'distinct_id', $id,
    'person_properties', coalesce((SELECT p.properties
                                   FROM flag_eval.person_distinct_ids d
                                   JOIN flag_eval.persons p ON p.id = d.person_id
                                   WHERE d.team_id = (SELECT id FROM team) AND d.distinct_id = $id), '{}')
                         || $props,
    'groups', $groups,
    'group_properties', coalesce((
        SELECT jsonb_object_agg(g.key,
                   coalesce((SELECT gr.properties
                             FROM flag_eval.groups gr
                             JOIN flag_eval.group_type_mappings m
                               ON m.team_id = gr.team_id AND m.group_type_index = gr.group_type_index
                             WHERE gr.team_id = (SELECT id FROM team) AND m.group_type = g.key
                               AND gr.group_key = g.value), '{}')
                   || coalesce($gprops -> g.key, '{}'))
        FROM jsonb_each_text($groups) AS g(key, value)), '{}')))
SQL
	return decode_json($node->safe_psql('postgres', $sql));
}

1;
