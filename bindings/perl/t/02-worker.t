# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Handlers run by the C worker loop through a real gearmand with a real
# status store: accessors, return codes, exceptions (Gearbox errors and
# plain dies), hooks, borrowed objects, async statuses.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use JSON::PP ();

package TestWorker;
use Gearbox::Worker;
use base 'Gearbox::Worker';

our ( @KEPT, %SEEN, $PRE, $POST );

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    $self->register_handler('do_get_perltest_thing_v1');
    $self->register_handler( 'do_get_perltest_fail_v1', sub { die ERR_NOT_FOUND->new('thing "z" not found') } );
    $self->register_handler( 'do_get_perltest_crash_v1', sub { die "plain trouble\n" } );
    $self->register_handler( 'do_get_perltest_indirect_v1', sub { die new ERR_CODE_409("taken") } );
    $self->register_handler( 'do_get_perltest_bad_v1', sub { return 'banana' } );
    $self->register_handler( 'do_get_perltest_error_v1', sub { return $WORKER_ERROR } );
    $self->register_handler( 'do_get_perltest_core_v1', sub { $_[2]->add_header( "bad header", "x" ); 0 } );
    $self->register_handler('do_put_perltest_thing_v1');
    $self->register_handler( 'do_put_perltest_fail_v1', 'put_fails' );
    return $self;
}

sub pre_request  { $PRE++;  return 0 }
sub post_request { $POST++; return 0 }

sub do_get_perltest_thing_v1 {
    my ( $self, $job, $resp ) = @_;
    %SEEN = (
        self => ref $self, name => $job->name, type => $job->type, operation => $job->operation,
        component => $job->component, resource_type => $job->resource_type,
        resource_name => $job->resource_name, resource_uri => $job->resource_uri, base_uri => $job->base_uri,
        api_version => $job->api_version, arguments => $job->arguments, matrix => $job->matrix_arguments,
        query => $job->query_params, headers => $job->headers, environ => $job->environ,
        content => $job->content, json => $job->json_content, remote_ip => $job->remote_ip,
        remote_user => $job->remote_user, status => $job->status,
    );
    my $s = $resp->status;
    $s->add_message('sync message');
    $s->progress(50);
    $s->meta( sheep => 3 );
    $SEEN{transient} = $s->messages;
    $SEEN{local} = { name => $s->name, progress => $s->progress, meta => $s->meta, impltype => $s->impltype };
    push @KEPT, $job, $resp, $s;
    $resp->add_header( 'Content-Type', 'application/json' );
    $resp->content( JSON::PP->new->canonical->encode( { hello => $job->arguments->[0] } ) );
    $resp->code(201);
    return $WORKER_SUCCESS;
}

sub do_put_perltest_thing_v1 {
    my ( $self, $job, $resp ) = @_;
    my $s = $resp->status;
    $s->progress(40);
    $s->add_message("working on " . $job->resource_name);
    $s->meta( 'color', 'pink' );
    $s->add_child('http://127.0.0.1/perltest/v1/status/s-child');
    $SEEN{async_state} = $s->state;
    $SEEN{async_name}  = $s->name;
    $SEEN{async_job_status} = $job->status;
    push @KEPT, $s;
    return $WORKER_SUCCESS;
}

sub put_fails { die new ERR_CONFLICT('animal "x" exists') }

package main;

my $port   = start_gearmand();
my $config = write_config($port);
Gearbox::log_to_file( tmpdir() . '/worker.log' );
my $w = TestWorker->new($config);
isa_ok( $w, 'Gearbox::Worker' );

sub call_sync { serve_sync( $port, $w, @_ ) }

