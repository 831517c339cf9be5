# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# The SWIG layer and the error classes: type mapping both ways, gbx_err
# -> ERR_<NAME> exceptions, ERR_* classes generated from the C table.
use strict;
use warnings;
use Test::More;
use Scalar::Util qw(blessed);
use Time::HiRes qw(time);

use Gearbox;

# ---- error classes from the one C table ----
my $count = Gearbox::Core::gbx_err_count();
is( scalar @Gearbox::Errors::TABLE, $count, 'one class per code of the table' );
for my $i ( 0 .. $count - 1 ) {
    my $code = Gearbox::Core::gbx_pl_err_at($i);
    my $name = Gearbox::Core::gbx_err_name($code);
    my $e    = "ERR_$name"->new("m$i");
    ok( $e->isa('Gearbox::Error'), "ERR_$name isa Gearbox::Error" ) or last;
    is( $e->code, $code, "ERR_$name code" );
    my $alias = "ERR_CODE_$code"->new("x");
    ok( $alias->isa("ERR_$name"), "ERR_CODE_$code isa ERR_$name" );
    is( $alias->code, $code, "ERR_CODE_$code code" );
}
my $nf = ERR_NOT_FOUND->new('thing "x" not found');
is( "$nf", 'NOT_FOUND [404]: thing "x" not found', 'stringification NAME [code]: msg' );
is( $nf->msg,     'thing "x" not found', 'msg' );
is( $nf->message, 'thing "x" not found', 'message' );
is( $nf->name,    'NOT_FOUND', 'name' );
is( 0 + $nf, 404, 'numeric value is the code' );
my $indirect = new ERR_CONFLICT("busy");
is( ref $indirect, 'ERR_CONFLICT', 'new ERR_CONFLICT(...) (indirect object syntax)' );
is( $indirect->code, 409, 'its code' );
eval { ERR_GONE->throw("gone") };
is( ref $@, 'ERR_GONE', 'throw' );
my $odd = Gearbox::Error->new( 599, 'odd' );
is( "$odd", 'ERROR [599]: odd', 'a code outside the table' );
is( Gearbox::Error->new( 'NOT_FOUND', 404, 'three args' )->code, 404, "Gearbox's base constructor" );

# ---- gbx_err -> exceptions of the matching class, with the C message ----
eval { Gearbox::Core::gbx_config_load('/nonexistent/x.conf') };
is( ref $@, 'ERR_NOT_FOUND', 'missing config file -> ERR_NOT_FOUND' );
like( $@->msg, qr{^cannot open config /nonexistent/x\.conf: No such file}, 'message from gbx_error_last' );
eval { Gearbox::Core::gbx_json_parse('{"a": ') };
is( ref $@, 'ERR_BAD_REQUEST', 'malformed JSON -> ERR_BAD_REQUEST' );
like( $@->msg, qr/malformed JSON/, 'its message' );
eval { Gearbox::Core::gbx_store_open( { type => 'mysql', host => '127.0.0.1', port => 1 }, undef ) };
is( ref $@, 'ERR_SERVICE_UNAVAILABLE', 'unreachable mysql store -> ERR_SERVICE_UNAVAILABLE' );

# ---- JSON <-> Perl data ----
my $d = Gearbox::Core::gbx_json_parse('{"s":"x","i":42,"r":2.5,"t":true,"f":false,"n":null,"a":[1,[2]],"o":{"k":"v"},"u":"\u00e9"}');
is( ref $d, 'HASH', 'object -> hashref' );
is( $d->{s}, 'x', 'string' );
is( $d->{i}, 42,  'integer' );
is( $d->{r}, 2.5, 'real' );
ok( $d->{t} && blessed $d->{t} && $d->{t}->isa('JSON::PP::Boolean'), 'true -> JSON::PP::true' );
ok( !$d->{f} && blessed $d->{f}, 'false -> JSON::PP::false' );
ok( exists $d->{n} && !defined $d->{n}, 'null -> undef' );
is_deeply( $d->{a}, [ 1, [2] ], 'arrays -> arrayrefs' );
is_deeply( $d->{o}, { k => 'v' }, 'nested hash' );
is( $d->{u}, "\xc3\xa9", 'strings are UTF-8 bytes, as Gearbox returned them' );

