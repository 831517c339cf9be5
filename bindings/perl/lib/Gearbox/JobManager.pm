# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::JobManager - makes and runs jobs (the C job manager,
# gbx_jobmanager_*): jobs for handlers, REST jobs, delays, retries, job
# queues of agents, statuses local or remote, cancellation.
#   $worker->job_manager                  the worker's own
#   Gearbox::JobManager->new($config)     one over a config and its store
# Jobs started inside a handler become children of the handler's status.
package Gearbox::JobManager;

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::Job ();
use Gearbox::JobQueue ();
use Gearbox::JobResponse ();
use Gearbox::Status ();

our $REQUIRE_SCHEMAS = 0;

# new($worker), new($config_file | Gearbox::ConfigFile), or new() for a
# manager without handlers or store (REST jobs, gen_id).
sub new {
    my ( $class, $from ) = @_;
    my $self = bless {}, $class;
    if ( blessed $from && $from->isa('Gearbox::Worker') ) {
        $self->{owner} = $from;
        $self->{cfg}   = $from->cfg;
        $self->{ptr}   = Gearbox::Core::gbx_worker_job_manager( $from->_w );
        return $self;
    }
    my $cfg =
          blessed $from ? $from
        : defined $from ? Gearbox::ConfigFile->new("$from")
        :                 Gearbox::ConfigFile->from_data( {} );
    $self->{cfg} = $cfg;
    my $section = $cfg->get_json('status');
    $self->{store} = Gearbox::Core::gbx_store_open( $section, $cfg->dir ) if $section;
    my $ptr = eval { Gearbox::Core::gbx_jobmanager_new( $cfg->_p, $self->{store} ) };
    if ( !$ptr ) {
        my $err = $@;
        Gearbox::Core::gbx_store_free( delete $self->{store} ) if $self->{store};
        die $err;
    }
    $self->{ptr}   = $ptr;
    $self->{owned} = 1;
    return $self;
}

# A manager over the store of `owner` (a Gearbox::StatusManager), which it
# keeps alive.
sub _over {
    my ( $class, $cfg, $store, $owner ) = @_;
    my $ptr = Gearbox::Core::gbx_jobmanager_new( $cfg->_p, $store );
    return bless { ptr => $ptr, owned => 1, cfg => $cfg, owner => $owner }, $class;
}

sub _p { $_[0]{ptr} or die ERR_INTERNAL_SERVER_ERROR->new("Gearbox::JobManager has been freed") }

sub _store { Gearbox::Core::gbx_jobmanager_store( $_[0]->_p ) }

sub cfg { my $s = shift; $s->{cfg} = shift if @_; $s->{cfg} }

# parent_uri(URI): jobs made here get it as their parent_uri (as Gearbox);
# inside a handler the job's status is the parent anyway.
sub parent_uri { my $s = shift; $s->{parent_uri} = shift if @_; $s->{parent_uri} }

# base_uri(URI): the base URI of new jobs when no handler is running.
sub base_uri {
    my $self = shift;
    if (@_) {
        $self->{base_uri} = shift;
        Gearbox::Core::gbx_jobmanager_set_base_uri( $self->_p, $self->{base_uri} );
    }
    return $self->{base_uri};
}

# True when NAME is one of the handlers of the config.
sub known_job_name {
    my ( $self, $name ) = @_;
    my $handlers = $self->{cfg} ? $self->{cfg}->get_json('handlers') : undef;
    return 0 unless ref $handlers eq 'ARRAY';
    return ( grep { $_ eq $name } @$handlers ) ? 1 : 0;
}

sub _made {
    my ( $self, $ptr ) = @_;
    my $job = Gearbox::Job->_made( $ptr, $self );
    $job->parent_uri( $self->{parent_uri} ) if defined $self->{parent_uri};
    return $job;
}

