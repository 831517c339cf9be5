#!/usr/bin/perl
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# workerCompat.pl - a test worker written the way Yahoo Gearbox's Perl test
# workers were (a Gearbox::Worker subclass, handlers registered by name,
# Gearbox's object-form agent graphs, afterwards, retry, on(EVENT_COMPLETED),
# Gearbox::StopWatch and Gearbox::Scoreboard), for the compat stack test
# (tests/compat/test_compat.py).  Component "compatperl", served under
# /perl/compat.  Usage: workerCompat.pl CONFIG_FILE
use strict;
use warnings;

# In the build tree: the binding's modules from $GEARBOX_BUILD_DIR.
BEGIN {
    require FindBin;
    my @dirs = ("$FindBin::RealBin/../../../bindings/perl/lib");
    unshift @dirs, "$ENV{GEARBOX_BUILD_DIR}/bindings/perl/lib" if $ENV{GEARBOX_BUILD_DIR};
    unshift @INC, grep { -d } @dirs;
}

$SIG{PIPE} = 'IGNORE';
CompatWorker->new( $ARGV[0] )->run();
exit 0;

package CompatWorker;
use strict;
use warnings;
use Gearbox::Worker;
use base qw(Gearbox::Worker);
use Fcntl qw(:flock);
use JSON::PP ();
use Time::HiRes ();

use constant C => 'compatperl';

sub new {
    my $self = shift->SUPER::new(@_);
    my $dir = $self->cfg->get_path( 'compat.state_dir', 'state/' . C );
    mkdir $dir;
    $self->{marks} = $dir;

    # resources of the REST API
    $self->register_handler("do_get_${\C}_thing_v1");
    $self->register_handler("do_put_${\C}_thing_v1");
    $self->register_handler("do_get_${\C}_mark_v1");
    $self->register_handler("do_put_${\C}_mark_v1");
    $self->register_handler("do_post_${\C}_graph_v1");
    $self->register_handler("do_post_${\C}_agents_v1");
    $self->register_handler("do_post_${\C}_hello2_v1");
    $self->register_handler("do_post_${\C}_continuation_v1");
    $self->register_handler("do_post_${\C}_retry_v1");
    $self->register_handler("do_get_${\C}_error_v1");
    $self->register_handler("do_get_${\C}_syncstatus_v1");
    $self->register_handler("do_get_${\C}_metrics_v1");

    # internal handlers: agents and continuations
    for my $agent (qw(A B S)) {
        $self->register_handler( "do_reg_${\C}_${agent}_v1", \&agent_handler );
    }
    $self->register_handler("do_run_${\C}_continuation_v1");
    $self->register_handler("do_finish_${\C}_continuation_v1");
    $self->register_handler("do_append_${\C}_note_v1");
    return $self;
}

my $json;
sub json { return $json ||= JSON::PP->new->allow_nonref->canonical }

# Every job that reaches a "mark" appends its handler name to the marks
# of an id (a file per id), which GET /mark/<id> returns in order.
sub mark {
    my ( $self, $id, $what ) = @_;
    die ERR_BAD_REQUEST->new("invalid id") unless defined $id && $id =~ /^[A-Za-z0-9_-]+$/;
    open my $fh, '>>', "$self->{marks}/$id" or die ERR_INTERNAL_SERVER_ERROR->new("cannot open marks of $id: $!");
    flock $fh, LOCK_EX;
    print {$fh} "$what\n";
    close $fh;
    return;
}

sub body { my $job = shift; my $c = $job->content; return defined $c && length $c ? json()->decode($c) : {} }

sub do_get_compatperl_thing_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->content( json()->encode( { thing => $job->resource_name, component => C } ) );
    return $WORKER_SUCCESS;
}

sub do_put_compatperl_thing_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status()->add_message( "stored " . $job->resource_name );
    return $WORKER_SUCCESS;
}

sub do_get_compatperl_mark_v1 {
    my ( $self, $job, $resp ) = @_;
    my $id = $job->resource_name;
    my @marks;
    if ( open my $fh, '<', "$self->{marks}/$id" ) {
        chomp( @marks = <$fh> );
        close $fh;
    }
    $resp->content( json()->encode( { marks => \@marks } ) );
    return $WORKER_SUCCESS;
}

# The target of a REST entry of the graphs.
sub do_put_compatperl_mark_v1 {
    my ( $self, $job, $resp ) = @_;
    $self->mark( $job->resource_name, "rest " . $job->name );
    $resp->status()->add_message("marked");
    return $WORKER_SUCCESS;
}

# POST /graph/<id> {"agents": GRAPH}: the graph through job_queue in
# Gearbox's object form, each job given {"id": <id>}.
sub do_post_compatperl_graph_v1 {
    my ( $self, $job, $resp ) = @_;
    my $in = body($job);
    my $jm = $self->job_manager();
    my $queue = $jm->job_queue( $in->{agents} );
    $jm->job_queue_apply( $queue, \&Gearbox::Job::content, json()->encode( { id => $job->resource_name } ) );
    $jm->job_queue_run($queue);
    $resp->status()->add_message("done");
    return $WORKER_SUCCESS;
}

