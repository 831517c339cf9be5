# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Orchestration from Perl through a real gearmand and the C job manager:
# children, continuations with afterwards(), job events, $WORKER_RETRY,
# cancellation stopped at a checkpoint (410) with a CANCEL job, the agents
# runner.  The worker serves in this process; the scheduler step
# ($jm->run_due, the gateway's job) is pumped here too.  Last, job_queue /
# job_queue_run over a queue changed the Gearbox way (push onto a level),
# served by a worker in a child process while job_queue_run waits.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use GearboxTest;
use Time::HiRes qw(time);

package OrchWorker;
use Gearbox::Worker;
use base 'Gearbox::Worker';

our @SEEN;
our @HANDLERS = qw(do_post_perltest_parent_v1 do_put_perltest_child_v1 do_post_perltest_step_v1
    do_put_perltest_step_v1 do_post_perltest_retry_v1 do_post_perltest_stop_v1 do_delete_perltest_undo_v1
    do_post_perltest_evt_v1 do_put_perltest_evtdone_v1 do_put_perltest_a_v1 do_put_perltest_b_v1);

sub new {
    my ( $class, $config ) = @_;
    my $self = $class->SUPER::new($config);
    $self->register_handler($_) for @HANDLERS;
    $self->register_agents('do_post_perltest_farm_v1');
    return $self;
}

sub do_post_perltest_parent_v1 {
    my ( $self, $job, $resp ) = @_;
    my $answer = $self->job_manager->job('do_put_perltest_child_v1')->content( $job->content )->run;
    $resp->status->add_message( 'started ' . $answer->status->name );
    return $WORKER_SUCCESS;
}

sub do_put_perltest_child_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status->add_message( 'child got ' . $job->content );
    return $WORKER_SUCCESS;
}

sub do_post_perltest_step_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status->add_message('step 1');
    $self->afterwards( Gearbox::Job->new($job), 'do_put_perltest_step_v1' );
    return $WORKER_CONTINUE;
}

sub do_put_perltest_step_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status->add_message('step 2');
    return $WORKER_SUCCESS;
}

sub do_post_perltest_retry_v1 {
    my ( $self, $job, $resp ) = @_;
    push @SEEN, 'retry ' . $resp->status->failures;
    return $resp->status->failures < 1 ? $WORKER_RETRY : $WORKER_SUCCESS;
}

sub do_post_perltest_stop_v1 {
    my ( $self, $job, $resp ) = @_;
    my $s = $resp->status;
    $s->on( $Gearbox::Status::EVENT_CANCEL, $self->job_manager->job('do_delete_perltest_undo_v1') );
    push @SEEN, 'cancel ' . $s->cancel->operation;
    $s->checkpoint;    # dies with ERR_GONE
    push @SEEN, 'not reached';
    return $WORKER_SUCCESS;
}

sub do_delete_perltest_undo_v1 {
    my ( $self, $job, $resp ) = @_;
    push @SEEN, 'undo ' . $resp->status->parent_uri;
    return $WORKER_SUCCESS;
}

sub do_post_perltest_evt_v1 { return $WORKER_SUCCESS }

sub do_put_perltest_evtdone_v1 {
    my ( $self, $job, $resp ) = @_;
    push @SEEN, 'event ' . $job->event_status->name;
    return $WORKER_SUCCESS;
}

# What the agents saw; also appended to the file $TRAIL when set (a worker
# in another process).
our $TRAIL;
sub seen {
    push @SEEN, $_[0];
    return unless defined $TRAIL;
    open my $fh, '>>', $TRAIL or die "$TRAIL: $!";
    print $fh "$_[0]\n";
    close $fh;
}
sub do_put_perltest_a_v1 { seen( 'agent a ' . $_[1]->content ); return $WORKER_SUCCESS }
sub do_put_perltest_b_v1 { seen( 'agent b ' . $_[1]->content ); return $WORKER_SUCCESS }

package main;

my $port = start_gearmand();
my $config = write_config( $port,
    handlers => [ @OrchWorker::HANDLERS, 'do_post_perltest_farm_v1' ] );
Gearbox::log_to_file( tmpdir() . '/orchestration.log' );
my $w  = OrchWorker->new($config);
my $jm = Gearbox::JobManager->new($config);
$jm->base_uri('http://127.0.0.1:4080/perltest/v1');

# Serves jobs and runs the scheduler step until COND holds (30 s at most).
sub pump {
    my ( $cond, $what ) = @_;
    my $end = time + 30;
    while ( !$cond->() ) {
        return fail("gave up waiting for $what") if time > $end;
        $w->work_once(100);
        $jm->run_due;
    }
    return pass($what);
}

sub completed { my $s = shift; return sub { $s->sync; $s->has_completed } }

$w->work_once(100);    # registers the handlers with gearmand
eval { $jm->job('do_get_perltest_unknown_v1') };
is( ref $@, 'ERR_NOT_FOUND', 'a handler gearmand does not know -> ERR_NOT_FOUND' );
like( $@->msg, qr/handler "do_get_perltest_unknown_v1" is not known/, '... saying so' );

