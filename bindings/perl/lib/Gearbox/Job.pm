# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox::Job - a job as a handler sees it (its envelope and its status),
# or a job built in a worker (Gearbox::Job->new($job), JobManager->job).
# The job a handler receives is lent for the call: it is read-only, and
# using it after the handler returned dies.  Copy it with
# Gearbox::Job->new($job) to keep or change it.
# Constants as in Gearbox: $Gearbox::Job::JOB_SYNC / JOB_ASYNC,
# $Gearbox::Job::EVENT_COMPLETED ... EVENT_CANCELLED.
package Gearbox::Job;

use strict;
use warnings;

use Scalar::Util qw(blessed);

use Gearbox::Core ();
use Gearbox::Errors ();
use Gearbox::Status ();

# The numbers and names come from the core (numbered as Gearbox did).
our ( $JOB_UNKNOWN, $JOB_SYNC, $JOB_ASYNC ) =
    ( $Gearbox::Core::GBX_JOB_UNKNOWN, $Gearbox::Core::GBX_JOB_SYNC, $Gearbox::Core::GBX_JOB_ASYNC );
sub JOB_UNKNOWN () { $Gearbox::Core::GBX_JOB_UNKNOWN }
sub JOB_SYNC ()    { $Gearbox::Core::GBX_JOB_SYNC }
sub JOB_ASYNC ()   { $Gearbox::Core::GBX_JOB_ASYNC }
our ( $EVENT_UNKNOWN, $EVENT_COMPLETED, $EVENT_FAILED, $EVENT_SUCCEEDED, $EVENT_STARTED, $EVENT_STOPPED,
    $EVENT_CANCELLED );
{
    no strict 'refs';
    for my $i ( 0 .. $Gearbox::Core::GBX_EVENT_CANCELLED ) {
        my $n = $i;
        my $name = Gearbox::Core::gbx_job_event_name($i);
        ${"EVENT_$name"} = $n;
        *{"EVENT_$name"} = sub () { $n };
    }
}