is( Gearbox::Core::gbx_json_dump( [ 1, '1', 1.5, undef, JSON::PP::true(), JSON::PP::false(), \1, \0 ] ),
    '[1,"1",1.5,null,true,false,true,false]', 'Perl data -> JSON (numbers, strings, booleans)' );
my $n = 7;
my $s = "$n";    # used as a string: stays a string as in JSON::PP
is( Gearbox::Core::gbx_json_dump( [ $n + 0, $s ] ), '[7,"7"]', 'numbers stay numbers' );
is( Gearbox::Core::gbx_json_dump( { "\x{263a}" => "\x{e9}" } ), qq({"\xe2\x98\xba":"\xc3\xa9"}),
    'character strings are encoded to UTF-8' );
is( Gearbox::Core::gbx_json_dump( ["\xe9"] ), qq(["\xc3\xa9"]), 'a Latin-1 byte string becomes UTF-8' );
eval { Gearbox::Core::gbx_json_dump( { code => sub { } } ) };
is( ref $@, 'ERR_BAD_REQUEST', 'a code ref cannot become JSON' );
my $deep = [];
$deep = [$deep] for 1 .. 600;
eval { Gearbox::Core::gbx_json_dump($deep) };
like( "$@", qr/nested too deeply/, 'deep nesting is refused, not a crash' );

# ---- byte strings and out parameters ----
my $resp = Gearbox::JobResponse->new;
$resp->content("a\0b\xff");
is( $resp->content, "a\0b\xff", 'content keeps NUL and non-UTF-8 bytes' );
$resp->code(201);
is( $resp->code, 201, 'code' );
$resp->add_header( 'X-One', '1' );
$resp->headers( { 'X-Two' => '2' } );
is_deeply( $resp->headers, { 'X-One' => '1', 'X-Two' => '2' }, 'headers hashref' );
my $wire = Gearbox::Core::gbx_json_parse( $resp->serialize );
is( $wire->{encoding}, 'base64', 'non-UTF-8 content travels base64-encoded' );
like( Gearbox::JobManager->gen_id('s'), qr/^s-[0-9a-z]{26}$/, 'gen_id via (char *out, size_t outlen)' );
is( Gearbox::Core::gbx_uri_decode('a%20b'), 'a b', '(const char *s, size_t len) in, char **out back' );

# ---- jobs built in a worker ----
my $job = Gearbox::Job->new( {
    version => 1, name => 'do_get_t_thing_v1', job_type => 'sync', operation => 'get', component => 't',
    resource => { type => 'thing', name => 'x' }, base_uri => 'http://h/t/v1', arguments => ['x'],
    matrix_arguments => { m => '1' }, query_params => { q => '2' }, headers => { h => '3' },
    environ => { E => '4' }, remote => { ip => '10.0.0.1', user => 'bob', scopes => 'read' }, content => '{"a":1}' } );
is( $job->name,          'do_get_t_thing_v1', 'name' );
is( $job->type,          $Gearbox::Job::JOB_SYNC, 'type is $Gearbox::Job::JOB_SYNC' );
is( $job->api_version,   'v1', 'api_version' );
is( $job->resource_uri,  'http://h/t/v1/thing/x', 'resource_uri' );
is( $job->remote_ip,     '10.0.0.1', 'remote_ip' );
is( $job->remote_user,   'bob', 'remote_user' );
is( $job->remote_scopes, 'read', 'remote_scopes' );
is( $job->trace_id, '', 'no trace id without a traceparent' );
my $traced = Gearbox::Job->new($job);
$traced->traceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
$traced->tracestate('congo=t61rcWkgMzE');
is( $traced->traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'traceparent' );
is( $traced->tracestate, 'congo=t61rcWkgMzE', 'tracestate' );
is( $traced->trace_id, '4bf92f3577b34da6a3ce929d0e0e4736', 'trace_id' );
is( $job->status,        '', 'no status id for a sync job' );
is_deeply( $job->arguments, ['x'], 'arguments' );
is_deeply( $job->matrix_arguments, { m => '1' }, 'matrix_arguments' );
is_deeply( $job->json_content, { a => 1 }, 'json_content' );
my $copy = Gearbox::Job->new($job);
$copy->name('do_post_t_thing_v2');
$copy->add_argument('y');
$copy->add_header( 'h2', 'v' );
is( $copy->api_version, 'v2', 'renamed copy has the new version' );
is_deeply( $copy->arguments, [ 'x', 'y' ], 'add_argument' );
is( $copy->headers->{h2}, 'v', 'add_header' );
is( $job->name, 'do_get_t_thing_v1', 'the original is unchanged' );
# ---- the C job manager, without gearmand (port 1): jobs wait in the store ----
use File::Temp qw(tempdir);
my $tmp = tempdir( 'gbx-perl-core-XXXXXX', TMPDIR => 1, CLEANUP => 1 );
open my $fh, '>', "$tmp/t.conf" or die $!;
print $fh Gearbox::Core::gbx_json_dump( {
    component => 't', gearman => { servers => ['127.0.0.1:1'] },
    status    => { type => 'sqlite', path => "$tmp/status.db" },
    handlers  => [qw(do_post_t_thing_v1 do_put_t_thing_v1 do_delete_t_thing_v1 do_get_t_thing_v1)],
    jobs      => { retry_max_attempts => 2 } } );