my $parent = $jm->job('do_post_perltest_parent_v1')->content('payload')->run->status;
pump( completed($parent), 'the parent completes' );
ok( $parent->is_success, '... with success' );
is( scalar @{ $parent->children }, 1, 'a job started in a handler is a child' );
my $child = $jm->status( $parent->children->[0] );
pump( completed($child), 'the child completes' );
is( $child->parent_uri, $parent->uri, 'the child knows its parent' );
is( $child->parent->name, $parent->name, '... and parent() reads it' );
is_deeply( $child->messages, ['child got payload'], 'the child got the content' );
is_deeply( $parent->messages, [ 'started ' . $child->name ], 'run() gave the child status' );

my $steps = $jm->job('do_post_perltest_step_v1')->run->status;
pump( completed($steps), 'afterwards: both steps ran' );
is_deeply( $steps->messages, [ 'step 1', 'step 2' ], 'a continuation shares the status' );
ok( $steps->is_success, '... which completes with the last step' );

my $first = $jm->job('do_post_perltest_evt_v1');
$first->on( $Gearbox::Job::EVENT_COMPLETED, $jm->job('do_put_perltest_evtdone_v1') );
my $evt = $first->run->status;
pump( sub { grep { /^event / } @OrchWorker::SEEN }, 'the COMPLETED event job ran' );
ok( ( grep { $_ eq 'event ' . $evt->name } @OrchWorker::SEEN ), '... with event_status' );

my $retried = $jm->job('do_post_perltest_retry_v1')->run->status;
pump( completed($retried), '$WORKER_RETRY: the job ran again' );
ok( $retried->is_success, '... and succeeded' );
is_deeply( [ grep {/^retry/} @OrchWorker::SEEN ], [ 'retry 0', 'retry 1' ], '... after one failure' );

my $stopped = $jm->job('do_post_perltest_stop_v1')->run->status;
pump( sub { $stopped->sync; $stopped->state == $Gearbox::Status::STATE_CANCELLED }, 'cancelled at the checkpoint' );
is( $stopped->code, 410, '... with 410' );
ok( ( grep { $_ eq 'cancel update' } @OrchWorker::SEEN ), 'cancel returned the cancel status' );
ok( !( grep { $_ eq 'not reached' } @OrchWorker::SEEN ), 'checkpoint stopped the handler' );
ok( ( grep { $_ eq 'undo ' . $stopped->uri } @OrchWorker::SEEN ), 'the CANCEL job ran as a child of the target' );

my $farm = $jm->job('do_post_perltest_farm_v1')->content(
    Gearbox::Core::gbx_json_dump( {
        agents  => [ { name => 'do_put_perltest_b_v1', require => ['do_put_perltest_a_v1'] }, { name => 'do_put_perltest_a_v1' } ],
        content => 'shared' } ) )->run->status;
pump( completed($farm), 'the agents runner completes' );
ok( $farm->is_success, '... with success' );
is_deeply( [ grep {/^agent/} @OrchWorker::SEEN ], [ 'agent a shared', 'agent b shared' ], 'agents ran in dependency order' );
is( scalar @{ $farm->children }, 2, 'the agents are children of the runner' );

# job_queue_run waits here: a child process serves the agents meanwhile.
my $q = $jm->job_queue( [ { name => 'do_put_perltest_b_v1', require => 'do_put_perltest_a_v1' },
    { name => 'do_put_perltest_a_v1' } ] );
is_deeply( [ map { [ map { $_->name } @$_ ] } @$q ], [ ['do_put_perltest_a_v1'], ['do_put_perltest_b_v1'] ],
    'job_queue: levels of jobs' );
Gearbox::JobManager::job_queue_apply( $q, 'content', 'q' );
# As Gearbox's callers do it: push onto a level, add one.
push @{ $q->[1] }, $jm->job('do_put_perltest_a_v1')->content('pushed');
push @$q, [ $jm->job('do_put_perltest_b_v1')->content('added') ];
my $trail = tmpdir() . '/queue-trail.txt';
my $qpid  = fork // die "fork: $!";
if ( !$qpid ) {
    $OrchWorker::TRAIL = $trail;
    my $cw = OrchWorker->new($config);
    $cw->work_once(100) while 1;
}
GearboxTest::track_pid($qpid);
eval { $jm->job_queue_run( $q, 30 ) };
is( $@, '', 'job_queue_run ran the queue' );
GearboxTest::stop_pid($qpid);
open my $tfh, '<', $trail or die "$trail: $!";
chomp( my @ran = <$tfh> );
close $tfh;
is( $ran[0], 'agent a q', 'level 1 ran first' );
is_deeply( [ sort @ran[ 1, 2 ] ], [ 'agent a pushed', 'agent b q' ], 'level 2 ran with the pushed job' );
is_deeply( [ @ran[ 3 .. $#ran ] ], ['agent b added'], 'then the added level, and nothing else' );

done_testing;