my $r = call_sync(
    'do_get_perltest_thing_v1', resource_name => 'Wilbur', arguments => ['Wilbur'],
    matrix_arguments => { m => 'x' }, query_params => { q => 'y' }, headers => { 'x-h' => 'z' },
    environ => { E => 'e' }, remote => { ip => '127.0.0.9', user => 'fern' }, content => '{"k":[1,2]}'
);
is( $r->{code}, 201, 'sync reply code' );
is( $r->{content}, '{"hello":"Wilbur"}', 'sync reply content' );
is( $r->{headers}{'Content-Type'}, 'application/json', 'sync reply header' );
is( $TestWorker::SEEN{self}, 'TestWorker', 'the handler is a method of the worker' );
is( $TestWorker::SEEN{type}, $Gearbox::Job::JOB_SYNC, 'type JOB_SYNC' );
is( $TestWorker::SEEN{operation}, 'get', 'operation' );
is( $TestWorker::SEEN{component}, 'perltest', 'component' );
is( $TestWorker::SEEN{resource_type}, 'thing', 'resource_type' );
is( $TestWorker::SEEN{resource_name}, 'Wilbur', 'resource_name' );
is( $TestWorker::SEEN{resource_uri}, 'http://127.0.0.1:4080/perltest/v1/thing/Wilbur', 'resource_uri' );
is( $TestWorker::SEEN{api_version}, 'v1', 'api_version' );
is_deeply( $TestWorker::SEEN{arguments}, ['Wilbur'], 'arguments arrayref' );
is_deeply( $TestWorker::SEEN{matrix}, { m => 'x' }, 'matrix_arguments hashref' );
is_deeply( $TestWorker::SEEN{query}, { q => 'y' }, 'query_params hashref' );
is_deeply( $TestWorker::SEEN{headers}, { 'x-h' => 'z' }, 'headers hashref' );
is_deeply( $TestWorker::SEEN{environ}, { E => 'e' }, 'environ hashref' );
is( $TestWorker::SEEN{content}, '{"k":[1,2]}', 'content' );
is_deeply( $TestWorker::SEEN{json}, { k => [ 1, 2 ] }, 'json_content' );
is( $TestWorker::SEEN{remote_ip}, '127.0.0.9', 'remote_ip' );
is( $TestWorker::SEEN{remote_user}, 'fern', 'remote_user' );
is( $TestWorker::SEEN{status}, '', 'a sync job has no status id' );
is_deeply( $TestWorker::SEEN{transient}, ['sync message'], 'a sync job has an in-memory status' );
like( $TestWorker::SEEN{local}{name}, qr/^st-/, '... a throw-away "st-" status, as in Gearbox' );
is( $TestWorker::SEEN{local}{progress}, 50, '... progress works on it' );
is_deeply( $TestWorker::SEEN{local}{meta}, { sheep => 3 }, '... meta works on it' );
is( $TestWorker::SEEN{local}{impltype}, 'transient', '... its impltype is transient' );
{
    my $store_sm = $w->status_manager;
    is_deeply( $store_sm->list( count => 1000 ), [], '... and nothing reached the store' );
    ok( !eval { $store_sm->fetch( $TestWorker::SEEN{local}{name} ); 1 }, '... it cannot be fetched' );
    is( ref $@, 'ERR_NOT_FOUND', '... (ERR_NOT_FOUND)' );
}
is( $TestWorker::PRE,  1, 'pre_request called' );
is( $TestWorker::POST, 1, 'post_request called' );

# Borrowed objects: using them after the handler returned dies cleanly.
my ( $kjob, $kresp, $kstatus ) = @TestWorker::KEPT;
for my $case ( [ job => sub { $kjob->name } ], [ response => sub { $kresp->content } ],
    [ status => sub { $kstatus->add_message('late') } ] )
{
    my ( $what, $code ) = @$case;
    ok( !eval { $code->(); 1 }, "the $what cannot be used after the handler returned" );
    is( ref $@, 'ERR_INTERNAL_SERVER_ERROR', "... it dies with an ERR_INTERNAL_SERVER_ERROR" );
    like( $@->msg, qr/after its handler returned/, '... saying why' );
}

$r = call_sync('do_get_perltest_fail_v1');
is( $r->{code}, 404, 'die ERR_NOT_FOUND->new(...) -> 404' );
my $body = JSON::PP->new->decode( $r->{content} );
is_deeply( $body->{messages}, ['NOT_FOUND [404]: thing "z" not found'], 'error body message' );

$r = call_sync('do_get_perltest_indirect_v1');
is( $r->{code}, 409, 'die new ERR_CODE_409(...) -> 409' );

$r = call_sync('do_get_perltest_crash_v1');
is( $r->{code}, 500, 'a plain die -> 500' );
is_deeply( JSON::PP->new->decode( $r->{content} )->{messages}, ['INTERNAL_SERVER_ERROR [500]: plain trouble'],
    '... with the text' );

$r = call_sync('do_get_perltest_bad_v1');
is( $r->{code}, 500, 'an unknown return value -> 500' );
like( $r->{content}, qr/returned \\"banana\\"/, '... naming it' );