close $fh;
my $jm = Gearbox::JobManager->new("$tmp/t.conf");
$jm->base_uri('http://127.0.0.1:4080/t/v1');
my $made = $jm->job('do_post_t_thing_v1');
is( $made->operation, 'create', 'JobManager->job fills operation from the name (in C)' );
is( $made->type, $Gearbox::Job::JOB_ASYNC, '... and is async' );
is( $made->base_uri, 'http://127.0.0.1:4080/t/v1', '... with the base uri' );
eval { $jm->job('do_get_t_unknown_v1') };
is( ref $@, 'ERR_SERVICE_UNAVAILABLE', 'a handler not in the config, and no gearmand to ask' );
like( $@->msg, qr/cannot tell whether handler "do_get_t_unknown_v1" is known/, '... saying so' );
is( $jm->job( 'do_put_t_thing_v1', $job )->resource_name, 'x', 'job($name, $job) copies an envelope' );
is( $jm->job( 'do_put_t_thing_v1', { version => 1, name => 'x', job_type => 'async', operation => 'get',
        component => 't', resource => { type => 'thing' } } )->name, 'do_put_t_thing_v1', 'job($name, \%envelope)' );

$made->on( $Gearbox::Job::EVENT_COMPLETED, $jm->job('do_put_t_thing_v1') );
is( $made->envelope->{on}{COMPLETED}{name}, 'do_put_t_thing_v1', 'Job->on stores the event job' );
eval { $made->on( $Gearbox::Job::EVENT_UNKNOWN, $copy ) };
is( ref $@, 'ERR_BAD_REQUEST', 'an unknown event is refused' );

