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

# Gearbox::Job->new($job): a copy of a job.  Gearbox::Job->new(\%envelope)
# or ->new($envelope_json): a job over that envelope (validated).
sub new {
    my ( $class, $from ) = @_;
    my $env;
    if ( blessed $from && $from->isa('Gearbox::Job') ) {
        $env = Gearbox::Core::gbx_envelope_copy( Gearbox::Core::gbx_job_envelope( $from->_p ) );
    }
    elsif ( defined $from ) {
        my $text = ref $from ? Gearbox::Core::gbx_json_dump($from) : "$from";
        $env = Gearbox::Core::gbx_envelope_parse($text);
    }
    else {
        die ERR_BAD_REQUEST->new("Gearbox::Job->new needs a job or an envelope; JobManager->job makes new ones");
    }
    return $class->_from_envelope($env);
}

# A job over the envelope pointer `env`, which it frees.
sub _from_envelope {
    my ( $class, $env ) = @_;
    my $job = eval { Gearbox::Core::gbx_job_new($env) };
    my $err = $@;
    Gearbox::Core::gbx_envelope_free($env);
    die $err unless $job;
    return bless { ptr => $job, owned => 1 }, ref $class || $class;
}

sub _p {
    my $self = shift;
    return $self->{ptr} if $self->{ptr};
    die ERR_INTERNAL_SERVER_ERROR->new(
        "Gearbox::Job used after its handler returned: a handler's job, response and status are only valid during the call");
}

sub _env { Gearbox::Core::gbx_job_envelope( $_[0]->_p ) }

sub _not_yet {
    my $what = shift;
    die ERR_NOT_IMPLEMENTED->new("$what needs the orchestration of Gearbox [C], which is not available yet");
}

# Changes the envelope of a job built in the worker: the job is rebuilt over
# a changed copy, so that nothing it derived from the old one goes stale.
sub _change {
    my ( $self, $change ) = @_;
    die ERR_INTERNAL_SERVER_ERROR->new(
        "the job a handler receives is read-only; copy it with Gearbox::Job->new(\$job) to change it")
        unless $self->{owned};
    my $env = Gearbox::Core::gbx_envelope_copy( $self->_env );
    my $ok  = eval { $change->($env); 1 };
    if ( !$ok ) {
        my $err = $@;
        Gearbox::Core::gbx_envelope_free($env);
        die $err;
    }
    my $new = ref($self)->_from_envelope($env);
    Gearbox::Core::gbx_job_free( $self->{ptr} );
    $self->{ptr} = delete $new->{ptr};
    delete $new->{owned};
    delete $self->{_status};
    return $self;
}

sub _set {
    my ( $self, $field, $value ) = @_;
    return $self->_change( sub { Gearbox::Core::gbx_envelope_set( $_[0], $field, defined $value ? "$value" : undef ) } );
}

sub _set_json {
    my ( $self, $field, $value ) = @_;
    return $self->_change( sub { Gearbox::Core::gbx_envelope_set_json( $_[0], $field, $value ) } );
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
        my $name = $t eq $JOB_SYNC || lc $t eq 'sync' ? 'sync' : $t eq $JOB_ASYNC || lc $t eq 'async' ? 'async' : undef;
        die ERR_BAD_REQUEST->new("unknown job type \"$t\"") unless $name;
        return $self->_set( 'job_type', $name );
    }
    my $t = _str( Gearbox::Core::gbx_job_type( $self->_p ) );
    return $t eq 'sync' ? $JOB_SYNC : $t eq 'async' ? $JOB_ASYNC : $JOB_UNKNOWN;
}

# Seconds left until the job's deadline (0 = none).
sub timeout {
    my $self = shift;
    if (@_) {
        my $t = int shift;
        return $self->_change( sub { Gearbox::Core::gbx_envelope_set_int( $_[0], 'deadline', $t > 0 ? time + $t : 0 ) } );
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
        return $self->_change( sub { Gearbox::Core::gbx_envelope_set_content( $_[0], defined $c ? $c : '' ) } );
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
    return $self->_set_json( 'arguments', [ @{ $self->arguments }, "$arg" ] );
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

# The status of the event that started this job (a hashref), or undef.
sub event_status {
    my $self = shift;
    _not_yet('setting event_status') if @_;
    my $text = Gearbox::Core::gbx_job_event_status( $self->_p );
    return undef unless defined $text && length $text;
    return Gearbox::Core::gbx_json_parse($text);
}

# The whole envelope as Perl data / as JSON text.
sub envelope  { Gearbox::Core::gbx_envelope_json( $_[0]->_env ) }
sub serialize { Gearbox::Core::gbx_envelope_serialize( $_[0]->_env ) }

sub impltype { 'gearman' }

# The job's status object: a store-backed Gearbox::Status for async jobs,
# an in-memory one for sync jobs.  The same object on every call.
sub _status_obj {
    my $self = shift;
    return $self->{_status} if $self->{_status};
    my $ptr = Gearbox::Core::gbx_job_status( $self->_p );
    if ($ptr) {
        return $self->{_status} = Gearbox::Status->_wrap( $ptr, borrowed => 1, store_owner => $self->{worker} );
    }
    return $self->{_status} = Gearbox::Status::Transient->_new($self);
}

sub on  { _not_yet('Job->on') }
sub run { _not_yet('Job->run') }

sub DESTROY {
    my $self = shift;
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    Gearbox::Core::gbx_job_free( delete $self->{ptr} ) if $self->{owned} && $self->{ptr};
}

1;