# POST /agents/<id> {"agents": GRAPH}: the same graph run by the global
# agents runner, which this worker does not serve.
sub do_post_compatperl_agents_v1 {
    my ( $self, $job, $resp ) = @_;
    my $in = body($job);
    my $run = $self->job_manager()->job("do_run_global_agents_v1");
    $run->content( json()->encode( { agents => $in->{agents}, content => json()->encode( { id => $job->resource_name } ) } ) );
    my $s = $run->run()->status();
    $self->job_manager()->wait( $s, 120 );
    $s->sync();
    if ( !$s->is_success() ) {
        my $ERR = "ERR_CODE_" . $s->code();
        die $ERR->new( $s->messages()->[-1] );
    }
    $resp->status()->add_message("done");
    return $WORKER_SUCCESS;
}

sub agent_handler {
    my ( $self, $job, $resp ) = @_;
    my $in = $self->json()->decode( $job->content() );
    $self->mark( $in->{id}, $job->name . ( $job->type() == $Gearbox::Job::JOB_SYNC ? " sync" : "" ) );
    $resp->status()->add_message( $job->resource_type() . " registered for " . $in->{id} );
    $resp->status()->meta( $job->resource_type(), $in->{id} );
    return $WORKER_SUCCESS;
}

# Served synchronously under the nested location /perl/compat/v1/hello2.
sub do_post_compatperl_hello2_v1 {
    my ( $self, $job, $resp ) = @_;
    my $sync = $job->type() == $Gearbox::Job::JOB_SYNC ? JSON::PP::true : JSON::PP::false;
    $resp->content( json()->encode( { hello => "hello2", handler => $job->name, sync => $sync } ) );
    return $WORKER_SUCCESS;
}

# A continuation: do_run retries until cancelled; do_finish, its
# on-completed job, finishes this status.
sub do_post_compatperl_continuation_v1 {
    my ( $self, $job, $resp ) = @_;
    my $run = $self->job_manager()->job("do_run_${\C}_continuation_v1");
    my $finish = Gearbox::Job->new($job);
    $finish->name("do_finish_${\C}_continuation_v1");
    $run->on( $Gearbox::Job::EVENT_COMPLETED, $finish );
    $self->afterwards($run);
    return $WORKER_CONTINUE;
}

sub do_run_compatperl_continuation_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status()->add_message("run called");
    $self->job_manager()->retry( $job, 5, 0 );
    return $WORKER_CONTINUE;
}

sub do_finish_compatperl_continuation_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status()->add_message("finish called");
    return $WORKER_SUCCESS;
}

# POST /retry/<id> {"max_delay": D, "max_jitter": J}: retries for ever with
# Gearbox's arguments; each attempt notes when the next one is due.
sub do_post_compatperl_retry_v1 {
    my ( $self, $job, $resp ) = @_;
    my $in = body($job);
    my $s  = $resp->status();
    $s->add_message( "attempt " . ( $s->failures() + 1 ) );
    $self->job_manager()->retry( $job, $in->{max_delay}, $in->{max_jitter} );
    $s->sync();
    $s->add_message( sprintf( "next in %.3f", $s->ytime() - Time::HiRes::time() ) );
    return $WORKER_CONTINUE;
}

# GET /error/<NAME>: dies with ERR_<NAME>.
sub do_get_compatperl_error_v1 {
    my ( $self, $job, $resp ) = @_;
    my $ERR = "ERR_" . $job->resource_name();
    die $ERR->new("raised $ERR");
}

# A sync handler reporting to its (throw-away) status.
sub do_get_compatperl_syncstatus_v1 {
    my ( $self, $job, $resp ) = @_;
    my $s = $resp->status();
    $s->add_message("sync message");
    $s->progress(50);
    $s->meta( "sync", "yes" );
    $resp->content( json()->encode( { name => $s->name(), progress => $s->progress(), messages => $s->messages() } ) );
    return $WORKER_SUCCESS;
}

sub do_get_compatperl_metrics_v1 {
    my ( $self, $job, $resp ) = @_;
    require Gearbox::StopWatch;
    require Gearbox::Scoreboard;
    Gearbox::Scoreboard::initialize( C() );
    my $sb = Gearbox::Scoreboard::get_scoreboard();
    $sb->increment_counter( "status", C() );
    my $sw = Gearbox::StopWatch->new();
    $sw->start();
    Time::HiRes::sleep(0.01);
    $sw->stop();
    $sb->update_duration_hours( "status", C(), "duration_success", $sw );
    $resp->content( json()->encode( { metrics => "updated" } ) );
    return $WORKER_SUCCESS;
}

sub do_append_compatperl_note_v1 {
    my ( $self, $job, $resp ) = @_;
    $resp->status()->add_message("noted");
    return $WORKER_SUCCESS;
}

1;