$r = call_sync('do_get_perltest_error_v1');
is( $r->{code}, 500, '$WORKER_ERROR without an exception -> 500' );

$r = call_sync('do_get_perltest_core_v1');
is( $r->{code}, 400, 'an uncaught core error in a handler keeps its code' );

# Async jobs report to a real status in the store.
my $sm = $w->status_manager;
my $st = $sm->create( undef, 'create', 'http://127.0.0.1:4080/perltest/v1/thing/Charlotte', 'perltest' );
my $wait = submit( $port, 'do_put_perltest_thing_v1',
    envelope( 'do_put_perltest_thing_v1', job_type => 'async', status => $st->name, resource_name => 'Charlotte' ),
    background => 1 );
$wait->();
my $served = 0;
for ( 1 .. 20 ) { last if $served = $w->work_once(1000) }
ok( $served, 'async job served' );
$st->sync;
is( $st->state, $Gearbox::Status::STATE_COMPLETED, 'status completed' );
is( $st->code, 0, 'with code 0' );
is( $st->progress, 100, 'progress 100' );
ok( $st->is_success && $st->has_completed, 'is_success, has_completed' );
is_deeply( $st->messages, ['working on Charlotte'], 'messages' );
is_deeply( $st->meta, { color => 'pink' }, 'meta' );
is( $st->meta('color'), 'pink', 'meta(key)' );
is_deeply( $st->children, ['http://127.0.0.1/perltest/v1/status/s-child'], 'children' );
is( $TestWorker::SEEN{async_state}, $Gearbox::Status::STATE_RUNNING, 'RUNNING while the handler ran' );
is( $TestWorker::SEEN{async_name}, $st->name, 'the handler saw its status' );
is( $TestWorker::SEEN{async_job_status}, $st->name, '$job->status is the status id' );

my $st2 = $sm->create( undef, 'create', 'http://127.0.0.1:4080/perltest/v1/thing/x', 'perltest' );
$wait = submit( $port, 'do_put_perltest_fail_v1',
    envelope( 'do_put_perltest_fail_v1', job_type => 'async', status => $st2->name, resource_name => 'x' ),
    background => 1 );
$wait->();
$served = 0;
for ( 1 .. 20 ) { last if $served = $w->work_once(1000) }
$st2->sync;
is( $st2->code, 409, 'die in an async handler fails the status with its code' );
is_deeply( $st2->messages, ['CONFLICT [409]: animal "x" exists'], '... and message' );
ok( !$st2->is_success, 'not a success' );

is( $w->request_count, 9, 'request_count' );
my $fetched = $sm->fetch( $st->uri || $st->name );
is( $fetched->name, $st->name, 'status_manager->fetch' );
ok( scalar( grep { $_ eq $st->name } @{ $sm->list( component => 'perltest' ) } ), 'status_manager->list' );
isa_ok( $w->job_manager, 'Gearbox::JobManager', 'job_manager' );
is( $w->cfg->get_string('component'), 'perltest', 'cfg' );
is( $w->cfg->get_string( 'status', 'type' ), 'sqlite', 'cfg (section, key)' );

# Objects keep their parents alive.
my ( $cfg, $sm2, $kept_status );
{
    my $w2 = Gearbox::Worker->new($config);
    $cfg         = $w2->cfg;
    $sm2         = $w2->status_manager;
    $kept_status = $sm2->fetch( $st->name );
}
is( $cfg->get_string('component'), 'perltest', 'a config outlives the worker variable' );
is( $kept_status->name, $st->name, 'a status outlives its manager and worker variables' );
is( $sm2->fetch( $st->name )->code, 0, 'the status manager still reads the store' );

# Registration errors.
eval { $w->register_handler('do_get_perltest_missing_v1') };
is( ref $@, 'ERR_NOT_FOUND', 'registering a method that does not exist dies' );
eval { $w->set_retryable( 'do_get_perltest_unregistered_v1', 0 ) };
is( ref $@, 'ERR_NOT_FOUND', 'set_retryable of a handler that is not registered dies' );
eval { $w->set_retryable( 'do_get_perltest_fail_v1', 0 ); 1 } or diag $@;
ok( !$@, 'set_retryable of a registered handler' );
eval { TestWorker->new('/nonexistent.conf') };
is( ref $@, 'ERR_NOT_FOUND', 'a missing config file dies with ERR_NOT_FOUND' );

done_testing;