sub event2str { return Gearbox::Core::gbx_job_event_name( pop // 0 ) }
sub str2event { return Gearbox::Core::gbx_job_event_from_name( pop // '' ) }

# Gearbox::Job->new($job): a copy of a job (same envelope, status id
# included: running the copy continues that status).
# Gearbox::Job->new(\%envelope) or ->new($envelope_json): a job over that
# envelope (validated).
sub new {
    my ( $class, $from ) = @_;
    if ( blessed $from && $from->isa('Gearbox::Job') ) {
        my $jm = $from->{jm} || ( $from->{worker} ? $from->{worker}->job_manager : undef );
        return bless { ptr => Gearbox::Core::gbx_job_copy( $from->_p ), owned => 1, jm => $jm },
            ref $class || $class;
    }
    die ERR_BAD_REQUEST->new("Gearbox::Job->new needs a job or an envelope; JobManager->job makes new ones")
        unless defined $from;
    my $text = ref $from ? Gearbox::Core::gbx_json_dump($from) : "$from";
    my $env  = Gearbox::Core::gbx_envelope_parse($text);
    my $job  = eval { Gearbox::Core::gbx_job_new($env) };
    my $err  = $@;
    Gearbox::Core::gbx_envelope_free($env);
    die $err unless $job;
    return bless { ptr => $job, owned => 1 }, ref $class || $class;
}

# A job made by the job manager JM (owned).
sub _made {
    my ( $class, $ptr, $jm ) = @_;
    return bless { ptr => $ptr, jm => $jm, owned => 1 }, $class;
}

# The job manager that runs this job.
sub _jm {
    my $self = shift;
    return $self->{jm} if $self->{jm};
    return $self->{worker}->job_manager if $self->{worker};
    die ERR_INTERNAL_SERVER_ERROR->new(
        "this job has no job manager: make jobs with JobManager->job or run them with JobManager->run(\$job)");
}

sub _p {
    my $self = shift;
    return $self->{ptr} if $self->{ptr};
    die ERR_INTERNAL_SERVER_ERROR->new(
        "Gearbox::Job used after its handler returned: a handler's job, response and status are only valid during the call");
}

sub _env { Gearbox::Core::gbx_job_envelope( $_[0]->_p ) }

# The pointer of a job that may be changed: not the one a handler receives.
sub _w {
    my $self = shift;
    my $p    = $self->_p;
    die ERR_INTERNAL_SERVER_ERROR->new(
        "the job a handler receives is read-only; copy it with Gearbox::Job->new(\$job) to change it")
        if $self->{borrowed};
    return $p;
}

sub _set {
    my ( $self, $field, $value ) = @_;
    if ( $field eq 'name' ) {
        Gearbox::Core::gbx_job_set_name( $self->_w, defined $value ? "$value" : undef );
    }
    else {
        Gearbox::Core::gbx_job_set( $self->_w, $field, defined $value ? "$value" : undef );
    }
    return $self;
}

sub _set_json {
    my ( $self, $field, $value ) = @_;
    Gearbox::Core::gbx_job_set_json( $self->_w, $field, $value );
    return $self;
}

sub _str { my $v = shift; return defined $v ? $v : '' }

# Accessors: read without an argument, set (jobs built in the worker) with
# one; setters return the job, as Gearbox's did.
sub name {
    my $self = shift;
    return $self->_set( 'name', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_name( $self->_p ) );
}

sub operation {
    my $self = shift;
    return $self->_set( 'operation', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_operation( $self->_p ) );
}

sub component {
    my $self = shift;
    return $self->_set( 'component', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_component( $self->_p ) );
}

sub resource_type {
    my $self = shift;
    return $self->_set( 'resource.type', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_resource_type( $self->_p ) );
}

sub resource_name {
    my $self = shift;
    return $self->_set( 'resource.name', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_resource_name( $self->_p ) );
}

sub remote_ip {
    my $self = shift;
    return $self->_set( 'remote.ip', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_remote_ip( $self->_p ) );
}

sub remote_user {
    my $self = shift;
    return $self->_set( 'remote.user', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_remote_user( $self->_p ) );
}

# W3C trace context: the traceparent and tracestate the job runs under
# (settable on copies), and the trace-id of the traceparent.
sub traceparent {
    my $self = shift;
    return $self->_set( 'traceparent', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_traceparent( $self->_p ) );
}

sub tracestate {
    my $self = shift;
    return $self->_set( 'tracestate', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_tracestate( $self->_p ) );
}

sub trace_id { _str( Gearbox::Core::gbx_job_trace_id( $_[0]->_p ) ) }

sub remote_scopes {
    my $self = shift;
    return $self->_set( 'remote.scopes', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_remote_scopes( $self->_p ) );
}

sub base_uri {
    my $self = shift;
    return $self->_set( 'base_uri', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_base_uri( $self->_p ) );
}

sub parent_uri {
    my $self = shift;
    return $self->_set( 'parent_uri', @_ ) if @_;
    return _str( Gearbox::Core::gbx_envelope_get( $self->_env, 'parent_uri' ) );
}

sub resource_uri { _str( Gearbox::Core::gbx_job_resource_uri( $_[0]->_p ) ) }

# "v1"; setting it renames the job's handler to that version.
sub api_version {
    my $self = shift;
    if (@_) {
        my $v    = shift;
        my $name = $self->name;
        $name =~ s/_v[^_]*$/_$v/ or die ERR_BAD_REQUEST->new("job name \"$name\" has no version to change");
        return $self->name($name);
    }
    return _str( Gearbox::Core::gbx_job_api_version( $self->_p ) );
}

# The status id ("s-..."), "" for a sync job (as Gearbox).  The status
# object is $resp->status().
sub status {
    my $self = shift;
    return $self->_set( 'status', @_ ) if @_;
    return _str( Gearbox::Core::gbx_job_status_id( $self->_p ) );
}

# $Gearbox::Job::JOB_SYNC or JOB_ASYNC.
sub type {
    my $self = shift;
    if (@_) {
        my $t = shift;
        my $kind = $t eq $JOB_SYNC || lc $t eq 'sync' ? $JOB_SYNC : $t eq $JOB_ASYNC || lc $t eq 'async' ? $JOB_ASYNC : undef;
        die ERR_BAD_REQUEST->new("unknown job type \"$t\"") unless $kind;
        Gearbox::Core::gbx_job_set_type( $self->_w, $kind );
        return $self;
    }
    return Gearbox::Core::gbx_job_kind_of( $self->_p );
}

# Seconds left until the job's deadline (0 = none).
sub timeout {
    my $self = shift;
    if (@_) {
        my $t = int shift;
        my $env = Gearbox::Core::gbx_job_envelope( $self->_w );
        Gearbox::Core::gbx_envelope_set_int( $env, 'deadline', $t > 0 ? time + $t : 0 );
        return $self;
    }
    my $deadline = Gearbox::Core::gbx_envelope_get_int( $self->_env, 'deadline' );
    return 0 unless $deadline;
    my $left = $deadline - time;
    return $left > 0 ? $left : 0;
}

# The raw body (bytes); content($bytes) sets it.
sub content {
    my $self = shift;
    if (@_) {
        my $c = shift;
        Gearbox::Core::gbx_job_set_content( $self->_w, defined $c ? $c : '' );
        return $self;
    }
    return Gearbox::Core::gbx_job_content( $self->_p );
}

# The body parsed as JSON, validated against the handler's schema with its
# defaults filled (dies with ERR_BAD_REQUEST otherwise).
sub json_content { Gearbox::Core::gbx_job_json_content( $_[0]->_p ) }

# Collections: arrayref / hashrefs; setters take the same.
for my $c (
    [ arguments => 'gbx_job_arguments', 'arguments' ],
    [ matrix_arguments => 'gbx_job_matrix_arguments', 'matrix_arguments' ],
    [ query_params     => 'gbx_job_query_params',     'query_params' ],
    [ headers          => 'gbx_job_headers',          'headers' ],
    [ environ          => 'gbx_job_environ',          'environ' ],
    )
{
    my ( $method, $getter, $field ) = @$c;
    no strict 'refs';
    my $get = \&{"Gearbox::Core::$getter"};
    *{$method} = sub {
        my $self = shift;
        return $self->_set_json( $field, shift ) if @_;
        return $get->( $self->_p );
    };
}

sub add_argument {
    my ( $self, $arg ) = @_;
    Gearbox::Core::gbx_job_add_argument( $self->_w, "$arg" );
    return $self;
}

for my $c ( [ add_matrix_argument => 'matrix_arguments' ], [ add_query_param => 'query_params' ],
    [ add_header => 'headers' ], [ add_environ => 'environ' ] )
{
    my ( $method, $field ) = @$c;
    no strict 'refs';
    *{$method} = sub {
        my ( $self, $k, $v ) = @_;
        my $all = $self->$field;
        $all->{$k} = "$v";
        return $self->_set_json( $field, $all );
    };
}

# The status (a Gearbox::Status, local or remote) of the job whose event
# started this one, or undef.  event_status(URI) sets it on a copy.
sub event_status {
    my $self = shift;
    return $self->_set( 'event_status', @_ ) if @_;
    my $uri = Gearbox::Core::gbx_job_event_status( $self->_p );
    return undef unless defined $uri && length $uri;
    return $self->_jm->status($uri);
}

# REST jobs (JobManager->job($METHOD, $uri)).
sub is_rest     { Gearbox::Core::gbx_job_is_rest( $_[0]->_p ) ? 1 : 0 }
sub rest_method { Gearbox::Core::gbx_job_rest_method( $_[0]->_p ) }
sub rest_uri    { _str( Gearbox::Core::gbx_job_rest_uri( $_[0]->_p ) ) }

# The whole envelope as Perl data / as JSON text.
sub envelope  { Gearbox::Core::gbx_envelope_json( $_[0]->_env ) }
sub serialize { Gearbox::Core::gbx_envelope_serialize( $_[0]->_env ) }

sub impltype { 'gearman' }

# The job's status object (store-backed), undef for a sync job (its
# response carries a throw-away one).  For a job built in the worker: its
# status once it has run, else undef.
sub _status_obj {
    my $self = shift;
    if ( !$self->{borrowed} ) {
        my $ptr = Gearbox::Core::gbx_job_status( $self->_p ) or return undef;
        my $jm = $self->_jm;
        return Gearbox::Status->_wrap( $ptr, borrowed => 1, store_owner => $jm, jm => $jm, job => $self );
    }
    return $self->{_status} if $self->{_status};
    my $ptr = Gearbox::Core::gbx_job_status( $self->_p );
    if ($ptr) {
        return $self->{_status} = Gearbox::Status->_wrap( $ptr, borrowed => 1, store_owner => $self->{worker} );
    }
    return undef;
}

# on($Gearbox::Job::EVENT_*, $job): $job runs (with event_status set) when
# this job's status reaches the event; undef removes it.
sub on {
    my ( $self, $event, $job ) = @_;
    $event = str2event($event) unless $event =~ /^\d+$/;
    Gearbox::Core::gbx_job_on( $self->_w, $event, $job ? $job->_p : undef );
    return $self;
}

# Runs the job: a sync job's answer, an async job's 202 (its status a
# child of the current job's), a REST job's HTTP answer.  A
# Gearbox::JobResponse; ->status gives the started job's status.
sub run { $_[0]->_jm->run( $_[0] ) }

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_job_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
}

1;