# job(NAME): a new async job for the handler NAME ("do_get_barn_animal_v1"),
# which gearmand or the config's "handlers" must know.  job(NAME, ENVELOPE):
# a copy of an envelope (hashref, JSON text or Gearbox::Job) renamed to NAME.
# job($Gearbox::HttpClient::METHOD_*, URI): a REST job.
sub job {
    my ( $self, $a, $b ) = @_;
    die ERR_BAD_REQUEST->new("job needs a handler name") unless defined $a && length $a;
    if ( $a =~ /^\d+$/ || $a =~ /^(GET|PUT|POST|DELETE|HEAD)$/i ) {
        die ERR_BAD_REQUEST->new("job(\$method, \$uri): the uri is missing") unless defined $b;
        my $method = $a =~ /^\d+$/ ? $a : Gearbox::HttpClient->can( 'METHOD_' . uc $a )->();
        return $self->_made( Gearbox::Core::gbx_jobmanager_rest_job( $self->_p, $method, "$b" ) );
    }
    return $self->_made( Gearbox::Core::gbx_jobmanager_job( $self->_p, "$a" ) ) unless defined $b;
    if ( blessed $b && $b->isa('Gearbox::Job') ) {
        return $self->_made(
            Gearbox::Core::gbx_jobmanager_job_from_envelope( $self->_p, "$a", Gearbox::Core::gbx_job_envelope( $b->_p ) ) );
    }
    my $env = Gearbox::Core::gbx_envelope_parse( ref $b ? Gearbox::Core::gbx_json_dump($b) : "$b" );
    my $ptr = eval { Gearbox::Core::gbx_jobmanager_job_from_envelope( $self->_p, "$a", $env ) };
    my $err = $@;
    Gearbox::Core::gbx_envelope_free($env);
    die $err unless $ptr;
    return $self->_made($ptr);
}

# run($job): what $job->run does.
sub run {
    my ( $self, $job ) = @_;
    return Gearbox::JobResponse->_answer( Gearbox::Core::gbx_jobmanager_run( $self->_p, $job->_p ), $self );
}