my $answer = $made->run;
is( $answer->code, 202, 'an async run answers 202' );
like( $answer->status_uri, qr{^http://127\.0\.0\.1:4080/t/v1/status/s-}, '... with its status_uri' );
my $st = $answer->status;
is( $st->state, $Gearbox::Status::STATE_PENDING, 'its status waits (no gearmand)' );
is( $made->status, $st->name, 'the job knows its status id after run' );

my $later = $jm->delay( $jm->job('do_put_t_thing_v1'), 60 )->status;
ok( $later->ytime > time + 30, 'delay: the status shows ytime' );

my $before = time;
$jm->retry( $made, 0.5, 0.2 );
$st->sync;
is( $st->failures, 1, 'retry counts a failure' );
ok( $st->ytime - $before >= 0.45 && $st->ytime - $before <= 1.7,
    'retry($job, MAX_DELAY, MAX_JITTER): Fibonacci 1 capped at 0.5 s, plus up to 0.2 s' );
eval { $jm->retry($made) };
like( "$@", qr/gave up after 2 attempts/, 'retry gives up after retry_max_attempts' );

my $st2 = $jm->job('do_post_t_thing_v1')->run->status;
$st2->on( $Gearbox::Status::EVENT_CANCEL, $jm->job('do_delete_t_thing_v1') );
is( $st2->events->{CANCEL}{name}, 'do_delete_t_thing_v1', 'Status->on stores the CANCEL job' );
$st2->on( $Gearbox::Status::EVENT_CANCEL, undef );
is_deeply( $st2->events, {}, '... and undef removes it' );
is( $st2->counter_add('n'), 1, 'counter_add' );
is( $st2->counter_add( 'n', 4 ), 5, 'counter_add with a delta' );
$st2->checkpoint;
pass('checkpoint on a pending status returns');
my $cancel = $st2->cancel;
is( $cancel->operation, 'update', 'cancel returns the cancel operation\'s status' );
$st2->sync;
is( $st2->state, $Gearbox::Status::STATE_CANCELLED, 'a pending job is cancelled at once' );
is( $st2->code, 410, '... with 410' );
eval { $st2->checkpoint };
is( ref $@, 'ERR_GONE', 'checkpoint on a cancelled status dies with ERR_GONE' );

my $q = $jm->job_queue( [ { name => 'do_put_t_thing_v1', require => ['do_post_t_thing_v1'] },
    { name => 'do_post_t_thing_v1' } ] );
is( scalar @$q, 2, 'job_queue: an arrayref of levels' );
is( $q->[0][0]->name, 'do_post_t_thing_v1', '... level 1 first' );
ok( ( !grep { ref $_ ne 'ARRAY' } @$q ), '... each a plain arrayref' );
ok( ( !grep { !$_->isa('Gearbox::Job') } map {@$_} @$q ), '... of Gearbox::Job' );
is( $q->levels, 2, '... with levels' );
is_deeply( [ map { $_->name } $q->reverse->jobs ], [ 'do_put_t_thing_v1', 'do_post_t_thing_v1' ], '... reverse and jobs' );
$q->reverse;
push @{ $q->[1] }, $jm->job('do_post_t_thing_v1');
is( scalar @{ $q->[1] }, 2, 'a job pushed onto a level stays there' );
pop @{ $q->[1] };
my $gq = $jm->job_queue( {
    do_post_t_thing_v1 => {},
    do_get_t_thing_v1  => { require => ['do_post_t_thing_v1'], type => 'SYNC' },
    do_put_t_thing_v1  => { require => ['do_post_t_thing_v1'] },
    'http://127.0.0.1:1/t/v1/thing/x' =>
        { method => 'DELETE', require => [ 'do_get_t_thing_v1', 'do_put_t_thing_v1' ] } } );
is_deeply( [ map { [ sort map { $_->name } @$_ ] } @$gq ],
    [ ['do_post_t_thing_v1'], [ 'do_get_t_thing_v1', 'do_put_t_thing_v1' ], ['DELETE http://127.0.0.1:1/t/v1/thing/x'] ],
    'job_queue takes Gearbox\'s {handler => {require => [...]}} form, REST entries too' );
my ($sync) = grep { $_->name eq 'do_get_t_thing_v1' } @{ $gq->[1] };
is( $sync->type, $Gearbox::Job::JOB_SYNC, '... type SYNC makes a sync job' );
eval { $jm->job_queue( { do_put_t_thing_v1 => { require => ['do_get_t_thing_v1'] } } ) };
like( "$@", qr/requires "do_get_t_thing_v1", which is not an agent/, '... and names an unknown requirement' );
eval { $jm->job_queue_run( [ ['do_post_t_thing_v1'] ] ) };
is( ref $@, 'ERR_BAD_REQUEST', 'job_queue_run: levels hold jobs, not names' );
eval { Gearbox::JobManager::job_queue_run( [ [], [] ] ) };
is( $@, '', 'job_queue_run as a function: an empty queue runs nothing' );
Gearbox::JobManager::job_queue_apply( $q, 'content', 'shared' );
is( $q->[1][0]->content, 'shared', 'job_queue_apply calls a method on every job' );
# As in Gearbox, job_queue_run is also a function: the queue's manager runs
# it (no worker serves these jobs here: the first level times out).
eval { Gearbox::JobManager::job_queue_run( $q, 0.2 ) };
ok( ref $@ && $@->isa('ERR_GATEWAY_TIMEOUT'), 'job_queue_run as a function runs the queue (its timeout)' );
eval { $jm->job_queue( [ { name => 'do_put_t_thing_v1', require => 'do_put_t_thing_v1' } ] ) };
like( "$@", qr/requires itself/, 'a self dependency is refused' );

done_testing;