# delay($job, SECONDS): runs an async job later; its response (202).
sub delay {
    my ( $self, $job, $seconds ) = @_;
    return Gearbox::JobResponse->_answer(
        Gearbox::Core::gbx_jobmanager_delay( $self->_p, $job->_p, 0 + ( $seconds // 0 ) ), $self );
}

# retry($job[, MAX_DELAY[, MAX_JITTER]]): runs it again after a Fibonacci
# pause capped at MAX_DELAY s, plus up to MAX_JITTER s when the pause is
# above it, as Gearbox's retry (defaults: jobs.retry_max_delay 300,
# jobs.retry_max_jitter 15); dies with the final error once
# jobs.retry_max_attempts (25; 0 = no limit) are used up.
sub retry {
    my ( $self, $job, $max_delay, $max_jitter ) = @_;
    Gearbox::Core::gbx_jobmanager_retry( $self->_p, $job->_p, 0 + ( $max_delay // 0 ),
        0 + ( $max_jitter // -1 ) );
    return;
}

sub _status {
    my ( $self, $ptr ) = @_;
    return Gearbox::Status->_wrap( $ptr, owned => 1, store_owner => $self, jm => $self );
}

# status(ID | URI): a status from the store, or read over HTTP (read-only)
# when the URI belongs to another service.
sub status {
    my ( $self, $what ) = @_;
    return $self->_status( Gearbox::Core::gbx_jobmanager_status( $self->_p, "$what" ) );
}

# wait($status[, TIMEOUT]): until it has completed (ERR_GATEWAY_TIMEOUT
# after TIMEOUT seconds; 0 = no limit).
sub wait {
    my ( $self, $status, $timeout ) = @_;
    Gearbox::Core::gbx_jobmanager_wait( $self->_p, $status->_p, 0 + ( $timeout // 0 ) );
    return;
}

# cancel(ID | URI | $status): the cancel operation's own status.
sub cancel {
    my ( $self, $what ) = @_;
    $what = $what->_target if blessed $what && $what->isa('Gearbox::Status');
    return $self->_status( Gearbox::Core::gbx_jobmanager_cancel( $self->_p, "$what" ) );
}

# reschedule(ID | URI, YTIME): its waiting job runs at YTIME; the status.
sub reschedule {
    my ( $self, $what, $ytime ) = @_;
    return $self->_status( Gearbox::Core::gbx_jobmanager_reschedule( $self->_p, "$what", 0 + $ytime ) );
}

# One scheduler step: (jobs submitted, next due time or 0).
sub run_due { my @r = Gearbox::Core::gbx_jobmanager_run_due( $_[0]->_p ); return @r }

# job_queue(\%agents | \@agents): agents levelled by dependency, in
# Gearbox's form {handler => {require => [handlers], type => 'SYNC',
# method => 'PUT', uri => ...}} (a method makes a REST job, to uri or else
# to the key) or as [{name => handler, require => [...]}, ...]: as in Gearbox, an arrayref of levels (arrayrefs
# of Gearbox::Job), blessed into Gearbox::JobQueue for levels/jobs/reverse.
# The jobs are the caller's: change the levels before job_queue_run.
sub job_queue {
    my ( $self, $agents ) = @_;
    my $q = Gearbox::Core::gbx_jobmanager_job_queue( $self->_p, $agents );
    my @levels = eval {
        map {
            my $k = $_;
            [ map { $self->_made( Gearbox::Core::gbx_job_copy( Gearbox::Core::gbx_job_queue_job( $q, $k, $_ ) ) ) }
                    0 .. Gearbox::Core::gbx_job_queue_level_size( $q, $k ) - 1 ]
        } 0 .. Gearbox::Core::gbx_job_queue_levels($q) - 1;
    };
    my $err = $@;
    Gearbox::Core::gbx_job_queue_free($q);
    die $err if $err;
    return Gearbox::JobQueue->_new(@levels);
}

# job_queue_run($queue[, TIMEOUT]): runs what the levels of $queue (an
# arrayref of arrayrefs of Gearbox::Job, from job_queue or not) hold now,
# level after level, the jobs of a level in parallel as children of the
# current status (empty levels are skipped); dies with the first failure.
# As in Gearbox, also a class method or a function
# (Gearbox::JobManager::job_queue_run($queue)): the manager of the queue's
# first job runs it.
sub job_queue_run {
    my $self = blessed $_[0] && $_[0]->isa(__PACKAGE__) ? shift : undef;
    shift if !$self && defined $_[0] && !ref $_[0] && $_[0] eq __PACKAGE__;
    my ( $queue, $timeout ) = @_;
    my $bad = 'job_queue_run needs a queue: an arrayref of levels, each an arrayref of Gearbox::Job';
    die ERR_BAD_REQUEST->new($bad) unless ref $queue && eval { scalar @$queue; 1 };
    my $q = Gearbox::Core::gbx_job_queue_new();
    my $ok = eval {
        for my $level (@$queue) {
            die ERR_BAD_REQUEST->new($bad) unless ref $level && eval { scalar @$level; 1 };
            my $k = Gearbox::Core::gbx_job_queue_levels($q);
            for my $job (@$level) {
                die ERR_BAD_REQUEST->new("$bad, not " . ( defined $job ? "'$job'" : 'undef' ))
                    unless blessed $job && $job->isa('Gearbox::Job');
                $self ||= $job->_jm;
                Gearbox::Core::gbx_job_queue_add( $q, $k, $job->_p );
            }
        }
        Gearbox::Core::gbx_jobmanager_job_queue_run( $self->_p, $q, 0 + ( $timeout // 0 ) ) if $self;
        1;
    };
    my $err = $@;
    Gearbox::Core::gbx_job_queue_free($q);
    die $err unless $ok;
    return;
}

# Calls $job->SUB(DATA) (a method name) or SUB->($job, DATA) (a code ref)
# for every job of a queue.
sub job_queue_apply {
    shift if @_ > 3 || ( blessed $_[0] && $_[0]->isa(__PACKAGE__) ) || ( defined $_[0] && $_[0] eq __PACKAGE__ );
    my ( $queue, $sub, $data ) = @_;
    for my $level (@$queue) {
        for my $job (@$level) {
            ref $sub eq 'CODE' ? $sub->( $job, $data ) : $job->$sub($data);
        }
    }
    return;
}

# A new id "<prefix>-<26 chars>" (class or instance method, or function).
sub gen_id {
    shift if @_ > 1 || ( @_ && ( ref $_[0] || $_[0] eq __PACKAGE__ ) );
    my ($prefix) = @_;
    return Gearbox::Core::gbx_jobmanager_gen_id( defined $prefix ? "$prefix" : undef );
}

sub requireSchemas {
    shift if @_ > 1 || ( @_ && ( ref $_[0] || $_[0] eq __PACKAGE__ ) );
    $REQUIRE_SCHEMAS = shift ? 1 : 0;
    return;
}

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_jobmanager_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
    Gearbox::Core::gbx_store_free( delete $self->{store} ) if $self->{store};
}

1;
